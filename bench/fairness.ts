// Benchmark 2, fairness: a big partner and small ones refresh at once, each against its own
// limit. Each small partner's refresh time beside the big one, over its time alone.
import { setTimeout } from 'node:timers/promises';
import { defaultQueueTuning } from '../config/index.js';
import { perSecond, requestRateChart } from './chart.js';
import type { BenchOutcome } from './results.js';
import { benchScenario, emulatorCalls, startBenchStack } from './stack.js';
import { median, spread, type Spread } from './stats.js';

export type FairnessInputs = {
  sizes: number[];
  limit: number;
  latencyMs: number;
  concurrency: number;
  customLicenses: boolean;
  graphRps: number;
  aloneRuns: number;
};

export interface FairnessFigures {
  bigDurationSec: number;
  small: {
    customers: number;
    /** Every run alone, seconds, in order. */
    aloneSec: number[];
    /** Runs beside the big partner, seconds. */
    together: Spread;
    /** Median beside / median alone: the verdict's figure. */
    ratio: number;
    /** Slowest run beside / median alone. */
    worstRatio: number;
  }[];
}

/**
 * Between two runs of a small partner: its pacing schedule fills up again, so each run
 * measures the service, not the partner's own limit still spent by the run before.
 */
const pauseMs = 1_000;

export interface FairnessOptions {
  sizes?: number[];
  limit?: number;
  latencyMs?: number;
  /** Runs of each small partner alone, before the big one starts. Default: 7 */
  aloneRuns?: number;
  customLicenses?: boolean;
  /** Our Graph pace per partner (GRAPH_REQUESTS_PER_SECOND). Default: 20, the service's */
  graphRps?: number;
}

export async function fairnessBench(
  options: FairnessOptions = {},
): Promise<BenchOutcome<FairnessFigures, FairnessInputs>> {
  const { sizes = [2000, 50, 5], limit = 50, latencyMs = 50, aloneRuns = 7 } = options;
  const { customLicenses = true, graphRps = 20 } = options;
  const concurrency = defaultQueueTuning.refreshConcurrency;
  const stack = await startBenchStack(
    benchScenario(
      sizes.map((customers, i) => ({ name: `Partner ${i + 1}`, customers, limit })),
      latencyMs,
    ),
    {
      PARTNER_CENTER_REQUESTS_PER_SECOND: String(limit),
      GRAPH_REQUESTS_PER_SECOND: String(graphRps),
    },
    customLicenses,
  );
  try {
    // The small partners first: their consents' runs, then their times alone.
    const smallIndexes = sizes.map((_, i) => i).slice(1);
    const small = [];
    for (const i of smallIndexes) {
      const { partnerId, runId } = await stack.consent(i);
      await stack.ended(runId);
      const alone: number[] = [];
      for (let r = 0; r < aloneRuns; r++) {
        await setTimeout(pauseMs);
        alone.push((await stack.ended(await stack.syncNow(partnerId))).durationMs);
      }
      small.push({ index: i, partnerId, alone, together: [] as number[] });
    }
    // The big partner's consent starts its run; the small ones refresh again and again
    // until it ends.
    const { runId: bigRunId } = await stack.consent(0);
    let bigEnded = false;
    const big = stack.ended(bigRunId).finally(() => (bigEnded = true));
    await Promise.all(
      small.map(async (s) => {
        while (!bigEnded) {
          await setTimeout(pauseMs);
          const run = await stack.ended(await stack.syncNow(s.partnerId));
          if (!bigEnded) s.together.push(run.durationMs);
        }
      }),
    );
    const bigRun = await big;
    const start = bigRun.startedAt.getTime();
    const end = bigRun.finishedAt!.getTime();
    const seconds = Math.ceil(bigRun.durationMs / 1000);
    const chart = requestRateChart(
      `Fairness: partners of ${sizes.join(', ')} customers, each limited to ${limit}/s`,
      sizes.map((customers, i) => ({
        name: `Partner ${i + 1} (${customers})`,
        limit,
        perSecond: perSecond(
          emulatorCalls(stack.h, 'partnerCenter', i, start, end).map((e) => Date.parse(e.time)),
          start,
          seconds,
        ),
      })),
    );
    const missing = small.find((s) => s.together.length === 0);
    if (missing) {
      throw new Error(
        `partner of ${sizes[missing.index]} customers never finished a run beside the big one: make the big partner bigger`,
      );
    }
    return {
      inputs: { sizes, limit, latencyMs, concurrency, customLicenses, graphRps, aloneRuns },
      figures: {
        bigDurationSec: bigRun.durationMs / 1000,
        small: small.map((s) => {
          const aloneMs = median(s.alone);
          const together = spread(s.together.map((ms) => ms / 1000));
          return {
            customers: sizes[s.index]!,
            aloneSec: s.alone.map((ms) => ms / 1000),
            together,
            ratio: (together.median * 1000) / aloneMs,
            worstRatio: (together.max * 1000) / aloneMs,
          };
        }),
      },
      chart,
    };
  } finally {
    await stack.close();
  }
}
