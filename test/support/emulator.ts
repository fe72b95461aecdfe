import { createHash, randomBytes } from 'node:crypto';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { expect } from 'chai';
import { parseScenario, type ScenarioInput } from '../../emulator/scenario.js';
import { startEmulator, type RunningEmulator } from '../../emulator/server.js';
import { createHttpClient } from '../../src/http-client.js';

export const partnerCenterScope = 'https://api.partnercenter.microsoft.com/user_impersonation';
export const testClient = {
  clientId: '11111111-2222-4333-8444-555555555555',
  // Generated per test run; test-only.
  clientSecret: randomBytes(24).toString('base64url'),
  redirectUri: 'http://localhost:3000/auth/callback',
};

/** A small two-partner scenario; override any part. */
export function testScenario(overrides: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    clients: [
      {
        clientId: testClient.clientId,
        clientSecret: testClient.clientSecret,
        redirectUris: [testClient.redirectUri],
      },
    ],
    autoConsent: true,
    partners: [
      {
        tenantId: 'aaaaaaaa-0000-4000-8000-000000000001',
        name: 'First Partner',
        domain: 'first.example',
        users: [
          { upn: 'admin@first.example', mfa: true, adminAgent: true },
          { upn: 'nomfa@first.example', mfa: false, adminAgent: true },
          { upn: 'staff@first.example', mfa: true, adminAgent: false },
          {
            upn: 'partial@first.example',
            mfa: true,
            adminAgent: true,
            grantedScopes: [partnerCenterScope],
          },
          { upn: 'sales@first.example', mfa: true, roles: ['SalesAgents'] },
          { upn: 'helpdesk@first.example', mfa: true, roles: ['HelpdeskAgents'] },
          // An Admin Agent through a nested group: Tier 2 is a member of AdminAgents.
          { upn: 'nested@first.example', mfa: true, roles: [] },
          // Signs in with Windows Hello for Business: amr ngcmfa, no mfa.
          { upn: 'hello@first.example', amr: ['pwd', 'ngcmfa'], roles: ['AdminAgents'] },
          // Consents to Partner Center and its profile only: Graph shows its groups nameless.
          {
            upn: 'noscope@first.example',
            mfa: true,
            adminAgent: true,
            grantedScopes: [partnerCenterScope, 'https://graph.microsoft.com/User.Read'],
          },
        ],
        groups: [
          { displayName: 'Tier 2', members: ['nested@first.example'] },
          { displayName: 'AdminAgents', members: ['Tier 2'] },
        ],
        rateLimits: { partnerCenterRps: 50 },
        customers: { generate: { seed: 7, count: 30 } },
      },
      {
        tenantId: 'bbbbbbbb-0000-4000-8000-000000000002',
        name: 'Second Partner',
        domain: 'second.example',
        users: [{ upn: 'admin@second.example', mfa: true, adminAgent: true }],
        rateLimits: { partnerCenterRps: 50 },
        customers: [
          {
            tenantId: 'cccccccc-0000-4000-8000-000000000003',
            name: 'Explicit Customer',
            domain: 'explicit.example',
            subscriptions: [
              { skuPartNumber: 'SPB', quantity: 10, termDuration: 'P1M' },
              { skuPartNumber: 'SPB', quantity: 5, termDuration: 'P1Y' },
              { skuPartNumber: 'EXCHANGESTANDARD', quantity: 3, termDuration: 'P1M' },
            ],
            users: [
              { upn: 'a@explicit.example', licenses: ['SPB'] },
              { upn: 'b@explicit.example', licenses: ['SPB', 'EXCHANGESTANDARD'] },
              { upn: 'c@explicit.example', licenses: [], mailbox: 'none' },
              { upn: 'info@explicit.example', licenses: [], mailbox: 'shared' },
            ],
            groups: [
              { displayName: 'Support', members: ['a@explicit.example'] },
              { displayName: 'Managed', members: ['b@explicit.example', 'Support'] },
            ],
          },
        ],
      },
    ],
    ...overrides,
  };
}

export interface TestEmulator extends RunningEmulator {
  /** An HTTP client that trusts the emulator's CA. */
  http: AxiosInstance;
}

export async function startTestEmulator(
  scenario: ScenarioInput = testScenario(),
): Promise<TestEmulator> {
  const emulator = await startEmulator({ scenario: parseScenario(scenario) });
  const http = createHttpClient({ extraCaFile: emulator.caFile });
  return Object.assign(emulator, { http });
}

