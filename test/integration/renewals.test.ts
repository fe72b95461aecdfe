import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { adminAuth, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, loggedIn } from '../support/pages.js';
import { skuIds, startWithSecondPartnerCustomer } from '../support/subscriptions.js';

const tenant = 'eeeeeeee-0000-4000-8000-00000000000a';
const dayMs = 86_400_000;

/**
 * A creation date whose current `months`-month term ends about `days` days from now (terms
 * follow one another from the creation date in the emulator, as in Partner Center).
 */
function endingIn(days: number, months: number): string {
  const d = new Date(Date.now() + days * dayMs);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d.toISOString();
}
const boughtDaysAgo = (days: number) => new Date(Date.now() - days * dayMs).toISOString();

/**
 * Commitments ending in about 15 (yearly SPB, legacy yearly Exchange), 45 (yearly Exchange,
 * auto-renew off), 75 (three-year SPB) and 200 days (yearly Basic); a monthly SPB bought three
 * days ago (window open) and a yearly Basic bought ten days ago (window closed three days ago).
 * Three users have SPB, one has Exchange.
 */
const renewalsCustomer = {
  tenantId: tenant,
  name: 'Renewals Customer',
  domain: 'renewals.example',
  subscriptions: [
    {
      skuPartNumber: 'SPB',
      quantity: 6,
      termDuration: 'P1Y',
      billingCycle: 'annual',
      creationDate: endingIn(15, 12),
    },
    { skuPartNumber: 'SPB', quantity: 10, termDuration: 'P1M', creationDate: boughtDaysAgo(3) },
    {
      skuPartNumber: 'SPB',
      quantity: 4,
      termDuration: 'P3Y',
      billingCycle: 'triennial',
      creationDate: endingIn(75, 36),
    },
    {
      skuPartNumber: 'EXCHANGESTANDARD',
      quantity: 2,
      termDuration: 'P1Y',
      billingCycle: 'annual',
      autoRenewEnabled: false,
      creationDate: endingIn(45, 12),
    },
    {
      skuPartNumber: 'EXCHANGESTANDARD',
      quantity: 3,
      termDuration: 'P1Y',
      commerce: 'legacy',
      creationDate: endingIn(15, 12),
    },
    {
      skuPartNumber: 'O365_BUSINESS_ESSENTIALS',
      quantity: 5,
      termDuration: 'P1Y',
      billingCycle: 'annual',
      creationDate: boughtDaysAgo(10),
    },
    {
      skuPartNumber: 'O365_BUSINESS_ESSENTIALS',
      quantity: 1,
      termDuration: 'P1Y',
      billingCycle: 'annual',
      creationDate: endingIn(200, 12),
    },
  ],
  users: [
    { upn: 'a@renewals.example', licenses: ['SPB'] },
    { upn: 'b@renewals.example', licenses: ['SPB', 'EXCHANGESTANDARD'] },
    { upn: 'c@renewals.example', licenses: ['SPB'] },
  ],
};

interface Row {
  companyId: string;
  companyName: string;
  customerTenantId: string;
  subscriptionId: string;
  skuId: string;
  productName: string;
  skuPartNumber: string;
  term: string;
  billingCycle: string | null;
  commitmentEndDate: string | null;
  autoRenew: boolean | null;
  cancellableUntil: string | null;
  purchased: number;
  assigned: number | null;
  unassigned: number | null;
  renewing: boolean;
  windowOpen: boolean;
}

/** term, SKU part number, purchased, assigned, unassigned, renewing, window open. */
const summary = (rows: Row[]) =>
  rows.map((r) => [
    r.term,
    r.skuPartNumber,
    r.purchased,
    r.assigned,
    r.unassigned,
    r.renewing,
    r.windowOpen,
  ]);

