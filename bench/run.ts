// npm run bench [-- pacing|fairness|callback|workers|memory|worker-cpu|big-day|storage ...]
// [--sizes ...] [--runs n] [--limit n[,n...]] [--workers n,...] [--no-custom-licenses]
// [--custom-licenses] [--report-only]: runs the benchmarks (all but big-day by default),
// appends each run to docs/benchmarks/results.json and rewrites docs/BENCHMARKS.md from that
// file.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bigDayBench } from './big-day.js';
import { callbackBench } from './callback.js';
import { fairnessBench } from './fairness.js';
import { memoryBench } from './memory.js';
import { pacingBench } from './pacing.js';
import { benchmarksMarkdown } from './report.js';
import {
  benchNames,
  inputSetId,
  parseResults,
  type BenchName,
  type BenchOutcome,
  type BenchRun,
  type Machine,
} from './results.js';
import { storageBench } from './storage.js';
import { workerCpuBench } from './worker-cpu.js';
import { workerScalingBench } from './worker-scaling.js';
import { workerOverheadBench } from './worker-overhead.js';

interface Asked {
  sizes: number[] | undefined;
  runs: number | undefined;
  limits: number[] | undefined;
  customLicenses: boolean;
  /** --custom-licenses: asked for where they are off by default (worker-cpu). */
  customLicensesAsked: boolean;
  /** worker-cpu: worker process counts to measure one after another. */
  workers: number[] | undefined;
}

const benches: Record<BenchName, (asked: Asked) => Promise<BenchOutcome<unknown>>> = {
  pacing: ({ sizes, customLicenses }) => pacingBench({ customers: sizes?.[0], customLicenses }),
  fairness: ({ sizes, runs, customLicenses }) =>
    fairnessBench({ sizes, aloneRuns: runs, customLicenses }),
  // --sizes: requests per run; --runs: floor-then-service pairs.
  callback: ({ sizes, runs }) => callbackBench({ requestsPerRun: sizes?.[0], pairs: runs }),
  workers: ({ sizes, customLicenses }) =>
    workerOverheadBench({ customers: sizes?.[0], customLicenses }),
  memory: ({ sizes, runs, customLicenses }) =>
    memoryBench({ customers: sizes?.[0], runs, customLicenses }),
  // Off unless asked: it measures the two Partner Center calls of a customer.
  'worker-cpu': ({ sizes, runs, customLicenses, customLicensesAsked, workers }) =>
    workers
      ? workerScalingBench({
          workers,
          customers: sizes?.[0],
          runs,
          customLicenses: customLicenses && customLicensesAsked,
        })
      : workerCpuBench({
          customers: sizes?.[0],
          runs,
          customLicenses: customLicenses && customLicensesAsked,
        }),
  // --sizes partners,customers[,small partners,their customers]; --runs: solo runs of each small one.
  'big-day': ({ sizes, runs, limits }) =>
    bigDayBench({
      partners: sizes?.[0],
      customers: sizes?.[1],
      smallPartners: sizes?.[2],
      smallCustomers: sizes?.[3],
      soloRuns: runs,
      limits,
    }),
  // --sizes: customers; --runs: daily runs after the warm-up (default 30).
  storage: ({ sizes, runs }) => storageBench({ customers: sizes?.[0], runs }),
};
/** Run when no benchmark is named: not the big day, which takes an hour at its full size. */
const defaultBenches = benchNames.filter((name) => name !== 'big-day');