/** The service's configuration for talking to this emulator as its Microsoft cloud. */
export function emulatorEnv(emulator: TestEmulator): Record<string, string> {
  return {
    MICROSOFT_CLOUD: 'custom',
    MICROSOFT_AUTHORITY_HOST: emulator.url,
    PARTNER_CENTER_URL: emulator.url,
    GRAPH_URL: emulator.url,
    HTTP_EXTRA_CA_FILE: emulator.caFile,
    MICROSOFT_CLIENT_ID: testClient.clientId,
    MICROSOFT_CLIENT_SECRET: testClient.clientSecret,
  };
}

export interface TokenSet {
  access_token: string;
  refresh_token: string;
  id_token?: string;
}

/**
 * Consent straight through (login_hint + autoConsent) and redeem the code with PKCE, over
 * plain HTTP: for tests of Partner Center and Graph that need a token, not MSAL.
 */
export async function consentAndRedeem(
  emulator: TestEmulator,
  upn: string,
  consentScopes: string[] = [partnerCenterScope],
  tokenScope: string = partnerCenterScope,
): Promise<TokenSet> {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(`${emulator.url}/organizations/oauth2/v2.0/authorize`);
  authorize.search = new URLSearchParams({
    client_id: testClient.clientId,
    response_type: 'code',
    redirect_uri: testClient.redirectUri,
    scope: [...consentScopes, 'openid', 'profile', 'offline_access'].join(' '),
    login_hint: upn,
    state: 's',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const redirect = await emulator.http.get(authorize.toString());
  const location = new URL(String(redirect.headers.location));
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`no code: ${location.toString()}`);
  return redeem(emulator, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: testClient.redirectUri,
    scope: `${tokenScope} openid profile offline_access`,
  });
}

/** POST to the token endpoint of `tenant` with the test client's credentials. */
export async function redeem(
  emulator: TestEmulator,
  form: Record<string, string>,
  tenant = 'organizations',
): Promise<TokenSet> {
  const response = await emulator.http.post(
    `${emulator.url}/${tenant}/oauth2/v2.0/token`,
    new URLSearchParams({
      client_id: testClient.clientId,
      client_secret: testClient.clientSecret,
      ...form,
    }).toString(),
    { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
  );
  const body = JSON.parse(response.data as string) as TokenSet & {
    error?: string;
    error_description?: string;
  };
  if (response.status !== 200) throw new Error(`${body.error}: ${body.error_description}`);
  return body;
}

export function json<T>(response: AxiosResponse): T {
  return JSON.parse(String(response.data)) as T;
}

/** testScenario() with some of its partners changed. */
export function scenarioWith(
  change: (partner: ScenarioInput['partners'][number]) => ScenarioInput['partners'][number],
): ScenarioInput {
  return testScenario({ partners: testScenario().partners.map(change) });
}

/**
 * Fires `burst` requests for each of two partners at once. The second partner is never
 * throttled; the first gets some 429s (and no more successes than its bucket allows), each
 * with a whole-second Retry-After. Returns the 429s and the longest wait they asked for.
 */
export async function throttledBurst(
  burst: number,
  rate: number,
  first: (i: number) => Promise<AxiosResponse>,
  second: (i: number) => Promise<AxiosResponse>,
): Promise<{ throttled: AxiosResponse[]; waitSec: number }> {
  const started = Date.now();
  const [firsts, seconds] = await Promise.all([
    Promise.all(Array.from({ length: burst }, (_, i) => first(i))),
    Promise.all(Array.from({ length: burst }, (_, i) => second(i))),
  ]);
  const elapsedSec = (Date.now() - started) / 1000;
  expect(seconds.map((r) => r.status)).to.deep.equal(Array<number>(burst).fill(200));
  const throttled = firsts.filter((r) => r.status === 429);
  const passed = firsts.filter((r) => r.status === 200);
  expect(throttled.length + passed.length, 'only 200 or 429').to.equal(burst);
  expect(throttled.length).to.be.at.least(1);
  // A bucket of one second's worth, refilled at the rate while the burst lasts.
  expect(passed.length).to.be.at.most(rate + Math.ceil(elapsedSec * rate) + 1);
  let waitSec = 0;
  for (const response of throttled) {
    const retryAfter = String(response.headers['retry-after']);
    expect(retryAfter).to.match(/^\d+$/);
    expect(Number(retryAfter)).to.be.at.least(1);
    waitSec = Math.max(waitSec, Number(retryAfter));
  }
  return { throttled, waitSec };
}
