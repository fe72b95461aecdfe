// Benchmark 2, fairness: a big partner and small ones refresh at once, each against its own
// limit. Each small partner's refresh time beside the big one, over its time alone.
import { setTimeout } from 'node:timers/promises';
import { perSecond, requestRateChart } from './chart.js';
import { benchScenario, partnerTenant, startBenchStack } from './stack.js';

export interface FairnessResult {
  sizes: number[];
  limit: number;
  latencyMs: number;
  bigDurationSec: number;
  small: {
    customers: number;
    aloneSec: number;
    togetherMedianSec: number;
    togetherMaxSec: number;
    samples: number;
    ratio: number;
    worstRatio: number;
  }[];
  chart: string;
}

/**
 * Between two runs of a small partner: its pacing schedule fills up again, so each run
 * measures the service, not the partner's own limit still spent by the run before.
 */
const pauseMs = 1_000;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function fairnessBench(
  options: { sizes?: number[]; limit?: number; latencyMs?: number; aloneRuns?: number } = {},
): Promise<FairnessResult> {
  const { sizes = [2000, 50, 5], limit = 50, latencyMs = 50, aloneRuns = 3 } = options;
  const stack = await startBenchStack(
    benchScenario(
      sizes.map((customers, i) => ({ name: `Partner ${i + 1}`, customers, limit })),
      latencyMs,
    ),
    { PARTNER_CENTER_REQUESTS_PER_SECOND: String(limit) },
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
    const seconds = Math.ceil(bigRun.durationMs / 1000);
    const chart = requestRateChart(
      `Fairness: partners of ${sizes.join(', ')} customers, each limited to ${limit}/s`,
      sizes.map((customers, i) => ({
        name: `Partner ${i + 1} (${customers})`,
        limit,
        perSecond: perSecond(
          stack.h.emulator.state.log
            .filter((e) => e.surface === 'partnerCenter' && e.partnerTenantId === partnerTenant(i))
            .map((e) => Date.parse(e.time)),
          start,
          seconds,
        ),
      })),
    );
    return {
      sizes,
      limit,
      latencyMs,
      bigDurationSec: bigRun.durationMs / 1000,
      small: small.map((s) => {
        const aloneMs = median(s.alone);
        return {
          customers: sizes[s.index]!,
          aloneSec: aloneMs / 1000,
          togetherMedianSec: median(s.together) / 1000,
          togetherMaxSec: Math.max(...s.together) / 1000,
          samples: s.together.length,
          ratio: median(s.together) / aloneMs,
          worstRatio: Math.max(...s.together) / aloneMs,
        };
      }),
      chart,
    };
  } finally {
    await stack.close();
  }
}
