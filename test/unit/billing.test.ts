import { expect } from 'chai';
import {
  basesFor,
  effectiveDate,
  parseSourceKey,
  planCompany,
  reconcileCompany,
  sourceKey,
  type BilledLine,
  type MicrosoftCounts,
  type ProductMapping,
  type ReconciliationRow,
} from '../../src/domain/billing.js';

// Every expected value below is counted by hand from the small inputs beside it.
const e3 = '05e9a617-0261-4cee-bb44-138d3ef5d965';
const bp = 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46';
const visio = 'c5928f49-12ba-48f7-ada3-0d743a3601d5';
const gone = '4b585984-651b-448a-9e53-3b10f069cf7f';

const names: Record<string, string> = {
  [e3]: 'Microsoft 365 E3',
  [bp]: 'Microsoft 365 Business Premium',
  [visio]: 'Visio Plan 2',
  [gone]: 'Office 365 E1',
};
const productName = (skuId: string) => names[skuId] ?? skuId;

const noCounts: MicrosoftCounts = { skus: [], subscriptions: [], custom: [] };

function mapping(key: string, overrides: Partial<ProductMapping> = {}): ProductMapping {
  return {
    id: `map-${key}`,
    sourceKey: key,
    psaProductId: `psa-${key}`,
    psaProductName: `PSA ${key}`,
    countBasis: 'purchased',
    applyMode: 'approval',
    ...overrides,
  };
}

function line(id: string, productId: string, quantity: number, cancelled = false): BilledLine {
  return { id, productId, quantity, cancelled };
}

const reconcile = (
  counts: MicrosoftCounts,
  mappings: ProductMapping[] = [],
  lines: BilledLine[] | null = null,
) => reconcileCompany({ counts, mappings, lines, productName });

function rowOf(rows: ReconciliationRow[], key: string): ReconciliationRow {
  const row = rows.find((r) => r.sourceKey === key);
  expect(row, `a row for ${key}`).to.not.equal(undefined);
  return row!;
}

describe('billing source keys', () => {
  it('writes and reads back a whole SKU, a SKU on one term and a custom license', () => {
    expect(sourceKey({ kind: 'sku', skuId: e3 })).to.equal(`sku:${e3}`);
    expect(sourceKey({ kind: 'sku', skuId: e3, term: 'P1Y' })).to.equal(`sku:${e3}:P1Y`);
    expect(sourceKey({ kind: 'custom', definitionId: 'def-1' })).to.equal('custom:def-1');
    expect(parseSourceKey(`sku:${e3}`)).to.deep.equal({ kind: 'sku', skuId: e3 });
    expect(parseSourceKey(`sku:${e3}:P1Y`)).to.deep.equal({ kind: 'sku', skuId: e3, term: 'P1Y' });
    expect(parseSourceKey('custom:def-1')).to.deep.equal({ kind: 'custom', definitionId: 'def-1' });
  });

  it('refuses malformed keys', () => {
    for (const key of [
      '',
      'sku',
      'sku:',
      'sku::P1Y',
      `sku:${e3}:`,
      `sku:${e3}:P1Y:extra`,
      'custom',
      'custom:',
      'custom:def-1:P1Y',
      'bundle:def-1',
      `SKU:${e3}`,
    ])
      expect(parseSourceKey(key), JSON.stringify(key)).to.equal(undefined);
  });

  it('bills a term on purchased seats only, a custom license on its count', () => {
    expect(basesFor({ kind: 'sku', skuId: e3 })).to.deep.equal(['purchased', 'assigned']);
    expect(basesFor({ kind: 'sku', skuId: e3, term: 'P1M' })).to.deep.equal(['purchased']);
    expect(basesFor({ kind: 'custom', definitionId: 'def-1' })).to.deep.equal(['custom_count']);
  });
});

