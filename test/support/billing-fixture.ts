import type { ScenarioInput } from '../../emulator/scenario.js';
import type { Harness } from './harness.js';
import type { PsaFixture } from './psa.js';

// A partner's customers at Microsoft and what its PSA bills them, shared by the billing
// tests: every expected number there is written by hand from these two.

export const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
export const sku = {
  spb: 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46',
  exchange: '4b9405b0-7788-4568-add1-99614e613b69',
  basic: '3b555118-da6a-4418-894f-7df1e2096870',
  visio: 'c5928f49-12ba-48f7-ada3-0d743a3601d5',
};
export const tenant = {
  contoso: 'eeeeeeee-0000-4000-8000-000000000001',
  fabrikam: 'eeeeeeee-0000-4000-8000-000000000002',
  northwind: 'eeeeeeee-0000-4000-8000-000000000003',
};

const users = (domain: string, prefix: string, count: number, licenses: string[]) =>
  Array.from({ length: count }, (_, i) => ({ upn: `${prefix}${i + 1}@${domain}`, licenses }));

/**
 * Contoso: SPB 10 monthly + 5 yearly (15), 12 assigned; Exchange 3, 2 assigned.
 * Fabrikam: SPB 4, 4 assigned; Business Basic 2, 1 assigned. Northwind: SPB 1, in no PSA.
 */
export const customers: ScenarioInput['partners'][number]['customers'] = [
  {
    tenantId: tenant.contoso,
    name: 'Contoso Ltd',
    domain: 'contoso.example',
    subscriptions: [
      { skuPartNumber: 'SPB', quantity: 10, termDuration: 'P1M' },
      { skuPartNumber: 'SPB', quantity: 5, termDuration: 'P1Y' },
      { skuPartNumber: 'EXCHANGESTANDARD', quantity: 3 },
    ],
    users: [
      ...users('contoso.example', 'staff', 10, ['SPB']),
      ...users('contoso.example', 'mail', 2, ['SPB', 'EXCHANGESTANDARD']),
    ],
  },
  {
    tenantId: tenant.fabrikam,
    name: 'Fabrikam, Inc.',
    domain: 'fabrikam.example',
    subscriptions: [
      { skuPartNumber: 'SPB', quantity: 4 },
      { skuPartNumber: 'O365_BUSINESS_ESSENTIALS', quantity: 2 },
    ],
    users: [
      ...users('fabrikam.example', 'staff', 4, ['SPB']),
      { upn: 'front@fabrikam.example', licenses: ['O365_BUSINESS_ESSENTIALS'] },
    ],
  },
  {
    tenantId: tenant.northwind,
    name: 'Northwind Traders',
    domain: 'northwind.example',
    subscriptions: [{ skuPartNumber: 'SPB', quantity: 1 }],
    users: users('northwind.example', 'staff', 1, ['SPB']),
  },
];

/** The PSA: Contoso bills SPB 14, Exchange 3, Visio 2 and a backup service; Fabrikam SPB 4. */
export const fixture: PsaFixture = {
  products: [
    { id: 101, code: 'M365-BP', name: 'Microsoft 365 Business Premium' },
    { id: 102, code: 'EXO-P1', name: 'Exchange Online (Plan 1)', unitPrice: 4 },
    { id: 103, code: 'M365-BB', name: 'Microsoft 365 Business Basic' },
    { id: 104, code: 'VISIO-P2', name: 'Visio Plan 2' },
    { id: 105, code: 'BACKUP', name: 'Managed Backup' },
  ],
  companies: [
    {
      id: 1,
      name: 'Contoso',
      domain: 'contoso.example',
      containers: [
        {
          id: 11,
          name: 'Contoso Microsoft 365',
          lines: [
            { id: 1001, productId: 101, quantity: 14 },
            { id: 1002, productId: 102, quantity: 3 },
            { id: 1003, productId: 104, quantity: 2 },
            { id: 1004, productId: 105, quantity: 5 },
          ],
        },
      ],
    },
    {
      id: 2,
      name: 'Fabrikam Inc',
      domain: 'fabrikam.example',
      containers: [
        { id: 21, name: 'Fabrikam cloud', lines: [{ id: 2001, productId: 101, quantity: 4 }] },
      ],
    },
    {
      id: 3,
      name: 'Tailspin Toys',
      domain: 'tailspin.example',
      containers: [{ id: 31, name: 'Tailspin services', lines: [] }],
    },
  ],
};

/**
 * A partner whose companies are the customers above, served by a legacy account and then
 * consented by the admin; resolves once its first refresh run completed.
 */
export async function seedBillingPartner(
  h: Harness,
  name: string,
): Promise<{ partnerId: string; company: Record<string, string> }> {
  const partner = await h.runtime.services.partners.create(name, 'test');
  const legacy = await h.runtime.services.partners.addLegacyAdmin(
    partner.id,
    'sync@first.example',
    'legacy-pw-test-only',
    'test',
  );
  const company: Record<string, string> = {};
  for (const c of customers as { tenantId: string; name: string; domain: string }[]) {
    const created = await h.runtime.services.partners.addCompany(
      partner.id,
      { name: c.name, customerTenantId: c.tenantId, domain: c.domain, delegatedAdminId: legacy.id },
      'test',
    );
    company[c.tenantId] = created.id;
  }
  await h.grant(partner.id, 'admin@first.example');
  const run = await h.runEnded((await h.runtime.services.runs.latest(partner.id))!.id);
  if (run.status !== 'completed') throw new Error(`the first refresh run ended ${run.status}`);
  return { partnerId: partner.id, company };
}
