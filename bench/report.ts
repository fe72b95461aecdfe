// docs/BENCHMARKS.md, written from the latest stored figures of each benchmark.
import type { FairnessResult } from './fairness.js';
import type { PacingResult } from './pacing.js';

export interface Machine {
  cpus: string;
  memoryGiB: number;
  node: string;
  date: string;
}

interface Stored<F> {
  command: string;
  machine: Machine;
  figures: F;
}

export interface StoredResults {
  pacing?: Stored<Omit<PacingResult, 'chart'>>;
  fairness?: Stored<Omit<FairnessResult, 'chart'>>;
}

const fixed = (n: number, digits = 2) => n.toFixed(digits);
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
const ran = (s: Stored<unknown>) =>
  `Command: \`${s.command}\`. Machine: ${s.machine.cpus}, ${s.machine.memoryGiB} GiB, Node ${s.machine.node}; run ${s.machine.date.slice(0, 16).replace('T', ' ')} UTC.`;

export function benchmarksMarkdown(results: StoredResults): string {
  const out: string[] = [
    '# Benchmarks',
    '',
    'Every figure is a ratio against a floor measured in the same run, so it holds on a noisy',
    'machine. The service runs against the emulator over HTTPS with the real PostgreSQL, Redis',
    'and MSAL (the test harness), in one process. Rerun with `npm run bench` (all) or',
    '`npm run bench -- <name>`; the script rewrites this page and `docs/benchmarks/`.',
    '',
  ];
  const pacing = results.pacing;
  out.push('## 1. Pacing efficiency', '');
  if (pacing) {
    const f = pacing.figures;
    out.push(
      `One partner, ${f.customers} customers, emulator latency ${f.latencyMs} ms, a Partner Center`,
      `limit of ${f.limit} requests/s, our pace set to the same. Floor = requests needed / limit.`,
      '',
      '| Figure | Measured | Goal | |',
      '|---|---|---|---|',
      `| Completion / floor | ${fixed(f.ratio)} (${fixed(f.durationSec, 1)} s / ${fixed(f.floorSec, 1)} s) | ≤ 1.15 | ${verdict(f.ratio <= 1.15)} |`,
      `| Requests answered 429 | ${fixed(f.throttledShare * 100)} % (${f.throttled} of ${f.requests + f.throttled}) | ≤ 1 % | ${verdict(f.throttledShare <= 0.01)} |`,
      '',
      '![Partner Center requests per second during the run](benchmarks/pacing.svg)',
      '',
      ran(pacing),
      '',
    );
  } else {
    out.push('Not run yet: `npm run bench -- pacing`.', '');
  }
  const fairness = results.fairness;
  out.push('## 2. Fairness', '');
  if (fairness) {
    const f = fairness.figures;
    out.push(
      `Partners of ${f.sizes.join(', ')} customers, each with its own emulator limit of ${f.limit}`,
      `requests/s (latency ${f.latencyMs} ms). Each small partner refreshes alone a few times, then`,
      `again and again (a second apart) while the big partner's run goes on (${fixed(f.bigDurationSec, 1)} s). Ratio =`,
      'median time beside the big partner / median time alone.',
      '',
      '| Small partner | Alone | Beside the big one (median, max, runs) | Ratio (median) | Worst | Goal | |',
      '|---|---|---|---|---|---|---|',
      ...f.small.map(
        (s) =>
          `| ${s.customers} customers | ${fixed(s.aloneSec)} s | ${fixed(s.togetherMedianSec)} s, ${fixed(s.togetherMaxSec)} s, ${s.samples} | ${fixed(s.ratio)} | ${fixed(s.worstRatio)} | ≤ 1.5 | ${verdict(s.ratio <= 1.5)} |`,
      ),
      '',
      '![Partner Center requests per second per partner](benchmarks/fairness.svg)',
      '',
      ran(fairness),
      '',
    );
  } else {
    out.push('Not run yet: `npm run bench -- fairness`.', '');
  }
  return out.join('\n');
}
