// npm run bench [-- pacing|fairness ...]: runs the benchmarks (all by default), prints their
// figures and writes them, with charts, to docs/benchmarks/ and docs/BENCHMARKS.md.
import { cpus, totalmem } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fairnessBench } from './fairness.js';
import { pacingBench } from './pacing.js';
import { callbackBench } from './callback.js';
import { memoryBench } from './memory.js';
import { workerOverheadBench } from './worker-overhead.js';
import { benchmarksMarkdown, type Machine, type StoredResults } from './report.js';

const benches = {
  pacing: async (sizes: number[] | undefined) =>
    pacingBench(sizes?.[0] ? { customers: sizes[0] } : {}),
  fairness: async (sizes: number[] | undefined) => fairnessBench(sizes ? { sizes } : {}),
  callback: async () => callbackBench(),
  workers: async (sizes: number[] | undefined) =>
    workerOverheadBench(sizes?.[0] ? { customers: sizes[0] } : {}),
  memory: async (sizes: number[] | undefined) =>
    memoryBench(sizes?.[0] ? { customers: sizes[0] } : {}),
};
type BenchName = keyof typeof benches;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    /** Customers per partner, e.g. --sizes 1000,10 (fairness) or --sizes 1000 (pacing). */
    sizes: { type: 'string' },
    /** Rewrite docs/BENCHMARKS.md from the stored figures, running nothing. */
    'report-only': { type: 'boolean', default: false },
  },
});
const unknown = positionals.filter((p) => !(p in benches));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(benches).join(', ')}\n`,
  );
  process.exit(64);
}
const sizes = values.sizes?.split(',').map(Number);
if (sizes?.some((n) => !Number.isInteger(n) || n < 1)) {
  process.stderr.write('--sizes expects whole numbers of customers, e.g. --sizes 1000,10\n');
  process.exit(64);
}
const selected = (
  values['report-only'] ? [] : positionals.length > 0 ? positionals : Object.keys(benches)
) as BenchName[];

const dir = new URL('../docs/benchmarks/', import.meta.url);
mkdirSync(dir, { recursive: true });
const resultsFile = new URL('results.json', dir);
const stored: StoredResults = existsSync(resultsFile)
  ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as StoredResults)
  : {};
const machine: Machine = {
  cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown'}`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString(),
};

for (const name of selected) {
  process.stdout.write(`${name}: running…\n`);
  const { chart, ...figures } = await benches[name](sizes);
  if (chart) writeFileSync(new URL(`${name}.svg`, dir), chart);
  const command = `npm run bench -- ${name}${values.sizes ? ` --sizes ${values.sizes}` : ''}`;
  Object.assign(stored, { [name]: { command, machine, figures } });
  process.stdout.write(`${name}: ${JSON.stringify(figures, null, 2)}\n`);
  writeFileSync(resultsFile, `${JSON.stringify(stored, null, 2)}\n`);
}
writeFileSync(new URL('../docs/BENCHMARKS.md', import.meta.url), benchmarksMarkdown(stored));
process.stdout.write('wrote docs/BENCHMARKS.md and docs/benchmarks/\n');
process.exit(0);
