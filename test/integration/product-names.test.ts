import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { eq } from 'drizzle-orm';
import { reconcileCompanyBilling } from '../../src/services/billing-reconciliation.js';
import { customerLicenses } from '../../src/store/schema.js';
import { startWithSecondPartnerCustomer } from '../support/subscriptions.js';
import type { Harness } from '../support/harness.js';
import { createPeople, loggedIn } from '../support/pages.js';

const explicitCustomer = 'cccccccc-0000-4000-8000-000000000003';
const tenant = 'dddddddd-0000-4000-8000-000000000017';
const flowFree = 'f30db892-07e9-47e9-837c-80727f46fd3d';
const unknownSku = '00000000-0000-4000-8000-0000000000aa';

/** Paid Business Premium beside free Power Automate and Power BI and a Teams trial. */
const freeAndPaid = {
  tenantId: tenant,
  name: 'Free And Paid Ltd',
  domain: 'free-and-paid.example',
  subscriptions: [
    { skuPartNumber: 'SPB', quantity: 4, termDuration: 'P1M' },
    { skuPartNumber: 'FLOW_FREE', quantity: 10000, termDuration: 'P1M' },
    { skuPartNumber: 'POWER_BI_STANDARD', quantity: 1000000, termDuration: 'P1M' },
    { skuPartNumber: 'MS_TEAMS_IW', quantity: 100, termDuration: 'P1M', isTrial: true },
  ],
  users: [
    { upn: 'a@free-and-paid.example', licenses: ['SPB', 'FLOW_FREE', 'POWER_BI_STANDARD'] },
    { upn: 'b@free-and-paid.example', licenses: ['SPB', 'FLOW_FREE'] },
    { upn: 'c@free-and-paid.example', licenses: ['MS_TEAMS_IW'] },
  ],
};

interface Listed {
  includeFreeSkusInTotals: boolean;
  totals: { billedQuantity: number; consumedUnits: number };
  companies: {
    id: string;
    customerTenantId: string;
    totals: { billedQuantity: number; consumedUnits: number };
    licenses: {
      skuId: string;
      skuPartNumber: string;
      productName: string;
      pricing: string;
      inBilledTotals: boolean;
      billedQuantity: number;
    }[];
  }[];
}