describe('reconciliation of one company', () => {
  it('counts purchased seats as the sum of subscriptions per SKU, assigned per SKU', () => {
    const rows = reconcile({
      skus: [
        { skuId: e3, skuPartNumber: 'SPE_E3', assigned: 7 },
        { skuId: bp, skuPartNumber: 'SPB', assigned: 3 },
      ],
      subscriptions: [
        { skuId: e3, term: 'P1M', quantity: 10 },
        { skuId: e3, term: 'P1Y', quantity: 5 },
        { skuId: bp, term: null, quantity: 4 },
      ],
      custom: [],
    });
    // Sorted by product name: Business Premium before E3.
    expect(rows.map((r) => r.sourceKey)).to.deep.equal([`sku:${bp}`, `sku:${e3}`]);
    expect(rowOf(rows, `sku:${e3}`)).to.deep.equal({
      sourceKey: `sku:${e3}`,
      productName: 'Microsoft 365 E3',
      skuId: e3,
      skuPartNumber: 'SPE_E3',
      mapping: null,
      microsoftPurchased: 15,
      microsoftAssigned: 7,
      customCount: null,
      psaBilled: null,
      psaLineId: null,
      psaLineCount: 0,
      difference: null,
    });
    expect(rowOf(rows, `sku:${bp}`)).to.include({ microsoftPurchased: 4, microsoftAssigned: 3 });
  });

  it('gives a SKU with seats but no subscription 0 purchased, and a subscription alone a row', () => {
    const rows = reconcile({
      skus: [{ skuId: e3, skuPartNumber: 'SPE_E3', assigned: 2 }],
      subscriptions: [{ skuId: visio, term: 'P1M', quantity: 6 }],
      custom: [],
    });
    expect(rowOf(rows, `sku:${e3}`)).to.include({ microsoftPurchased: 0, microsoftAssigned: 2 });
    expect(rowOf(rows, `sku:${visio}`)).to.include({
      microsoftPurchased: 6,
      microsoftAssigned: 0,
      skuPartNumber: null,
      productName: 'Visio Plan 2',
    });
  });

  it('gives a term mapped on its own its seats, and the whole SKU the rest', () => {
    const p1y = mapping(`sku:${e3}:P1Y`);
    const rows = reconcile(
      {
        skus: [{ skuId: e3, skuPartNumber: 'SPE_E3', assigned: 12 }],
        subscriptions: [
          { skuId: e3, term: 'P1M', quantity: 10 },
          { skuId: e3, term: 'P1Y', quantity: 5 },
        ],
        custom: [],
      },
      [p1y],
      [line('L-1', p1y.psaProductId, 5)],
    );
    expect(rows).to.have.length(2);
    expect(rowOf(rows, `sku:${e3}:P1Y`)).to.include({
      skuId: e3,
      skuPartNumber: 'SPE_E3',
      microsoftPurchased: 5,
      microsoftAssigned: null,
      psaBilled: 5,
      psaLineId: 'L-1',
      difference: 0,
    });
    expect(rowOf(rows, `sku:${e3}:P1Y`).mapping).to.equal(p1y);
    // 12 assigned, of which the 5 yearly seats are billed apart.
    expect(rowOf(rows, `sku:${e3}`)).to.include({
      microsoftPurchased: 10,
      microsoftAssigned: 7,
      mapping: null,
      difference: null,
    });
  });

  it('bills no seat of a term mapped apart on the whole SKU again, whatever its basis', () => {
    const counts: MicrosoftCounts = {
      skus: [{ skuId: e3, skuPartNumber: 'SPE_E3', assigned: 12 }],
      subscriptions: [
        { skuId: e3, term: 'P1M', quantity: 10 },
        { skuId: e3, term: 'P1Y', quantity: 4 },
        { skuId: e3, term: 'P3Y', quantity: 1 },
      ],
      custom: [],
    };
    const p1y = mapping(`sku:${e3}:P1Y`);
    const p3y = mapping(`sku:${e3}:P3Y`);
    const lines = [line('L-1', p1y.psaProductId, 4), line('L-3', p3y.psaProductId, 1)];
    // 12 assigned less the 4 + 1 seats the terms bill: 7; purchased: the monthly 10.
    for (const [countBasis, wanted] of [
      ['assigned', 7],
      ['purchased', 10],
    ] as const) {
      const whole = mapping(`sku:${e3}`, { countBasis });
      const rows = reconcile(
        counts,
        [whole, p1y, p3y],
        [...lines, line('L-0', whole.psaProductId, 0)],
      );
      expect(rowOf(rows, `sku:${e3}`), countBasis).to.include({ psaBilled: 0, difference: wanted });
      const billed = rows.reduce((sum, r) => sum + (r.psaBilled ?? 0) + (r.difference ?? 0), 0);
      expect(billed, `${countBasis}: seats billed over all mappings`).to.equal(wanted + 5);
    }
    // More seats on the terms apart than assigned: the whole SKU bills none, never fewer.
    const few = { ...counts, skus: [{ skuId: e3, skuPartNumber: 'SPE_E3', assigned: 3 }] };
    const whole = mapping(`sku:${e3}`, { countBasis: 'assigned' });
    expect(rowOf(reconcile(few, [whole, p1y, p3y], lines), `sku:${e3}`)).to.include({
      microsoftAssigned: 0,
      difference: 0,
    });
  });

  it('keeps all of a SKU on its whole row while no term of it is mapped', () => {
    const p1m = mapping(`sku:${bp}:P1M`);
    const rows = reconcile(
      {
        skus: [{ skuId: e3, skuPartNumber: 'SPE_E3', assigned: 1 }],
        subscriptions: [
          { skuId: e3, term: 'P1M', quantity: 10 },
          { skuId: e3, term: 'P1Y', quantity: 5 },
        ],
        custom: [],
      },
      [p1m],
      [],
    );
    expect(rows.map((r) => r.sourceKey)).to.deep.equal([`sku:${e3}`]);
    expect(rows[0]).to.include({ microsoftPurchased: 15 });
  });

  it('bills custom counts; a failed count leaves the difference unknown', () => {
    const users = mapping('custom:users', { countBasis: 'custom_count' });
    const exclaimer = mapping('custom:exclaimer', { countBasis: 'custom_count' });
    const rows = reconcile(
      {
        ...noCounts,
        custom: [
          { definitionId: 'users', name: 'Managed Users', quantity: 12 },
          { definitionId: 'exclaimer', name: 'Exclaimer', quantity: null },
        ],
      },
      [users, exclaimer],
      [line('L-U', users.psaProductId, 10), line('L-X', exclaimer.psaProductId, 3)],
    );
    expect(rowOf(rows, 'custom:users')).to.include({
      productName: 'Managed Users',
      skuId: null,
      customCount: 12,
      microsoftPurchased: null,
      microsoftAssigned: null,
      psaBilled: 10,
      psaLineId: 'L-U',
      difference: 2,
    });
    expect(rowOf(rows, 'custom:exclaimer')).to.include({
      customCount: null,
      psaBilled: 3,
      difference: null,
    });
  });

  it("bills only the mapped product's lines that are not cancelled", () => {
    const whole = mapping(`sku:${e3}`, { countBasis: 'assigned' });
    const rows = reconcile(
      {
        skus: [{ skuId: e3, skuPartNumber: 'SPE_E3', assigned: 7 }],
        subscriptions: [{ skuId: e3, term: 'P1M', quantity: 20 }],
        custom: [],
      },
      [whole],
      [
        line('L-1', whole.psaProductId, 4),
        line('L-2', whole.psaProductId, 9, true),
        line('L-3', 'psa-something-else', 50),
      ],
    );
    expect(rowOf(rows, `sku:${e3}`)).to.include({
      psaBilled: 4,
      psaLineId: 'L-1',
      psaLineCount: 1,
      // Billed on assigned seats: 7 − 4.
      difference: 3,
    });
  });

  it('leaves an unmapped product without mapping nor difference, whatever the PSA bills', () => {
    const rows = reconcile(
      {
        skus: [{ skuId: e3, skuPartNumber: 'SPE_E3', assigned: 7 }],
        subscriptions: [{ skuId: e3, term: 'P1M', quantity: 8 }],
        custom: [],
      },
      [],
      [line('L-1', 'psa-e3', 8)],
    );
    expect(rowOf(rows, `sku:${e3}`)).to.include({
      mapping: null,
      psaBilled: null,
      psaLineId: null,
      difference: null,
    });
  });

  it('keeps the PSA column empty when the company is not linked', () => {
    const rows = reconcile(
      {
        skus: [{ skuId: e3, skuPartNumber: 'SPE_E3', assigned: 7 }],
        subscriptions: [{ skuId: e3, term: 'P1M', quantity: 8 }],
        custom: [],
      },
      [mapping(`sku:${e3}`), mapping(`sku:${gone}`)],
      null,
    );
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ psaBilled: null, difference: null });
    expect(rows[0]!.mapping?.sourceKey).to.equal(`sku:${e3}`);
  });

  it('shows a mapped product Microsoft no longer has while the PSA still bills it', () => {
    const old = mapping(`sku:${gone}`);
    const oldTerm = mapping(`sku:${e3}:P3Y`);
    const custom = mapping('custom:antispam', {
      countBasis: 'custom_count',
      psaProductName: 'Antispam',
    });
    const stopped = mapping(`sku:${visio}`);
    const rows = reconcile(
      {
        skus: [{ skuId: e3, skuPartNumber: 'SPE_E3', assigned: 1 }],
        subscriptions: [{ skuId: e3, term: 'P1M', quantity: 1 }],
        custom: [],
      },
      [old, oldTerm, custom, stopped],
      [
        line('L-G', old.psaProductId, 6),
        line('L-T', oldTerm.psaProductId, 2),
        line('L-A', custom.psaProductId, 9),
        // Already cancelled in the PSA: nothing left to reconcile.
        line('L-V', stopped.psaProductId, 4, true),
      ],
    );
    expect(rows.map((r) => r.sourceKey)).to.have.members([
      `sku:${e3}`,
      `sku:${gone}`,
      `sku:${e3}:P3Y`,
      'custom:antispam',
    ]);
    expect(rowOf(rows, `sku:${gone}`)).to.include({
      productName: 'Office 365 E1',
      microsoftPurchased: 0,
      psaBilled: 6,
      psaLineId: 'L-G',
      difference: -6,
    });
    expect(rowOf(rows, `sku:${e3}:P3Y`)).to.include({
      microsoftPurchased: 0,
      microsoftAssigned: null,
      difference: -2,
    });
    expect(rowOf(rows, 'custom:antispam')).to.include({
      productName: 'Antispam',
      customCount: 0,
      difference: -9,
    });

    const { changes } = planCompany(rows);
    expect(changes.find((c) => c.sourceKey === `sku:${gone}`)).to.deep.equal({
      sourceKey: `sku:${gone}`,
      productName: 'Office 365 E1',
      action: 'cancel',
      psaProductId: old.psaProductId,
      psaLineId: 'L-G',
      before: 6,
      target: 0,
      applyMode: 'approval',
    });
  });
});

