// The big day's arithmetic, apart from the run that feeds it: floors, ratios and their
// distribution, Redis bytes per queued job, the trend of a sampled series, and how often each
// customer was read.
import { trendPerStep } from './stats.js';

/**
 * Seconds a partner's limit alone requires for `requests`: the emulator lets `burst` requests
 * through at once (a second's worth), then one every 1/limit s.
 */
export function floorSeconds(requests: number, burst: number, limit: number): number {
  return Math.max(0, requests - burst) / limit;
}

/** The value below which a share `p` (0 to 1) of the values lies, linearly interpolated. */
export function quantile(values: number[], p: number): number {
  if (values.length === 0) throw new Error('no values');
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * p;
  const below = Math.floor(at);
  const above = Math.ceil(at);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (at - below);
}

export interface RatioDistribution {
  max: number;
  p95: number;
  median: number;
  /** How many are at or below the goal, of how many. */
  withinGoal: number;
  count: number;
  /** Left out: no floor (every request fitted in the burst), so no ratio. */
  withoutFloor: number;
}

/** Of finish / floor ratios; a null one (a floor of 0) is counted apart. */
export function ratioDistribution(ratios: (number | null)[], goal: number): RatioDistribution {
  const known = ratios.filter((r): r is number => r !== null);
  return {
    max: Math.max(...known),
    p95: quantile(known, 0.95),
    median: quantile(known, 0.5),
    withinGoal: known.filter((r) => r <= goal).length,
    count: known.length,
    withoutFloor: ratios.length - known.length,
  };
}

/** finish / floor; null when the floor is 0 (every request within the burst). */
export function overFloor(finishSec: number, floorSec: number): number | null {
  return floorSec > 0 ? finishSec / floorSec : null;
}

/** The `n` entries with the highest `ratio`, highest first; those without one left out. */
export function worst<T extends { ratio: number | null }>(entries: T[], n: number): T[] {
  return entries
    .filter((e) => e.ratio !== null)
    .sort((a, b) => b.ratio! - a.ratio!)
    .slice(0, n);
}

export interface QueueSample {
  /** Milliseconds since the day started. */
  atMs: number;
  /** Customer jobs waiting, prioritized, delayed or active. */
  queued: number;
  /** INFO memory used_memory, bytes. */
  usedMemory: number;
}

/**
 * Redis bytes per queued job at the sample with the most jobs queued: what that sample holds
 * beyond `baseline` (the same Redis before the day), over the jobs queued then.
 */
export function bytesPerQueuedJob(
  samples: QueueSample[],
  baseline: number,
): { peakQueued: number; usedAtPeak: number; bytesPerJob: number } | null {
  let peak: QueueSample | undefined;
  for (const s of samples) if (!peak || s.queued > peak.queued) peak = s;
  if (!peak || peak.queued === 0) return null;
  return {
    peakQueued: peak.queued,
    usedAtPeak: peak.usedMemory,
    bytesPerJob: (peak.usedMemory - baseline) / peak.queued,
  };
}

export interface SeriesSummary {
  first: number;
  last: number;
  max: number;
  /** Least-squares slope over the second half of the samples, per minute. */
  secondHalfTrendPerMinute: number;
}

/**
 * First, last and highest of a series sampled every `intervalMs`, and its trend over the
 * second half, after start-up growth (JIT, pools, caches) has settled.
 */
export function seriesSummary(values: number[], intervalMs: number): SeriesSummary {
  if (values.length === 0) throw new Error('no samples');
  const half = values.slice(Math.floor(values.length / 2));
  return {
    first: values[0]!,
    last: values.at(-1)!,
    max: Math.max(...values),
    secondHalfTrendPerMinute: trendPerStep(half) * (60_000 / intervalMs),
  };
}

export interface ReadCounts {
  expected: number;
  once: number;
  never: number;
  moreThanOnce: number;
  /** Reads of customers that were not expected. */
  unexpected: number;
}

/** How many times each expected customer was read, from reads per customer. */
export function readCounts(expected: Iterable<string>, reads: Map<string, number>): ReadCounts {
  const wanted = new Set(expected);
  const counts: ReadCounts = {
    expected: wanted.size,
    once: 0,
    never: 0,
    moreThanOnce: 0,
    unexpected: 0,
  };
  for (const id of wanted) {
    const n = reads.get(id) ?? 0;
    if (n === 0) counts.never += 1;
    else if (n === 1) counts.once += 1;
    else counts.moreThanOnce += 1;
  }
  for (const [id, n] of reads) if (!wanted.has(id)) counts.unexpected += n;
  return counts;
}