describe('product names from Microsoft’s SKU reference; free and trial SKUs out of totals', function () {
  this.timeout(120_000);
  let h: Harness;
  let partnerId: string;

  before(async () => {
    let legacyId: string;
    ({ h, partnerId, legacyId } = await startWithSecondPartnerCustomer(
      freeAndPaid,
      'Names Partner',
    ));
    for (const [customerTenantId, name] of [
      [explicitCustomer, 'Explicit Customer'],
      [tenant, 'Free And Paid Ltd'],
    ] as const)
      await h.runtime.services.partners.addCompany(
        partnerId,
        { name, customerTenantId, delegatedAdminId: legacyId },
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

  const listed = async () =>
    (await h.api('get', `/partners/${partnerId}/companies`)).body as Listed;

  it('names each license and marks free and trial ones, left out of billed totals', async () => {
    const overview = await listed();
    const company = overview.companies.find((c) => c.customerTenantId === tenant)!;
    const byPart = Object.fromEntries(company.licenses.map((l) => [l.skuPartNumber, l]));
    expect(byPart.SPB).to.include({
      productName: 'Microsoft 365 Business Premium',
      pricing: 'paid',
      inBilledTotals: true,
      billedQuantity: 4,
    });
    expect(byPart.FLOW_FREE).to.include({
      productName: 'Microsoft Power Automate Free',
      pricing: 'free',
      inBilledTotals: false,
    });
    expect(byPart.POWER_BI_STANDARD).to.include({
      productName: 'Power BI (free)',
      pricing: 'free',
    });
    expect(byPart.MS_TEAMS_IW).to.include({ pricing: 'trial', inBilledTotals: false });
    expect(overview.includeFreeSkusInTotals).to.equal(false);
    expect(company.totals).to.deep.equal({ billedQuantity: 4, consumedUnits: 2 });
    // The other customer bills SPB 15 and EXCHANGESTANDARD 3 (3 + 1 assigned: see its scenario).
    const other = overview.companies.find((c) => c.customerTenantId === explicitCustomer)!;
    expect(overview.totals.billedQuantity).to.equal(4 + other.totals.billedQuantity);
    expect(other.totals.billedQuantity).to.equal(18);
  });

  it('counts free and trial seats when the partner opts in', async () => {
    const patched = await h.api('patch', `/partners/${partnerId}`, {
      includeFreeSkusInTotals: true,
    });
    expect(patched.status).to.equal(200);
    expect(patched.body).to.include({ includeFreeSkusInTotals: true });
    const overview = await listed();
    const company = overview.companies.find((c) => c.customerTenantId === tenant)!;
    expect(company.totals.billedQuantity).to.equal(4 + 10000 + 1000000 + 100);
    expect(company.licenses.every((l) => l.inBilledTotals)).to.equal(true);
    const refused = await h.api('patch', `/partners/${partnerId}`, {
      includeFreeSkusInTotals: 'yes',
    });
    expect(refused.status).to.equal(400);
    await h.api('patch', `/partners/${partnerId}`, { includeFreeSkusInTotals: false });
  });

  it('exports the reconciliation as CSV with product names and pricing', async () => {
    const company = (await listed()).companies.find((c) => c.customerTenantId === tenant)!;
    await reconcileCompanyBilling(
      { ...h.runtime.services, queues: h.runtime.queues },
      partnerId,
      company.id,
    );
    const response = await h.api('get', `/partners/${partnerId}/reconciliation?format=csv`);
    expect(response.status).to.equal(200);
    const rows = parse<Record<string, string>>(response.text, { columns: true });
    const byPart = Object.fromEntries(rows.map((r) => [r.sku_part_number, r]));
    expect(byPart.SPB).to.include({
      product: 'Microsoft 365 Business Premium',
      pricing: 'paid',
      in_billed_totals: 'yes',
    });
    expect(byPart.FLOW_FREE).to.include({
      product: 'Microsoft Power Automate Free',
      sku_id: flowFree,
      pricing: 'free',
      in_billed_totals: 'no',
    });
    const json = (await h.api('get', `/partners/${partnerId}/reconciliation`)).body as {
      totals: { microsoftPurchased: number };
    };
    expect(json.totals.microsoftPurchased).to.equal(4);
  });

  it('lists for operators the SKUs the reference does not name, named by part number', async () => {
    const company = (await listed()).companies.find((c) => c.customerTenantId === tenant)!;
    const [latest] = await h.runtime.store.db
      .select()
      .from(customerLicenses)
      .where(eq(customerLicenses.customerTenantId, tenant))
      .limit(1);
    await h.runtime.store.db.insert(customerLicenses).values({
      partnerId,
      changedRunId: latest!.changedRunId,
      companyId: company.id,
      customerTenantId: tenant,
      skuId: unknownSku,
      skuPartNumber: 'CONTOSO_NEW_ADDON',
      activeUnits: 2,
      consumedUnits: 1,
      billedQuantity: 2,
    });
    const { skus } = (await h.api('get', '/unknown-skus')).body as {
      skus: { skuId: string; skuPartNumber: string; companies: number; lastSeenAt: string }[];
    };
    expect(skus.map(({ lastSeenAt: _, ...s }) => s)).to.deep.equal([
      { skuId: unknownSku, skuPartNumber: 'CONTOSO_NEW_ADDON', companies: 1 },
    ]);
    // The company's license is named by its part number meanwhile, and counted as paid.
    const shown = (await listed()).companies
      .find((c) => c.customerTenantId === tenant)!
      .licenses.find((l) => l.skuId === unknownSku);
    expect(shown).to.include({
      productName: 'CONTOSO_NEW_ADDON',
      pricing: 'paid',
      inBilledTotals: true,
    });
  });

  it('shows product names on the companies page, part numbers beside them, and unknown SKUs to operators', async () => {
    const people = await createPeople(h, partnerId);
    const operator = await loggedIn(h.app, people.operator.email);
    const companies = await operator.get(`/partners/${partnerId}/companies`);
    expect(companies.status).to.equal(200);
    expect(companies.text).to.contain('Microsoft 365 Business Premium');
    expect(companies.text).to.contain('title="SPB"');
    expect(companies.text).to.match(/Microsoft Power Automate Free.*· free, not in totals/s);
    expect(companies.text).to.match(/Billed seats in total: <strong>\d+<\/strong>/);
    const page = await operator.get('/operator');
    expect(page.text).to.contain('SKUs without a product name');
    expect(page.text).to.contain('CONTOSO_NEW_ADDON');
  });
});