describe('sync plan of one company', () => {
  const counts: MicrosoftCounts = {
    skus: [{ skuId: e3, skuPartNumber: 'SPE_E3', assigned: 7 }],
    subscriptions: [{ skuId: e3, term: 'P1M', quantity: 9 }],
    custom: [],
  };

  it('adds a line when none bills a product Microsoft counts', () => {
    const whole = mapping(`sku:${e3}`, { applyMode: 'automatic' });
    const { changes, skipped } = planCompany(
      reconcile(counts, [whole], [line('L-C', whole.psaProductId, 3, true)]),
    );
    expect(skipped).to.deep.equal([]);
    expect(changes).to.deep.equal([
      {
        sourceKey: `sku:${e3}`,
        productName: 'Microsoft 365 E3',
        action: 'set_quantity',
        psaProductId: whole.psaProductId,
        psaLineId: null,
        before: 0,
        target: 9,
        applyMode: 'automatic',
      },
    ]);
  });

  it('sets the quantity of the one line billing a product', () => {
    const whole = mapping(`sku:${e3}`, { countBasis: 'assigned' });
    const { changes } = planCompany(
      reconcile(counts, [whole], [line('L-1', whole.psaProductId, 10)]),
    );
    expect(changes).to.have.length(1);
    expect(changes[0]).to.include({
      action: 'set_quantity',
      psaLineId: 'L-1',
      before: 10,
      target: 7,
    });
  });

  it('skips a product billed on two lines, saying why', () => {
    const whole = mapping(`sku:${e3}`, { psaProductName: 'M365 E3 (monthly)' });
    const rows = reconcile(
      counts,
      [whole],
      [line('L-1', whole.psaProductId, 4), line('L-2', whole.psaProductId, 1)],
    );
    // Both lines count as billed, but neither is the product's line.
    expect(rows[0]).to.include({ psaBilled: 5, psaLineCount: 2, psaLineId: null, difference: 4 });
    const { changes, skipped } = planCompany(rows);
    expect(changes).to.deep.equal([]);
    expect(skipped).to.deep.equal([
      {
        sourceKey: `sku:${e3}`,
        productName: 'Microsoft 365 E3',
        reason: 'The PSA bills M365 E3 (monthly) on 2 lines; keep one.',
      },
    ]);
  });

  it('skips a custom license whose count failed, saying why', () => {
    const exclaimer = mapping('custom:exclaimer', { countBasis: 'custom_count' });
    const { changes, skipped } = planCompany(
      reconcile(
        { ...noCounts, custom: [{ definitionId: 'exclaimer', name: 'Exclaimer', quantity: null }] },
        [exclaimer],
        [line('L-X', exclaimer.psaProductId, 3)],
      ),
    );
    expect(changes).to.deep.equal([]);
    expect(skipped).to.have.length(1);
    expect(skipped[0]).to.include({ sourceKey: 'custom:exclaimer', productName: 'Exclaimer' });
    expect(skipped[0]!.reason).to.match(/not known/);
  });

  it('changes nothing where the PSA bills the count, nor for unmapped or unlinked rows', () => {
    const whole = mapping(`sku:${e3}`);
    expect(
      planCompany(reconcile(counts, [whole], [line('L-1', whole.psaProductId, 9)])),
    ).to.deep.equal({
      changes: [],
      skipped: [],
    });
    expect(planCompany(reconcile(counts, [], [line('L-1', whole.psaProductId, 2)]))).to.deep.equal({
      changes: [],
      skipped: [],
    });
    expect(planCompany(reconcile(counts, [whole], null))).to.deep.equal({
      changes: [],
      skipped: [],
    });
  });
});

