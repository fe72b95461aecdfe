import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { scenarioWith } from '../support/emulator.js';
import { adminAuth, startHarness, type Harness } from '../support/harness.js';
import { termsCustomer } from '../support/subscriptions.js';

const secondPartner = 'bbbbbbbb-0000-4000-8000-000000000002';
const explicitCustomer = 'cccccccc-0000-4000-8000-000000000003';
const terms = termsCustomer.tenantId;

interface Listed {
  query: { search: string; filters: string[]; sort: string };
  companiesInAll: number;
  productTotals: {
    skuId: string;
    productName: string;
    companies: number;
    purchased: number;
    assigned: number;
    billed: number;
  }[];
  companies: {
    id: string;
    name: string;
    customerTenantId: string;
    licensesRefreshedAt: string;
    stale: boolean;
    staleReason: string | null;
    unassignedSeats: number;
    lastRun: { runId: string; status: string; errorMessage: string | null } | null;
    totals: { billedQuantity: number };
    licenses: {
      skuId: string;
      skuPartNumber: string;
      productName: string;
      activeUnits: number;
      consumedUnits: number;
      billedQuantity: number;
    }[];
  }[];
}

describe('companies API: search, filters, sort, stale counts and CSV, from real refreshes', function () {
  this.timeout(120_000);
  let h: Harness;
  let partnerId: string;

  before(async () => {
    h = await startHarness(
      scenarioWith((p) =>
        p.tenantId === secondPartner
          ? {
              ...p,
              customers: [...(p.customers as unknown[]), termsCustomer] as typeof p.customers,
            }
          : p,
      ),
      { PARTNER_CENTER_REQUESTS_PER_SECOND: '20' },
    );
    partnerId = (
      (await h.api('post', '/partners', { name: 'Companies Partner' })).body as { id: string }
    ).id;
    const legacy = (
      await h.api('post', `/partners/${partnerId}/delegated-admins`, {
        username: 'sync@second.example',
        password: 'legacy-pw-test-only',
      })
    ).body as { id: string };
    for (const [customerTenantId, name] of [
      [explicitCustomer, 'Explicit Customer'],
      [terms, 'Terms Customer'],
    ] as const)
      await h.runtime.services.partners.addCompany(
        partnerId,
        { name, customerTenantId, delegatedAdminId: legacy.id },
        'test',
      );
    await h.grant(partnerId, 'admin@second.example');
    const { run } = (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      run: { id: string };
    };
    expect(await h.runEnded(run.id)).to.include({ status: 'completed', succeeded: 2 });
  });
  after(async function () {
    await h?.close(this.currentTest?.state === 'failed');
  });

  const list = async (query = '') => {
    const res = await h.api('get', `/partners/${partnerId}/companies${query}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body as Listed;
  };
  const names = (l: Listed) => l.companies.map((c) => c.name);
  const csvOf = async (query: string, accept?: string) => {
    let req = request(h.app).get(`/api/v1/partners/${partnerId}/companies${query}`).set(adminAuth);
    if (accept) req = req.set('Accept', accept);
    const res = await req;
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/csv/);
    return parse<Record<string, string>>(res.text, { columns: true });
  };

  it('searches, filters and sorts; totals each product across the partner', async () => {
    const all = await list();
    expect(names(all)).to.deep.equal(['Explicit Customer', 'Terms Customer']);
    expect(all.companies.every((c) => !c.stale && c.lastRun?.status === 'succeeded')).to.equal(
      true,
    );
    expect(names(await list('?search=TERMS%20cust'))).to.deep.equal(['Terms Customer']);
    expect(names(await list(`?search=${explicitCustomer.slice(0, 13)}`))).to.deep.equal([
      'Explicit Customer',
    ]);
    const bySeats = await list('?sort=billed');
    expect(bySeats.companies.map((c) => c.totals.billedQuantity)).to.deep.equal(
      [...bySeats.companies.map((c) => c.totals.billedQuantity)].sort((a, b) => b - a),
    );
    // Terms Customer buys 20 Business Premium seats and assigns 2.
    const unassigned = await list('?filter=unassigned_seats&sort=unassigned');
    expect(unassigned.companies[0]).to.include({ name: 'Terms Customer' });
    expect(unassigned.companies[0]!.unassignedSeats).to.be.greaterThan(0);
    expect((await list('?filter=stale')).companies).to.deep.equal([]);
    expect((await list('?filter=has_failures')).companies).to.deep.equal([]);

    // Each product's seats summed over both companies.
    for (const total of all.productTotals) {
      const held = all.companies.flatMap((c) => c.licenses).filter((l) => l.skuId === total.skuId);
      expect(total).to.deep.include({
        companies: held.length,
        purchased: held.reduce((s, l) => s + l.activeUnits, 0),
        assigned: held.reduce((s, l) => s + l.consumedUnits, 0),
        billed: held.reduce((s, l) => s + l.billedQuantity, 0),
      });
    }
    const spb = all.productTotals.find((p) => p.productName === 'Microsoft 365 Business Premium');
    expect(spb?.companies).to.equal(2);
  });

  it('refuses unknown filters and sorts with a 400 that names them', async () => {
    const res = await h.api(
      'get',
      `/partners/${partnerId}/companies?filter=stale,cheap&sort=price`,
    );
    expect(res.status).to.equal(400);
    expect((res.body as { error: { message: string } }).error.message).to.match(
      /filter=cheap, sort=price/,
    );
  });

  it('answers CSV (Accept: text/csv or ?format=csv): a row per company and product', async () => {
    const all = await list();
    const rows = await csvOf('', 'text/csv');
    expect(rows).to.deep.equal(await csvOf('?format=csv'));
    expect(
      rows.map((r) => [r.company, r.customer_tenant_id, r.product, r.sku_part_number]),
    ).to.have.deep.members(
      all.companies.flatMap((c) =>
        c.licenses.map((l) => [c.name, c.customerTenantId, l.productName, l.skuPartNumber]),
      ),
    );
    for (const r of rows) {
      const company = all.companies.find((c) => c.customerTenantId === r.customer_tenant_id)!;
      const license = company.licenses.find((l) => l.skuPartNumber === r.sku_part_number)!;
      expect([r.purchased, r.assigned, r.billed]).to.deep.equal(
        [license.activeUnits, license.consumedUnits, license.billedQuantity].map(String),
      );
      expect(r.stale).to.equal('false');
      expect(r.as_of).to.equal(new Date(company.licensesRefreshedAt).toISOString());
    }
    // The query narrows the CSV as it does the JSON.
    const searched = await csvOf('?search=terms&format=csv');
    expect(new Set(searched.map((r) => r.company))).to.deep.equal(new Set(['Terms Customer']));
  });

  it('marks a company stale, with the reason, when the latest run failed for it', async () => {
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, [
      { path: `/v1/customers/${explicitCustomer}/subscribedskus`, status: 403 },
    ]);
    try {
      const started = await h.api('post', `/partners/${partnerId}/refresh`);
      expect(started.status).to.equal(202);
      expect(await h.runEnded((started.body as { runId: string }).runId)).to.include({
        status: 'completed',
        succeeded: 1,
        failed: 1,
      });
    } finally {
      await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    }
    const all = await list();
    const explicit = all.companies.find((c) => c.customerTenantId === explicitCustomer)!;
    const fresh = all.companies.find((c) => c.customerTenantId === terms)!;
    expect(explicit.stale).to.equal(true);
    expect(explicit.staleReason).to.match(/^The latest refresh failed for this company\. .+/);
    expect(explicit.lastRun?.status).to.equal('failed');
    expect(fresh).to.include({ stale: false, staleReason: null });
    expect(names(await list('?filter=stale'))).to.deep.equal(['Explicit Customer']);
    expect(names(await list('?filter=has_failures&filter=stale'))).to.deep.equal([
      'Explicit Customer',
    ]);
    const rows = await csvOf('', 'text/csv');
    for (const r of rows) {
      expect(r.stale).to.equal(r.customer_tenant_id === explicitCustomer ? 'true' : 'false');
      if (r.stale === 'true') expect(r.stale_reason).to.equal(explicit.staleReason);
    }
  });
});
