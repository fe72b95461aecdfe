// docs/benchmarks/results.json: every run of every benchmark, appended, never rewritten. A
// run names the commit it measured, its inputs, the machine and its figures; the page shows
// the latest run of each set of inputs.
import { createHash } from 'node:crypto';

export const benchNames = [
  'pacing',
  'fairness',
  'callback',
  'workers',
  'memory',
  'worker-cpu',
  'big-day',
  'storage',
] as const;
export type BenchName = (typeof benchNames)[number];

export interface Machine {
  cpus: string;
  memoryGiB: number;
  node: string;
  /** When the run started, ISO 8601. */
  date: string;
  /** The 1-minute load average as the run started: how busy the machine already was. */
  loadAverage: number;
}

/** What a run was asked to do: sizes, limits, latency, concurrency, custom licenses, runs. */
export type Inputs = Record<string, string | number | boolean | number[]>;

export interface BenchRun<F = unknown, I extends Inputs = Inputs> {
  benchmark: BenchName;
  /** `git rev-parse HEAD` when the run started; null when unknown. */
  commit: string | null;
  /** Whether the code differed from that commit (results and this page aside); null: unknown. */
  dirty: boolean | null;
  command: string;
  inputs: I;
  machine: Machine;
  figures: F;
  /** The chart of this run, a file name under docs/benchmarks/. */
  chart?: string;
}

/** The same inputs give the same key, whatever the order of their names. */
export function inputSetKey(inputs: Inputs): string {
  return JSON.stringify(Object.entries(inputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A short name for a benchmark's input set, for its chart's file. */
export function inputSetId(benchmark: BenchName, inputs: Inputs): string {
  const hash = createHash('sha256').update(inputSetKey(inputs)).digest('hex').slice(0, 8);
  return `${benchmark}-${hash}`;
}

/**
 * The latest run of each input set of `benchmark`, in the order the sets first appeared, so
 * a rerun keeps its row in place.
 */
export function latestPerInputSet<F, I extends Inputs>(
  runs: BenchRun[],
  benchmark: BenchName,
): BenchRun<F, I>[] {
  const latest = new Map<string, BenchRun>();
  for (const run of runs) {
    if (run.benchmark !== benchmark) continue;
    const key = inputSetKey(run.inputs);
    const before = latest.get(key);
    if (!before || Date.parse(run.machine.date) >= Date.parse(before.machine.date)) {
      latest.set(key, run);
    }
  }
  // Which figures a benchmark's runs carry is the benchmark's own type.
  return [...latest.values()] as BenchRun<F, I>[];
}

/** Reads results.json's text: a list of runs. */
export function parseResults(text: string): BenchRun[] {
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) {
    throw new Error('docs/benchmarks/results.json should hold a list of runs');
  }
  return parsed as BenchRun[];
}

/** What a benchmark hands back: the inputs it ran with, its figures and perhaps a chart. */
export interface BenchOutcome<F, I extends Inputs = Inputs> {
  inputs: I;
  figures: F;
  /** An SVG of the run. */
  chart?: string;
}