const usage = `npm run bench -- [${benchNames.join('|')} ...] [options]
  --sizes n[,n...]        customers per partner (fairness: big first, e.g. 1000,10);
                          callback: requests per run; big-day: partners,customers[,small
                          partners,their customers] (default 200,500,3,10)
  --runs n                fairness: runs alone per small partner (default 7);
                          callback: floor-then-service pairs (default 5); memory: runs (default 5);
                          worker-cpu: measured runs (default 2), besides the profiled one;
                          big-day: runs alone per small partner (default 3);
                          storage: daily runs after the warm-up (default 30)
  --limit n[,n...]        big-day: Partner Center requests per second per partner, taken by the
                          partners in turn, each at least 2 (default 3,4)
  --no-custom-licenses    no custom-license definitions or token (pacing, fairness, workers, memory)
  --custom-licenses       worker-cpu with custom licenses (default off)
  --workers n[,n...]      worker-cpu: the same run on n worker processes, each count in turn
                          (e.g. 1,2,3), with PostgreSQL lock waits; --runs: measured runs each
                          (default 1); no profile
  --report-only           rewrite docs/BENCHMARKS.md from results.json, running nothing
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${usage}`);
  process.exit(64);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    sizes: { type: 'string' },
    runs: { type: 'string' },
    limit: { type: 'string' },
    'no-custom-licenses': { type: 'boolean', default: false },
    'custom-licenses': { type: 'boolean', default: false },
    'report-only': { type: 'boolean', default: false },
    workers: { type: 'string' },
  },
});
const unknown = positionals.filter((p) => !(benchNames as readonly string[]).includes(p));
if (unknown.length > 0) fail(`unknown benchmark ${unknown.join(', ')}`);
const sizes = values.sizes?.split(',').map(Number);
if (sizes?.some((n) => !Number.isInteger(n) || n < 1)) {
  fail('--sizes expects whole numbers, e.g. --sizes 1000,10');
}
const runs = values.runs === undefined ? undefined : Number(values.runs);
if (runs !== undefined && (!Number.isInteger(runs) || runs < 1)) {
  fail('--runs expects a whole number of runs, e.g. --runs 7');
}
const limits = values.limit?.split(',').map(Number);
// A customer's two calls go together: the emulator's bucket must hold them.
if (limits?.some((n) => !(n >= 2))) {
  fail('--limit expects requests per second of at least 2, e.g. --limit 2,3');
}
const workers = values.workers?.split(',').map(Number);
if (workers?.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) {
  fail('--workers expects worker process counts from 1 to 16, e.g. --workers 1,2,3');
}
const asked: Asked = {
  sizes,
  runs,
  limits,
  customLicenses: !values['no-custom-licenses'],
  customLicensesAsked: values['custom-licenses'],
  workers,
};
const selected = (
  values['report-only'] ? [] : positionals.length > 0 ? positionals : defaultBenches
) as BenchName[];

const dir = new URL('../docs/benchmarks/', import.meta.url);
mkdirSync(dir, { recursive: true });
const resultsFile = new URL('results.json', dir);
const stored: BenchRun[] = existsSync(resultsFile)
  ? parseResults(readFileSync(resultsFile, 'utf8'))
  : [];

/** The commit checked out, and whether the code differs from it (results and page aside). */
function gitState(): { commit: string | null; dirty: boolean | null } {
  const git = (...args: string[]) =>
    execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git('rev-parse', 'HEAD');
    const changes = git(
      'status',
      '--porcelain',
      '--',
      '.',
      ':!docs/benchmarks',
      ':!docs/BENCHMARKS.md',
    );
    return { commit, dirty: changes.length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}
const { commit, dirty } = gitState();
const extra = process.argv.slice(2).filter((a) => !(benchNames as readonly string[]).includes(a));

for (const name of selected) {
  process.stdout.write(`${name}: running…\n`);
  const machine: Machine = {
    cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown'}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  };
  const { inputs, figures, chart } = await benches[name](asked);
  const run: BenchRun = {
    benchmark: name,
    commit,
    dirty,
    command: ['npm run bench --', name, ...extra].join(' '),
    inputs,
    machine,
    figures,
  };
  if (chart) {
    run.chart = `${inputSetId(name, inputs)}.svg`;
    writeFileSync(new URL(run.chart, dir), chart);
  }
  stored.push(run);
  process.stdout.write(`${name}: ${JSON.stringify({ inputs, figures }, null, 2)}\n`);
  writeFileSync(resultsFile, `${JSON.stringify(stored, null, 2)}\n`);
}
writeFileSync(new URL('../docs/BENCHMARKS.md', import.meta.url), benchmarksMarkdown(stored));
process.stdout.write('wrote docs/BENCHMARKS.md and docs/benchmarks/\n');
process.exit(0);
