// Benchmark 1, pacing efficiency: one partner refreshes all its customers against its
// Partner Center limit. Floor = requests needed / limit: no pacer can finish sooner. The run
// measured is the partner's first, so the requests include one provisioning status per
// subscription whose SKU is not yet known (later runs ask for none of them).
import { requestRateChart, perSecond } from './chart.js';
import { benchScenario, partnerTenant, startBenchStack } from './stack.js';

export interface PacingResult {
  customers: number;
  limit: number;
  latencyMs: number;
  durationSec: number;
  /** Partner Center requests answered (not 429) during the run, all kinds. */
  requests: number;
  /** Of them, provisioning-status calls (one per subscription whose SKU was resolved). */
  provisioningRequests: number;
  throttled: number;
  floorSec: number;
  ratio: number;
  throttledShare: number;
  chart: string;
}

export async function pacingBench(
  options: { customers?: number; limit?: number; latencyMs?: number } = {},
): Promise<PacingResult> {
  const { customers = 1000, limit = 50, latencyMs = 50 } = options;
  const stack = await startBenchStack(
    benchScenario([{ name: 'Partner 1', customers, limit }], latencyMs),
    { PARTNER_CENTER_REQUESTS_PER_SECOND: String(limit) },
  );
  try {
    const { runId } = await stack.consent(0);
    const run = await stack.ended(runId);
    const start = run.startedAt.getTime();
    const end = run.finishedAt!.getTime();
    const calls = stack.h.emulator.state.log.filter(
      (e) =>
        e.surface === 'partnerCenter' &&
        e.partnerTenantId === partnerTenant(0) &&
        Date.parse(e.time) >= start &&
        Date.parse(e.time) <= end,
    );
    const throttled = calls.filter((e) => e.status === 429).length;
    const requests = calls.length - throttled;
    const provisioningRequests = calls.filter(
      (e) => e.status !== 429 && e.path.endsWith('/provisioningstatus'),
    ).length;
    const floorSec = requests / limit;
    const durationSec = run.durationMs / 1000;
    const chart = requestRateChart(
      `Pacing: ${customers} customers, limit ${limit}/s, ${latencyMs} ms latency`,
      [
        {
          name: `Partner 1 (${customers})`,
          limit,
          perSecond: perSecond(
            calls.map((e) => Date.parse(e.time)),
            start,
            Math.ceil(durationSec),
          ),
        },
      ],
    );
    return {
      customers,
      limit,
      latencyMs,
      durationSec,
      requests,
      provisioningRequests,
      throttled,
      floorSec,
      ratio: durationSec / floorSec,
      throttledShare: throttled / calls.length,
      chart,
    };
  } finally {
    await stack.close();
  }
}
