import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import type { ReconciliationRow } from '../../src/domain/billing.js';
import { companies, seatHistory } from '../../src/store/schema.js';
import { adminAuth, type Harness } from '../support/harness.js';
import { skuIds, termsCustomer, startWithSecondPartnerCustomer } from '../support/subscriptions.js';

const terms = termsCustomer.tenantId;

interface HistoryRow {
  at: string;
  runId: string | null;
  skuId: string | null;
  productName: string;
  field: string;
  from: number;
  to: number;
  initial: boolean;
}

describe('seat history: every change between runs, append-only', function () {
  this.timeout(120_000);
  let h: Harness;
  let partnerId: string;
  let companyId: string;

  before(async () => {
    let legacyId: string;
    ({ h, partnerId, legacyId } = await startWithSecondPartnerCustomer(
      termsCustomer,
      'History Partner',
      { PARTNER_CENTER_REQUESTS_PER_SECOND: '20' },
    ));
    companyId = (
      await h.runtime.services.partners.addCompany(
        partnerId,
        { name: 'Terms Customer', customerTenantId: terms, delegatedAdminId: legacyId },
        'test',
      )
    ).id;
  });
  after(async function () {
    await h?.close(this.currentTest?.state === 'failed');
  });

  async function refreshNow(): Promise<string> {
    const started = await h.api('post', `/partners/${partnerId}/refresh`);
    expect(started.status).to.equal(202);
    const { runId } = started.body as { runId: string };
    expect(await h.runEnded(runId)).to.include({ status: 'completed', succeeded: 1, failed: 0 });
    return runId;
  }

  async function history(): Promise<HistoryRow[]> {
    const res = await h.api('get', `/partners/${partnerId}/companies/${companyId}/history`);
    expect(res.status).to.equal(200);
    return (res.body as { history: HistoryRow[] }).history;
  }

  const shape = (rows: HistoryRow[]) =>
    rows.map((r) => ({
      runId: r.runId,
      skuId: r.skuId,
      productName: r.productName,
      field: r.field,
      from: r.from,
      to: r.to,
      initial: r.initial,
    }));

  it('records the first reading, then each change of the next runs, newest first', async () => {
    await h.grant(partnerId, 'admin@second.example');
    const { run } = (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      run: { id: string };
    };
    const first = run.id;
    expect(await h.runEnded(first)).to.include({ status: 'completed', succeeded: 1 });
    const initial = await history();
    // SPB 20 purchased and billed, 2 assigned; Exchange 5 and 1; Business Basic 4 and none.
    expect(shape(initial)).to.have.deep.members(
      [
        [skuIds.SPB, 'Microsoft 365 Business Premium', 'purchased', 20],
        [skuIds.SPB, 'Microsoft 365 Business Premium', 'assigned', 2],
        [skuIds.SPB, 'Microsoft 365 Business Premium', 'billed', 20],
        [skuIds.EXCHANGESTANDARD, 'Exchange Online (Plan 1)', 'purchased', 5],
        [skuIds.EXCHANGESTANDARD, 'Exchange Online (Plan 1)', 'assigned', 1],
        [skuIds.EXCHANGESTANDARD, 'Exchange Online (Plan 1)', 'billed', 5],
        [skuIds.O365_BUSINESS_ESSENTIALS, 'Microsoft 365 Business Basic', 'purchased', 4],
        [skuIds.O365_BUSINESS_ESSENTIALS, 'Microsoft 365 Business Basic', 'billed', 4],
      ].map(([skuId, productName, field, to]) => ({
        runId: first,
        skuId,
        productName,
        field,
        from: 0,
        to,
        initial: true,
      })),
    );

    // Between runs: three more monthly SPB seats, one SPB seat unassigned, Business Basic gone.
    const detail = h.emulator.state.directory.detail(h.emulator.state.directory.customer(terms)!);
    const monthly = detail.subscriptions.find(
      (s) => s.sku.skuPartNumber === 'SPB' && s.termDuration === 'P1M' && s.status === 'active',
    )!;
    monthly.quantity += 3;
    const b = detail.users.find((u) => u.upn === 'b@terms.example')!;
    b.licenses = b.licenses.filter((id) => id !== skuIds.SPB);
    detail.subscriptions = detail.subscriptions.filter(
      (s) => s.sku.skuPartNumber !== 'O365_BUSINESS_ESSENTIALS',
    );
    const second = await refreshNow();
    // A run that finds nothing changed records nothing.
    await refreshNow();

    const rows = await history();
    expect(rows).to.have.length(initial.length + 5);
    const newest = rows.slice(0, 5);
    expect(shape(newest)).to.have.deep.members(
      [
        [skuIds.SPB, 'Microsoft 365 Business Premium', 'purchased', 20, 23],
        [skuIds.SPB, 'Microsoft 365 Business Premium', 'billed', 20, 23],
        [skuIds.SPB, 'Microsoft 365 Business Premium', 'assigned', 2, 1],
        [skuIds.O365_BUSINESS_ESSENTIALS, 'Microsoft 365 Business Basic', 'purchased', 4, 0],
        [skuIds.O365_BUSINESS_ESSENTIALS, 'Microsoft 365 Business Basic', 'billed', 4, 0],
      ].map(([skuId, productName, field, from, to]) => ({
        runId: second,
        skuId,
        productName,
        field,
        from,
        to,
        initial: false,
      })),
    );
    expect(shape(rows.slice(5))).to.deep.equal(shape(initial));
    const times = rows.map((r) => Date.parse(r.at));
    expect(times).to.deep.equal([...times].sort((x, y) => y - x));

    // The same rows as CSV, which a CSV parser reads back.
    const csv = await request(h.app)
      .get(`/api/v1/partners/${partnerId}/companies/${companyId}/history`)
      .set(adminAuth)
      .set('Accept', 'text/csv');
    expect(csv.status).to.equal(200);
    expect(csv.headers['content-type']).to.match(/^text\/csv/);
    const parsed = parse<Record<string, string>>(csv.text, { columns: true });
    expect(parsed.map((r) => [r.product, r.field, r.from, r.to, r.run_id])).to.deep.equal(
      rows.map((r) => [r.productName, r.field, String(r.from), String(r.to), r.runId]),
    );
  });

  it('records what the PSA bills when a reconciliation read it, with no run', async () => {
    const company = await h.runtime.services.partners.addCompany(
      partnerId,
      { name: 'PSA Billed', customerTenantId: 'eeeeeeee-0000-4000-8000-0000000000aa' },
      'test',
    );
    const row = (psaBilled: number | null): ReconciliationRow => ({
      sourceKey: `sku:${skuIds.SPB}`,
      productName: 'Microsoft 365 Business Premium',
      skuId: skuIds.SPB,
      skuPartNumber: 'SPB',
      mapping: null,
      microsoftPurchased: 10,
      microsoftAssigned: 8,
      customCount: null,
      psaBilled,
      psaLineId: null,
      psaLineCount: 1,
      difference: null,
    });
    const save = (rows: ReconciliationRow[], psaRead: boolean) =>
      h.runtime.services.psaSync.saveReconciliation(partnerId, company.id, rows, psaRead);
    const recorded = async () =>
      (
        (await h.api('get', `/partners/${partnerId}/companies/${company.id}/history`)).body as {
          history: HistoryRow[];
        }
      ).history;
    await save([row(5)], true);
    await save([row(7)], true);
    await save([row(7)], true);
    // Not read (no link, the PSA down), or read with no value for the product: what it bills
    // is unknown, not 0.
    await save([], false);
    await save([row(null)], true);
    expect(await recorded()).to.have.length(2);
    // Read, and the product is gone.
    await save([], true);
    expect(
      (await recorded()).map((r) => [
        r.runId,
        r.skuId,
        r.productName,
        r.field,
        r.from,
        r.to,
        r.initial,
      ]),
    ).to.deep.equal([
      [null, skuIds.SPB, 'Microsoft 365 Business Premium', 'psaBilled', 7, 0, false],
      [null, skuIds.SPB, 'Microsoft 365 Business Premium', 'psaBilled', 5, 7, false],
      [null, skuIds.SPB, 'Microsoft 365 Business Premium', 'psaBilled', 0, 5, true],
    ]);
  });

  it('refuses to rewrite the history; deleting the company takes it along', async () => {
    const db = h.runtime.store.db;
    const cause = async (statement: Promise<unknown>) => {
      try {
        await statement;
      } catch (error) {
        return String((error as { cause?: unknown }).cause ?? error);
      }
      return 'no error';
    };
    expect(await cause(db.execute(sql`update seat_history set to_value = 0`))).to.match(
      /seat_history is append-only/,
    );
    expect(await cause(db.execute(sql`delete from seat_history`))).to.match(
      /seat_history is append-only/,
    );
    expect(await cause(db.execute(sql`truncate seat_history`))).to.match(
      /seat_history is append-only/,
    );
    expect((await history()).length).to.be.greaterThan(0);

    await db.delete(companies).where(eq(companies.id, companyId));
    expect(
      await db.select().from(seatHistory).where(eq(seatHistory.companyId, companyId)),
    ).to.deep.equal([]);
  });

  it("answers 404 for another partner's company, or one that does not exist", async () => {
    const other = await h.runtime.services.partners.create('Other Partner', 'test');
    const theirs = await h.runtime.services.partners.addCompany(
      other.id,
      { name: 'Theirs', customerTenantId: 'eeeeeeee-0000-4000-8000-0000000000ee' },
      'test',
    );
    expect(
      (await h.api('get', `/partners/${partnerId}/companies/${theirs.id}/history`)).status,
    ).to.equal(404);
    expect(
      (await h.api('get', `/partners/${partnerId}/companies/not-a-guid/history`)).status,
    ).to.equal(404);
    expect(
      (await h.api('get', `/partners/${other.id}/companies/${theirs.id}/history`)).body,
    ).to.deep.equal({
      history: [],
    });
  });
});
