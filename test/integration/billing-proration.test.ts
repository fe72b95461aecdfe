import { expect } from 'chai';
import type { ConnectwiseState } from '../../emulator/psa/connectwise/state.js';
import type { AutotaskState } from '../../emulator/psa/autotask/state.js';
import type { HaloState } from '../../emulator/psa/halo/state.js';
import { effectiveDate } from '../../src/domain/billing.js';
import type { PsaKind } from '../../src/psa/client.js';
import { jobIds } from '../../src/queue/catalog.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, loggedIn } from '../support/pages.js';
import { startTestPsa, type TestPsa } from '../support/psa.js';
import {
  customers,
  fixture,
  partnerTenant,
  seedBillingPartner,
  sku,
  tenant,
} from '../support/billing-fixture.js';
import { within } from '../support/within.js';

// The partner's proration choice, per PSA, through the API to what the PSA's emulator holds:
// Contoso's Business Premium (14 → 15) is written without proration, then its Exchange
// (3 → 2) with it. The ConnectWise and Halo emulators prorate by calendar month of their
// clock, set to the 20th for that write (on the 1st the whole month is left, which would
// hide a proration that charges the whole month); Autotask's emulator keeps the real clock,
// since the effective date the sync plans is today's.

interface Ledger {
  product: string;
  effectiveDate: string;
  proration: string | null;
}

const round = (n: number) => Math.round(n * 100) / 100;
/** The share of `ms`'s calendar month left, that day included. */
function restOfMonth(ms: number): number {
  const d = new Date(ms);
  const days = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  return (days - d.getUTCDate() + 1) / days;
}
const today = () => new Date().toISOString().slice(0, 10);

/** What each PSA holds for Contoso's line of a product after the writes. */
const holds: Record<PsaKind, (psa: TestPsa, productId: number) => unknown> = {
  connectwise: (psa, productId) => {
    const state = (psa.emulator as unknown as { state: ConnectwiseState }).state;
    const a = [...state.additions.values()].find(
      (x) => x.agreementId === 11 && x.productId === productId,
    )!;
    return {
      flag: a.prorateCurrentPeriodFlag,
      proratePrice: a.proratePrice,
      extendedProratePrice: a.extendedProratePrice,
      unitPrice: a.unitPrice,
    };
  },
  autotask: (psa, productId) => {
    const state = (psa.emulator as unknown as { state: AutotaskState }).state;
    return state.adjustments
      .filter((x) => x.contractID === 11 && x.serviceID === productId)
      .map((x) => ({ effectiveDate: x.effectiveDate.slice(0, 10), unitChange: x.unitChange }));
  },
  halo: (psa, productId) => {
    const state = (psa.emulator as unknown as { state: HaloState }).state;
    const line = [...state.lines.values()].find((l) => l.ihid === 11 && l._itemid === productId)!;
    return {
      prorata_next_invoice: line.prorata_next_invoice,
      unit_price: line.unit_price,
      rows: line.prorata_data.map((r) => ({
        quantity: r.quantity,
        unitprice: r.unitprice,
        isinvoiced: r.isinvoiced,
        date: r.date.slice(0, 10),
      })),
    };
  },
};

