// Benchmark 1, pacing efficiency: one partner refreshes all its customers against its
// Partner Center limit and our Graph pace. Floor = the larger of (Partner Center requests −
// the emulator's burst) / limit and Graph requests / our Graph pace: no pacer can finish sooner. The run measured is the partner's first, so the requests include one
// provisioning status per subscription whose SKU is not yet known (later runs ask for none).
import { defaultQueueTuning } from '../config/index.js';
import { TokenBucket } from '../emulator/throttle.js';
import { requestRateChart, perSecond } from './chart.js';
import type { BenchOutcome } from './results.js';
import { benchScenario, emulatorCalls, startBenchStack } from './stack.js';

export type PacingInputs = {
  customers: number;
  limit: number;
  latencyMs: number;
  concurrency: number;
  customLicenses: boolean;
  graphRps: number;
  runs: number;
};

export interface PacingFigures {
  durationSec: number;
  /** Partner Center requests answered (not 429) during the run, all kinds. */
  requests: number;
  /** Of them, provisioning-status calls (one per subscription whose SKU was resolved). */
  provisioningRequests: number;
  throttled: number;
  /** Requests the emulator lets through at once before its limit applies. */
  burst: number;
  /** (Partner Center requests − burst) / limit. */
  partnerCenterFloorSec?: number;
  /** Graph requests / our Graph pace per partner. */
  graphFloorSec?: number;
  /** The larger of the two: no pacer keeping both paces can finish sooner. */
  floorSec: number;
  ratio: number;
  throttledShare: number;
  /** Graph requests answered during the run (custom-license counts). */
  graphRequests: number;
  graphThrottled: number;
}

export interface PacingOptions {
  customers?: number;
  limit?: number;
  latencyMs?: number;
  customLicenses?: boolean;
  /** Our Graph pace per partner (GRAPH_REQUESTS_PER_SECOND). Default: 20, the service's */
  graphRps?: number;
}

export async function pacingBench(
  options: PacingOptions = {},
): Promise<BenchOutcome<PacingFigures, PacingInputs>> {
  const { customers = 1000, limit = 50, latencyMs = 50, customLicenses = true } = options;
  const { graphRps = 20 } = options;
  const concurrency = defaultQueueTuning.refreshConcurrency;
  // The emulator's per-partner bucket (emulator/state.ts throttle()) starts full: a second's
  // worth of requests may go at once before the limit bites.
  const burst = TokenBucket.perSecond(limit).capacity;
  const stack = await startBenchStack(
    benchScenario([{ name: 'Partner 1', customers, limit }], latencyMs),
    {
      PARTNER_CENTER_REQUESTS_PER_SECOND: String(limit),
      GRAPH_REQUESTS_PER_SECOND: String(graphRps),
    },
    customLicenses,
  );
  try {
    const { runId } = await stack.consent(0);
    const run = await stack.ended(runId);
    const start = run.startedAt.getTime();
    const end = run.finishedAt!.getTime();
    const calls = emulatorCalls(stack.h, 'partnerCenter', 0, start, end);
    const graph = emulatorCalls(stack.h, 'graph', 0, start, end);
    const throttled = calls.filter((e) => e.status === 429).length;
    const requests = calls.length - throttled;
    const graphThrottled = graph.filter((e) => e.status === 429).length;
    const provisioningRequests = calls.filter(
      (e) => e.status !== 429 && e.path.endsWith('/provisioningstatus'),
    ).length;
    const graphRequests = graph.length - graphThrottled;
    const partnerCenterFloorSec = Math.max(0, requests - burst) / limit;
    const graphFloorSec = graphRequests / graphRps;
    const floorSec = Math.max(partnerCenterFloorSec, graphFloorSec);
    const durationSec = run.durationMs / 1000;
    const seconds = Math.ceil(durationSec);
    const times = (entries: typeof calls) => entries.map((e) => Date.parse(e.time));
    const chart = requestRateChart(
      `Pacing: ${customers} customers, limit ${limit}/s, ${latencyMs} ms latency`,
      [
        {
          name: `Partner Center (${customers})`,
          limit,
          perSecond: perSecond(times(calls), start, seconds),
        },
        ...(customLicenses
          ? [{ name: 'Graph', limit: graphRps, perSecond: perSecond(times(graph), start, seconds) }]
          : []),
      ],
    );
    return {
      inputs: { customers, limit, latencyMs, concurrency, customLicenses, graphRps, runs: 1 },
      figures: {
        durationSec,
        requests,
        provisioningRequests,
        throttled,
        burst,
        partnerCenterFloorSec,
        graphFloorSec,
        floorSec,
        ratio: durationSec / floorSec,
        throttledShare: calls.length ? throttled / calls.length : 0,
        graphRequests,
        graphThrottled,
      },
      chart,
    };
  } finally {
    await stack.close();
  }
}
