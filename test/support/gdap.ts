import { readFileSync } from 'node:fs';
import type { ScenarioInput } from '../../emulator/scenario.js';
import { testClient } from './emulator.js';
import type { Harness } from './harness.js';

// The emulator's GDAP scenario (emulator/scenarios/gdap.json): one customer per access case.

export const gdapCustomers = {
  allGood: 'c0000001-0000-4000-8000-000000000001',
  noRelationship: 'c0000002-0000-4000-8000-000000000002',
  expired: 'c0000003-0000-4000-8000-000000000003',
  expiring: 'c0000004-0000-4000-8000-000000000004',
  mailboxOnly: 'c0000005-0000-4000-8000-000000000005',
  licensesOnly: 'c0000006-0000-4000-8000-000000000006',
  notConsented: 'c0000007-0000-4000-8000-000000000007',
  microsoftLed: 'c0000008-0000-4000-8000-000000000008',
  globalAdmin: 'c0000009-0000-4000-8000-000000000009',
  partlyConsented: 'c0000010-0000-4000-8000-000000000010',
  terminated: 'c0000011-0000-4000-8000-000000000011',
};

const file = () =>
  JSON.parse(
    readFileSync(new URL('../../emulator/scenarios/gdap.json', import.meta.url), 'utf8'),
  ) as ScenarioInput;

/** The GDAP scenario, with the tests' client. */
export function gdapScenario(): ScenarioInput {
  return {
    ...file(),
    clients: [
      {
        clientId: testClient.clientId,
        clientSecret: testClient.clientSecret,
        redirectUris: [testClient.redirectUri],
      },
    ],
  };
}

/** Puts a customer's relationships and app consent back as the scenario file has them. */
export async function restoreGdapCustomer(h: Harness, tenantId: string): Promise<void> {
  const customers = file().partners[0]!.customers as {
    tenantId: string;
    gdap?: unknown[];
    appConsent?: unknown;
  }[];
  const spec = customers.find((c) => c.tenantId === tenantId)!;
  const res = await h.emulator.http.patch(`${h.emulator.url}/_emulator/customers/${tenantId}`, {
    ...(spec.gdap ? { gdap: spec.gdap } : {}),
    appConsent: spec.appConsent ?? true,
  });
  if (res.status !== 200) throw new Error(`restoring ${tenantId}: ${JSON.stringify(res.data)}`);
}