describe('effective date of a change', () => {
  it('is the day planned, or the first of the next month', () => {
    const march = new Date('2026-03-15T23:30:00Z');
    expect(effectiveDate('today', march)).to.equal('2026-03-15');
    // The UTC day, whatever the machine's time zone says it is.
    expect(effectiveDate('today', new Date('2026-03-16T02:30:00Z'))).to.equal('2026-03-16');
    expect(effectiveDate('next_month', march)).to.equal('2026-04-01');
    expect(effectiveDate('next_month', new Date('2026-01-31T00:00:00Z'))).to.equal('2026-02-01');
  });

  it('goes from December to January of the next year', () => {
    const lastMinute = new Date('2026-12-31T23:59:59Z');
    expect(effectiveDate('today', lastMinute)).to.equal('2026-12-31');
    expect(effectiveDate('next_month', lastMinute)).to.equal('2027-01-01');
    expect(effectiveDate('next_month', new Date('2026-12-01T00:00:00Z'))).to.equal('2027-01-01');
  });

  describe('without proration', () => {
    const byDate = (policy: 'prorate' | 'none') => ({ policy, prorationByDate: true });
    const byFlag = (policy: 'prorate' | 'none') => ({ policy, prorationByDate: false });

    it('starts the next period where the date alone decides (Autotask)', () => {
      const march = new Date('2026-03-15T23:30:00Z');
      expect(effectiveDate('today', march, byDate('none'))).to.equal('2026-04-01');
      expect(effectiveDate('today', march, byDate('prorate'))).to.equal('2026-03-15');
      const lastMinute = new Date('2026-12-31T23:59:59Z');
      expect(effectiveDate('today', lastMinute, byDate('none'))).to.equal('2027-01-01');
    });

    it('keeps a date that already starts a period, and next month as it is', () => {
      expect(effectiveDate('today', new Date('2026-03-01T08:00:00Z'), byDate('none'))).to.equal(
        '2026-03-01',
      );
      expect(
        effectiveDate('next_month', new Date('2026-03-15T00:00:00Z'), byDate('none')),
      ).to.equal('2026-04-01');
    });

    it('keeps the day where the PSA takes a flag (ConnectWise, Halo)', () => {
      const march = new Date('2026-03-15T23:30:00Z');
      expect(effectiveDate('today', march, byFlag('none'))).to.equal('2026-03-15');
      expect(effectiveDate('next_month', march, byFlag('none'))).to.equal('2026-04-01');
    });
  });
});
