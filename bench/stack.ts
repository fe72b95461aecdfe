// The service against the emulator, for benchmarks: the test harness (real PostgreSQL, Redis,
// MSAL and HTTPS), with partners whose every customer is a company.
import type { ScenarioInput } from '../emulator/scenario.js';
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
): Promise<BenchStack> {
  const h = await startHarness(scenario, env, { logLevel: 'warn' });
  return {
    h,
    async consent(index) {
      const spec = h.emulator.state.directory.partner(partnerTenant(index))!;
      const partner = (await h.api('post', '/partners', { name: `Partner ${index + 1}` })).body as {
        id: string;
      };
      for (const c of spec.customers) {
        await h.runtime.services.partners.addCompany(
          partner.id,
          { name: c.name, customerTenantId: c.tenantId },
          'bench',
        );
      }
      await h.grant(partner.id, `admin@${domainOf(index)}`);
      const run = (await h.runtime.services.runs.latest(partner.id))!;
      return { partnerId: partner.id, runId: run.id };
    },
    async syncNow(partnerId) {
      const res = await h.api('post', `/partners/${partnerId}/refresh`);
      if (res.status !== 202) throw new Error(`sync now answered ${res.status}: ${res.text}`);
      return (res.body as { runId: string }).runId;
    },
    async ended(runId) {
      const run = await h.runEnded(runId);
      if (run.status !== 'completed') throw new Error(`run ${runId} ended ${run.status}`);
      return { ...run, durationMs: run.finishedAt!.getTime() - run.startedAt.getTime() };
    },
    close: () => h.close(false),
  };
}