describe('renewals: API, CSV and page from a real refresh against the emulator', function () {
  this.timeout(120_000);
  let h: Harness;
  let partnerId: string;
  let companyId: string;

  before(async () => {
    ({ h, partnerId } = await startWithSecondPartnerCustomer(renewalsCustomer, 'Renewals Partner'));
    companyId = (
      await h.runtime.services.partners.addCompany(
        partnerId,
        { name: 'Renewals Customer', customerTenantId: tenant },
        'test',
      )
    ).id;
    await h.grant(partnerId, 'admin@second.example');
    const { run } = (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      run: { id: string };
    };
    expect(await h.runEnded(run.id)).to.include({ status: 'completed', succeeded: 1 });
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  const renewals = async (days?: string) => {
    const res = await h.api(
      'get',
      `/partners/${partnerId}/renewals${days === undefined ? '' : `?days=${days}`}`,
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body as { days: number; rows: Row[] };
  };

  it('lists commitments ending within the days asked, soonest first, and the open windows', async () => {
    const in30 = await renewals('30');
    expect(in30.days).to.equal(30);
    // SPB: 20 purchased, 3 assigned; the three-year term (ending last) holds them, so the
    // yearly and the monthly carry the spare seats. Exchange: 5 purchased, 1 assigned, on the
    // auto-renew-off yearly ending at 45 days. Neither monthly term nor Basic is "renewing".
    expect(summary(in30.rows)).to.have.deep.members([
      ['yearly', 'SPB', 6, 0, 6, true, false],
      ['yearly', 'EXCHANGESTANDARD', 3, 0, 3, true, false],
      ['monthly', 'SPB', 10, 0, 10, false, true],
    ]);
    const spb = in30.rows.find((r) => r.term === 'yearly' && r.skuPartNumber === 'SPB')!;
    expect(spb).to.include({
      companyId,
      companyName: 'Renewals Customer',
      customerTenantId: tenant,
      skuId: skuIds.SPB,
      productName: 'Microsoft 365 Business Premium',
      billingCycle: 'annual',
      autoRenew: true,
    });
    expect(spb.subscriptionId).to.match(/^[0-9a-f-]{36}$/);
    const daysLeft = (Date.parse(spb.commitmentEndDate!) - Date.now()) / dayMs;
    expect(daysLeft).to.be.within(12, 16);
    // The legacy yearly has no cancellation window at all.
    const legacy = in30.rows.find((r) => r.skuPartNumber === 'EXCHANGESTANDARD')!;
    expect(legacy.cancellableUntil).to.equal(null);
    const monthly = in30.rows.find((r) => r.term === 'monthly')!;
    expect(Date.parse(monthly.cancellableUntil!)).to.be.within(
      Date.now() + 3 * dayMs,
      Date.now() + 5 * dayMs,
    );

    const in60 = await renewals('60');
    expect(summary(in60.rows)).to.have.deep.members([
      ...summary(in30.rows),
      ['yearly', 'EXCHANGESTANDARD', 2, 1, 1, true, false],
    ]);
    expect(in60.rows.find((r) => r.purchased === 2)).to.include({ autoRenew: false });

    const in90 = await renewals();
    expect(in90.days).to.equal(90);
    expect(summary(in90.rows)).to.have.deep.members([
      ...summary(in60.rows),
      ['three-year', 'SPB', 4, 3, 1, true, false],
    ]);
    const ends = in90.rows.filter((r) => r.renewing).map((r) => Date.parse(r.commitmentEndDate!));
    expect(ends).to.deep.equal([...ends].sort((a, b) => a - b));
    // The Basic bought ten days ago closed its window three days ago; the other ends at 200.
    expect(in90.rows.some((r) => r.skuPartNumber === 'O365_BUSINESS_ESSENTIALS')).to.equal(false);
    expect(summary((await renewals('365')).rows)).to.deep.include([
      'yearly',
      'O365_BUSINESS_ESSENTIALS',
      1,
      0,
      1,
      true,
      false,
    ]);
  });

  it('refuses days outside 1..365 or not whole with a clear 400', async () => {
    for (const days of ['0', '366', '-5', '1.5', 'ninety', '']) {
      const res = await h.api('get', `/partners/${partnerId}/renewals?days=${days}`);
      expect(res.status, days).to.equal(400);
      expect((res.body as { error: { message: string } }).error.message).to.equal(
        'Invalid request: days: expected a whole number of days from 1 to 365.',
      );
    }
    expect((await h.api('get', `/partners/${partnerId}/renewals?weeks=2`)).status).to.equal(400);
    expect((await renewals('1')).days).to.equal(1);
    expect((await renewals('365')).days).to.equal(365);
    expect(
      (await h.api('get', '/partners/00000000-0000-4000-8000-000000000000/renewals')).status,
    ).to.equal(404);
    const anonymous = await request(h.app).get(`/api/v1/partners/${partnerId}/renewals`);
    expect(anonymous.status).to.equal(401);
  });

  it('answers the same rows as RFC 4180 CSV with ISO dates for Accept: text/csv', async () => {
    const json = await renewals('90');
    const res = await request(h.app)
      .get(`/api/v1/partners/${partnerId}/renewals?days=90`)
      .set(adminAuth)
      .set('Accept', 'text/csv');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/csv; charset=utf-8/);
    expect(res.headers['content-disposition']).to.contain('attachment');
    expect(res.text).to.contain('\r\n');
    const records = parse<Record<string, string>>(res.text, { columns: true });
    expect(records.map((r) => r.subscription_id)).to.deep.equal(
      json.rows.map((r) => r.subscriptionId),
    );
    const yearly = records.find((r) => r.term === 'yearly' && r.sku_part_number === 'SPB')!;
    expect(yearly).to.include({
      company: 'Renewals Customer',
      customer_tenant_id: tenant,
      product: 'Microsoft 365 Business Premium',
      purchased: '6',
      assigned: '0',
      unassigned: '6',
      auto_renew: 'true',
      renewing: 'true',
      window_open: 'false',
    });
    expect(yearly.commitment_end_date).to.match(/^\d{4}-\d\d-\d\dT00:00:00\.000Z$/);
    expect(records.find((r) => r.term === 'monthly')!.cancellable_until).to.match(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    );
  });

  it("shows them on the Renewals tab, 30 days unless asked, to the partner's users only", async () => {
    const people = await createPeople(h, partnerId);
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const page = await agent.get(`/partners/${partnerId}/renewals`);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('<h1>Renewals Partner · Renewals</h1>');
    expect(page.text).to.contain(`href="/partners/${partnerId}/renewals" aria-current="page"`);
    const section = (id: string) => {
      const start = page.text.indexOf(`data-testid="${id}"`);
      expect(start, id).to.be.greaterThan(-1);
      return page.text.slice(start, page.text.indexOf('</table>', start));
    };
    const renewing = section('renewals');
    expect(renewing.match(/data-testid="renewal-row"/g)).to.have.length(2);
    expect(renewing).to.contain('Microsoft 365 Business Premium');
    expect(renewing).to.contain('Exchange Online (Plan 1)');
    expect(renewing).to.not.contain('Monthly');
    expect(page.text).to.contain('<strong>9 unassigned seats</strong>');
    const open = section('open-windows');
    expect(open.match(/data-testid="open-window-row"/g)).to.have.length(1);
    expect(open).to.contain('Monthly');

    const in90 = await agent.get(`/partners/${partnerId}/renewals?days=90`);
    expect(in90.text).to.contain('Commitments ending in the next 90 days');
    expect(in90.text.match(/data-testid="renewal-row"/g)).to.have.length(4);
    expect(in90.text).to.contain('Ends (auto-renew off)');
    expect(in90.text).to.contain(
      `href="/partners/${partnerId}/renewals?days=90" aria-current="page"`,
    );
    expect((await agent.get(`/partners/${partnerId}/renewals?days=400`)).status).to.equal(400);

    const csv = await agent.get(`/partners/${partnerId}/renewals.csv?days=60`);
    expect(csv.headers['content-type']).to.match(/^text\/csv/);
    expect(parse<Record<string, string>>(csv.text, { columns: true }).length).to.equal(4);

    const other = await h.runtime.services.partners.create('Other Partner', 'test');
    expect((await agent.get(`/partners/${other.id}/renewals`)).status).to.equal(404);
  });

  it('after Partner Center renews a yearly term, it leaves the list and its window opens', async () => {
    // The yearly SPB renewed two days ago: its term restarts from there, as Partner Center's
    // does. (Moving the emulator's clock weeks ahead would also expire the service's cached
    // access token in the emulator's eyes only, which no real clock does.)
    const customer = h.emulator.state.directory.customer(tenant)!;
    const yearly = h.emulator.state.directory
      .detail(customer)
      .subscriptions.find((s) => s.sku.skuPartNumber === 'SPB' && s.termDuration === 'P1Y')!;
    yearly.creationDate = endingIn(-2, 12);
    const started = await h.api('post', `/partners/${partnerId}/refresh`);
    expect(started.status).to.equal(202);
    const ended = await h.runEnded((started.body as { runId: string }).runId);
    expect(ended, JSON.stringify(ended)).to.include({
      status: 'completed',
      succeeded: 1,
    });
    const rows = (await renewals('30')).rows;
    const spb = rows.find((r) => r.term === 'yearly' && r.skuPartNumber === 'SPB')!;
    expect(spb).to.include({ renewing: false, windowOpen: true });
    expect((Date.parse(spb.commitmentEndDate!) - Date.now()) / dayMs).to.be.greaterThan(300);
    expect(Date.parse(spb.cancellableUntil!)).to.be.within(
      Date.now() + 4 * dayMs,
      Date.now() + 6 * dayMs,
    );
  });
});
