// The service against the emulator, for benchmarks: the test harness (real PostgreSQL, Redis,
// MSAL and HTTPS), with partners whose every customer is a company.
import request from 'supertest';
import type { ScenarioInput } from '../emulator/scenario.js';
import { jobIds } from '../src/queue/catalog.js';
import type { RefreshRun } from '../src/store/refresh-runs.js';
import { testScenario } from '../test/support/emulator.js';
import { startHarness, type Harness } from '../test/support/harness.js';

export interface BenchPartner {
  name: string;
  customers: number;
  /** The emulator's Partner Center limit for this partner, requests per second. */
  limit: number;
}

export const partnerTenant = (index: number) =>
  `dddddddd-0000-4000-8000-${String(index + 1).padStart(12, '0')}`;
const domainOf = (index: number) => `partner${index + 1}.example`;

export function benchScenario(partners: BenchPartner[], latencyMs: number): ScenarioInput {
  return testScenario({
    latencyMs,
    partners: partners.map((p, i) => ({
      tenantId: partnerTenant(i),
      name: p.name,
      domain: domainOf(i),
      users: [{ upn: `admin@${domainOf(i)}`, mfa: true, adminAgent: true }],
      rateLimits: { partnerCenterRps: p.limit },
      customers: { generate: { seed: 100 + i, count: p.customers } },
    })),
  });
}

/**
 * Custom licenses of a bench partner: one counted through Graph in every customer tenant (its
 * licensed users, paged like any user listing) and one fixed, as a partner bills them.
 */
const customLicenseDefinitions = [
  { name: 'Managed users', kind: 'licensed_users' },
  { name: 'Antispam', kind: 'fixed', quantity: 1 },
];

/**
 * Creates scenario partner `index` with its customers as companies; with `customLicenses`, its
 * definitions and a custom-license token (so the first run counts them too); then grants
 * consent, which starts the partner's first run.
 */
export async function consentBenchPartner(
  h: Harness,
  index: number,
  customLicenses: boolean,
): Promise<{ partnerId: string; runId: string }> {
  const spec = h.emulator.state.directory.partner(partnerTenant(index))!;
  const partner = (await h.api('post', '/partners', { name: `Partner ${index + 1}` })).body as {
    id: string;
  };
  // A few at a time: a big partner's hundreds of companies are set up in seconds.
  const customers = [...spec.customers];
  const addNext = async () => {
    for (let c = customers.shift(); c; c = customers.shift()) {
      await h.runtime.services.partners.addCompany(
        partner.id,
        { name: c.name, customerTenantId: c.tenantId },
        'bench',
      );
    }
  };
  await Promise.all(Array.from({ length: 4 }, addNext));
  if (customLicenses) await grantCustomLicenses(h, partner.id, `admin@${domainOf(index)}`);
  await h.grant(partner.id, `admin@${domainOf(index)}`);
  const run = (await h.runtime.services.runs.latest(partner.id))!;
  return { partnerId: partner.id, runId: run.id };
}

async function grantCustomLicenses(h: Harness, partnerId: string, upn: string): Promise<void> {
  for (const definition of customLicenseDefinitions) {
    const res = await h.api('post', `/partners/${partnerId}/custom-licenses`, definition);
    if (res.status !== 201) throw new Error(`custom license answered ${res.status}: ${res.text}`);
  }
  const started = await h.api('post', `/partners/${partnerId}/custom-license-token/consents`, {
    returnTo: '/company/delegated-admin',
    loginHint: upn,
  });
  if (started.status !== 201) throw new Error(`consent answered ${started.status}`);
  const { attemptId, authorizeUrl } = started.body as { attemptId: string; authorizeUrl: string };
  const atMicrosoft = await h.emulator.http.get(authorizeUrl);
  const location = new URL(String(atMicrosoft.headers.location));
  const back = await request(h.app).get(location.pathname + location.search);
  if (back.status !== 303) throw new Error(`callback answered ${back.status}`);
  const outcome = await h.finished('consent', jobIds.exchangeConsentCode(attemptId));
  if (outcome.outcome !== 'completed') {
    throw new Error(`custom-license token not granted: ${JSON.stringify(outcome)}`);
  }
}

export interface BenchStack {
  h: Harness;
  /** Creates each scenario partner with its customers as companies and grants consent. */
  consent(index: number): Promise<{ partnerId: string; runId: string }>;
  /** Sync now; resolves with the run's id. */
  syncNow(partnerId: string): Promise<string>;
  /** The run once it ended, with its duration from start to finish in milliseconds. */
  ended(runId: string): Promise<RefreshRun & { durationMs: number }>;
  close(): Promise<void>;
}

export async function startBenchStack(
  scenario: ScenarioInput,
  env: Record<string, string>,
  customLicenses: boolean,
): Promise<BenchStack> {
  const h = await startHarness(scenario, env, { logLevel: 'warn' });
  return {
    h,
    consent: (index) => consentBenchPartner(h, index, customLicenses),
    async syncNow(partnerId) {
      const res = await h.api('post', `/partners/${partnerId}/refresh`);
      if (res.status !== 202) throw new Error(`sync now answered ${res.status}: ${res.text}`);
      return (res.body as { runId: string }).runId;
    },
    async ended(runId) {
      const run = await completedWithoutFailures(h, runId);
      return { ...run, durationMs: run.finishedAt!.getTime() - run.startedAt.getTime() };
    },
    close: () => h.close(false),
  };
}

/**
 * The run once it ended; throws unless it completed with every customer refreshed: a figure
 * from a run that failed customers measures something else, so it is never stored.
 */
export async function completedWithoutFailures(h: Harness, runId: string): Promise<RefreshRun> {
  const run = await h.runEnded(runId);
  if (run.status !== 'completed' || run.failed > 0) {
    const { failures } = await h.runtime.services.runs.failures(run.partnerId);
    const reasons = [...new Set(failures.map((f) => f.errorMessage))].slice(0, 3).join(' | ');
    throw new Error(
      `run ${runId} ended ${run.status} with ${run.failed} of ${run.total} customers failed: ${reasons}`,
    );
  }
  return run;
}

/** Requests the emulator logged for a partner on a surface between two times (ms). */
export function emulatorCalls(
  h: Harness,
  surface: 'partnerCenter' | 'graph',
  partnerIndex: number,
  from: number,
  to: number,
) {
  return h.emulator.state.log.filter(
    (e) =>
      e.surface === surface &&
      e.partnerTenantId === partnerTenant(partnerIndex) &&
      Date.parse(e.time) >= from &&
      Date.parse(e.time) <= to,
  );
}
