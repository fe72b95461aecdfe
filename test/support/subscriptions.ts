import type { ScenarioInput } from '../../emulator/scenario.js';
import { scenarioWith } from './emulator.js';
import { startHarness, type Harness } from './harness.js';

type ExplicitCustomerInput = Exclude<
  ScenarioInput['partners'][number]['customers'],
  { generate: unknown } | undefined
>[number];

/** Microsoft's published SKU ids. */
export const skuIds = {
  SPB: 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46',
  EXCHANGESTANDARD: '4b9405b0-7788-4568-add1-99614e613b69',
  O365_BUSINESS_ESSENTIALS: '3b555118-da6a-4418-894f-7df1e2096870',
};

/**
 * A customer with several terms of one SKU (P1M, P1Y, P3Y of Business Premium), each status
 * Partner Center documents, and legacy license-based subscriptions. Billed: SPB 10 + 6 + 4 =
 * 20, EXCHANGESTANDARD 3 + 2 = 5 (legacy), O365_BUSINESS_ESSENTIALS 4.
 */
export const termsCustomer = {
  tenantId: 'dddddddd-0000-4000-8000-000000000004',
  name: 'Terms Customer',
  domain: 'terms.example',
  subscriptions: [
    { skuPartNumber: 'SPB', quantity: 10, termDuration: 'P1M' },
    { skuPartNumber: 'SPB', quantity: 6, termDuration: 'P1Y', billingCycle: 'annual' },
    { skuPartNumber: 'SPB', quantity: 4, termDuration: 'P3Y', billingCycle: 'triennial' },
    { skuPartNumber: 'SPB', quantity: 2, termDuration: 'P1M', status: 'suspended' },
    { skuPartNumber: 'SPB', quantity: 3, termDuration: 'P1M', status: 'expired' },
    { skuPartNumber: 'SPB', quantity: 7, termDuration: 'P1Y', status: 'deleted' },
    { skuPartNumber: 'SPB', quantity: 5, termDuration: 'P1M', status: 'pending' },
    { skuPartNumber: 'SPB', quantity: 1, termDuration: 'P1M', status: 'disabled' },
    { skuPartNumber: 'EXCHANGESTANDARD', quantity: 3, termDuration: 'P1M', commerce: 'legacy' },
    { skuPartNumber: 'EXCHANGESTANDARD', quantity: 2, termDuration: 'P1Y', commerce: 'legacy' },
    {
      skuPartNumber: 'O365_BUSINESS_ESSENTIALS',
      quantity: 4,
      termDuration: 'P1Y',
      billingCycle: 'monthly',
      autoRenewEnabled: false,
      creationDate: '2026-11-20T00:00:00Z',
    },
  ],
  users: [
    { upn: 'a@terms.example', licenses: ['SPB'] },
    { upn: 'b@terms.example', licenses: ['SPB', 'EXCHANGESTANDARD'] },
  ],
} satisfies ExplicitCustomerInput;

export const termsBilled = { SPB: 20, EXCHANGESTANDARD: 5, O365_BUSINESS_ESSENTIALS: 4 };

/** The emulator's second partner: its admin consents as admin@second.example. */
const secondPartner = 'bbbbbbbb-0000-4000-8000-000000000002';

/**
 * A harness whose second Microsoft partner also serves `customer`, and one of our partners,
 * named `partnerName`, holding that partner's legacy delegated-admin account (sync@second.example),
 * the account a consent as admin@second.example replaces.
 */
export async function startWithSecondPartnerCustomer(
  customer: { tenantId: string; name: string },
  partnerName: string,
  env?: Record<string, string>,
): Promise<{ h: Harness; partnerId: string; legacyId: string }> {
  const h = await startHarness(
    scenarioWith((p) =>
      p.tenantId === secondPartner
        ? { ...p, customers: [...(p.customers as unknown[]), customer] as typeof p.customers }
        : p,
    ),
    env,
  );
  const partnerId = (
    (await h.api('post', '/partners', { name: partnerName })).body as { id: string }
  ).id;
  const legacy = (
    await h.api('post', `/partners/${partnerId}/delegated-admins`, {
      username: 'sync@second.example',
      password: 'legacy-pw-test-only',
    })
  ).body as { id: string };
  return { h, partnerId, legacyId: legacy.id };
}