for (const kind of ['connectwise', 'autotask', 'halo'] as const) {
  describe(`proration with ${kind}`, function () {
    this.timeout(120_000);
    let h: Harness;
    let psa: TestPsa;
    let partnerId: string;
    let company: Record<string, string>;

    before(async () => {
      psa = await startTestPsa(kind, fixture);
      h = await startHarness(
        scenarioWith((p) => (p.tenantId === partnerTenant ? { ...p, customers } : p)),
        { PARTNER_CENTER_REQUESTS_PER_SECOND: '200' },
        { extraCaPem: psa.emulator.ca },
      );
      ({ partnerId, company } = await seedBillingPartner(h, 'Proration Partner'));
    });
    after(async function () {
      await h?.close(suiteFailed(this));
      await psa?.emulator.stop();
    });

    const connect = (proration: unknown) =>
      h.api('put', `/partners/${partnerId}/psa-connection`, { kind, proration, ...psa.fields });

    /** Reconciles Contoso and answers its planned changes. */
    async function reconcileContoso(): Promise<{ product: string; proration: string }[]> {
      const started = await h.api('post', `/partners/${partnerId}/reconciliation`);
      expect(started.status, started.text).to.equal(202);
      const jobId = (started.body as { jobId: string }).jobId;
      await within(30_000, 'the reconciliation', h.finished('billing', jobId));
      await within(
        60_000,
        'Contoso’s reconciliation',
        h.finished('billing', jobIds.reconcileCompanyBilling(company[tenant.contoso]!, jobId)),
      );
      return (
        (await h.api('get', `/partners/${partnerId}/billing-sync/plan`)).body as {
          changes: { product: string; proration: string; status: string }[];
        }
      ).changes.filter((c) => c.status === 'planned');
    }

    /** Reconciles Contoso, approves its plan and waits for the writes; returns the plan. */
    async function syncContoso(): Promise<{ product: string; proration: string }[]> {
      const planned = await reconcileContoso();
      const events = h.events('billing');
      const applied = within(
        60_000,
        'the apply job',
        new Promise<void>((resolve) => {
          const listener = ({ jobId: id }: { jobId: string }) => {
            if (!id.startsWith('apply-billing-')) return;
            events.off('completed', listener);
            resolve();
          };
          events.on('completed', listener);
        }),
      );
      const approved = await h.api('post', `/partners/${partnerId}/billing-sync/approve`, {});
      expect(approved.status, approved.text).to.equal(202);
      await applied;
      return planned;
    }

    const map = (skuId: string, productId: number, countBasis: string) =>
      h.api('post', `/partners/${partnerId}/psa/product-mappings`, {
        source: { kind: 'sku', skuId },
        psaProductId: psa.id('product', productId),
        countBasis,
      });

    it('refuses a proration it does not know, and returns the one saved', async () => {
      const refused = await connect('sometimes');
      expect(refused.status).to.equal(400);
      expect(refused.text).to.include('proration');
      const saved = await connect('none');
      expect(saved.status, saved.text).to.equal(200);
      const got = await h.api('get', `/partners/${partnerId}/psa-connection`);
      expect(got.body).to.include({ proration: 'none', effectiveDatePolicy: 'today' });
    });

    it('writes a change without proration as the PSA understands it', async () => {
      const linked = await h.api(
        'put',
        `/partners/${partnerId}/companies/${company[tenant.contoso]}/psa-link`,
        { psaCompanyId: psa.id('company', 1), containerId: psa.id('container', 11) },
      );
      expect(linked.status, linked.text).to.equal(200);
      expect((await map(sku.spb, 101, 'purchased')).status).to.equal(201);
      const planned = await syncContoso();
      expect(planned.map((c) => [c.product, c.proration])).to.deep.equal([
        ['Microsoft 365 Business Premium', 'none'],
      ]);
      expect(psa.billed(11, 101)).to.equal(kind === 'autotask' && today() !== noneDate() ? 14 : 15);
      if (kind === 'connectwise')
        expect(holds.connectwise(psa, 101)).to.include({
          flag: false,
          proratePrice: 0,
          extendedProratePrice: 0,
        });
      if (kind === 'autotask')
        expect(holds.autotask(psa, 101)).to.deep.equal([
          { effectiveDate: noneDate(), unitChange: 1 },
        ]);
      if (kind === 'halo')
        expect(holds.halo(psa, 101)).to.deep.include({ prorata_next_invoice: false, rows: [] });
      // The next comparison reads the PSA as it bills from the change's date: done, even where
      // that date is the next period's.
      expect(await reconcileContoso(), 'planned again').to.deep.equal([]);
    });

    it('writes a change with proration as the PSA understands it', async () => {
      expect((await connect('prorate')).status).to.equal(200);
      if (kind !== 'autotask') {
        const month = new Date().toISOString().slice(0, 7);
        psa.emulator.base.clockOffsetMs = Date.parse(`${month}-20T12:00:00Z`) - Date.now();
      }
      const clock = psa.emulator.base.now();
      expect((await map(sku.exchange, 102, 'assigned')).status).to.equal(201);
      const planned = await syncContoso();
      expect(planned.map((c) => [c.product, c.proration])).to.have.deep.members([
        ...(waitingForNextPeriod(kind) ? [['Microsoft 365 Business Premium', 'prorate']] : []),
        ['Exchange Online (Plan 1)', 'prorate'],
      ]);
      expect(psa.billed(11, 102)).to.equal(2);
      if (kind === 'connectwise') {
        const held = holds.connectwise(psa, 102) as { unitPrice: number };
        const proratePrice = round(held.unitPrice * restOfMonth(clock));
        expect(held).to.include({
          flag: true,
          proratePrice,
          extendedProratePrice: round(-proratePrice),
        });
        expect(held.unitPrice).to.equal(4);
      }
      if (kind === 'autotask')
        expect(holds.autotask(psa, 102)).to.deep.equal([
          { effectiveDate: today(), unitChange: -1 },
        ]);
      if (kind === 'halo') {
        const held = holds.halo(psa, 102) as { unit_price: number };
        expect(held.unit_price).to.equal(4);
        expect(held).to.deep.include({
          prorata_next_invoice: true,
          rows: [
            {
              quantity: -1,
              unitprice: round(held.unit_price * restOfMonth(clock)),
              isinvoiced: false,
              date: new Date(clock).toISOString().slice(0, 10),
            },
          ],
        });
      }
    });

    it('records the proration of each write in the ledger', async () => {
      const entries = (
        (await h.api('get', `/partners/${partnerId}/billing-sync/ledger`)).body as {
          entries: Ledger[];
        }
      ).entries;
      expect(entries.map((e) => [e.product, e.proration, e.effectiveDate]).sort()).to.deep.equal(
        [
          ['Microsoft 365 Business Premium', 'none', kind === 'autotask' ? noneDate() : today()],
          ...(waitingForNextPeriod(kind)
            ? [['Microsoft 365 Business Premium', 'prorate', today()]]
            : []),
          ['Exchange Online (Plan 1)', 'prorate', today()],
        ].sort(),
      );
      const { operator } = await createPeople(h);
      const browser = await loggedIn(h.app, operator.email);
      const page = await browser.get(`/partners/${partnerId}/billing/ledger`);
      expect(page.status).to.equal(200);
      expect(page.text).to.include('not prorated').and.to.include('> prorated');
      const setup = await browser.get(`/partners/${partnerId}/billing/setup`);
      expect(setup.text).to.match(/<option value="prorate" selected/);
    });
  });
}

/**
 * Whether the change without proration written earlier in the file waits for the next period:
 * in Autotask, unless today starts one. Read from today once the connection prorates, the
 * PSA does not bill it yet, so its product is planned again, prorated from today.
 */
function waitingForNextPeriod(kind: PsaKind): boolean {
  return kind === 'autotask' && today() !== noneDate();
}

/** Autotask's date for a change without proration planned today. */
function noneDate(): string {
  return effectiveDate('today', new Date(), { policy: 'none', prorationByDate: true });
}
