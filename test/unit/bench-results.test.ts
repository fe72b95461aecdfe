import { expect } from 'chai';
import { benchmarksMarkdown } from '../../bench/report.js';
import { inputSetKey, latestPerInputSet, type BenchRun } from '../../bench/results.js';
import { spread, trendPerStep } from '../../bench/stats.js';

const machine = (date: string) => ({
  cpus: '2 × Test CPU',
  memoryGiB: 8,
  node: 'v20.0.0',
  date,
  loadAverage: 0.5,
});

function fairnessRun(commit: string, date: string, sizes: number[], ratio: number): BenchRun {
  return {
    benchmark: 'fairness',
    commit,
    dirty: false,
    command: `npm run bench -- fairness --sizes ${sizes.join(',')}`,
    inputs: {
      sizes,
      limit: 50,
      latencyMs: 50,
      concurrency: 10,
      customLicenses: true,
      graphRps: 20,
      aloneRuns: 7,
    },
    machine: machine(date),
    figures: {
      bigDurationSec: 12,
      small: [
        {
          customers: sizes[1],
          aloneSec: [1, 1, 1, 1, 1, 1, 1],
          together: { median: ratio, q1: ratio, q3: ratio, min: ratio, max: 2.5, samples: 9 },
          ratio,
          worstRatio: 2.5,
        },
      ],
    },
  };
}

describe('benchmark results', () => {
  it('summarises a sample by its median, quartiles and extremes', () => {
    expect(spread([5, 1, 3])).to.deep.equal({
      median: 3,
      q1: 2,
      q3: 4,
      min: 1,
      max: 5,
      samples: 3,
    });
    expect(spread([4, 1, 3, 2]).median).to.equal(2.5);
    expect(() => spread([])).to.throw(/no values/);
  });

  it('takes the trend of a series as its least-squares slope per step', () => {
    expect(trendPerStep([10, 12, 14, 16])).to.equal(2);
    // One high first value is not a trend; first-versus-last would call it a fall of 10.
    expect(trendPerStep([20, 10, 10, 10, 10])).to.be.closeTo(-2, 1e-9);
    expect(trendPerStep([7])).to.equal(0);
  });

  it('keys inputs by their values whatever the order of their names', () => {
    expect(inputSetKey({ a: 1, b: [2, 3] })).to.equal(inputSetKey({ b: [2, 3], a: 1 }));
    expect(inputSetKey({ a: 1, b: [2, 3] })).to.not.equal(inputSetKey({ a: 1, b: [2, 4] }));
  });

  it('keeps the latest run of each input set, in the order the sets first appeared', () => {
    const runs = [
      fairnessRun('aaaa', '2026-01-01T00:00:00Z', [2000, 50, 5], 1.1),
      fairnessRun('bbbb', '2026-01-02T00:00:00Z', [1000, 10], 0.9),
      fairnessRun('cccc', '2026-01-03T00:00:00Z', [2000, 50, 5], 1.2),
      { ...fairnessRun('dddd', '2026-01-04T00:00:00Z', [9, 1], 1), benchmark: 'pacing' as const },
    ];
    expect(latestPerInputSet(runs, 'fairness').map((r) => r.commit)).to.deep.equal([
      'cccc',
      'bbbb',
    ]);
  });

  it("shows each input set's latest figures beside the commit and date they come from", () => {
    const page = benchmarksMarkdown([
      fairnessRun('aaaaaaaaaaaaaaaa', '2026-01-01T00:00:00Z', [2000, 50, 5], 1.11),
      fairnessRun('bbbbbbbbbbbbbbbb', '2026-01-02T10:30:00Z', [1000, 10], 0.97),
      fairnessRun('cccccccccccccccc', '2026-01-03T08:15:00Z', [2000, 50, 5], 1.23),
    ]);
    expect(page).to.contain('### Sizes 2000, 50, 5: `cccccccccc`, 2026-01-03 08:15 UTC');
    expect(page).to.contain('### Sizes 1000, 10: `bbbbbbbbbb`, 2026-01-02 10:30 UTC');
    expect(page).to.contain('| 1.23 | met | 2.50 |');
    expect(page).to.contain('| 0.97 | met | 2.50 |');
    expect(page).to.not.contain('1.11');
    expect(page).to.not.contain('aaaaaaaaaa');
    expect(page).to.contain('Not run yet: `npm run bench -- pacing`.');
  });

  it("judges the big day's figures against their goals", () => {
    const run: BenchRun = {
      benchmark: 'big-day',
      commit: 'eeeeeeeeeeeeeeee',
      dirty: false,
      command: 'npm run bench -- big-day --sizes 2,100,1,10 --limit 3',
      inputs: {
        partners: 2,
        customers: 100,
        smallPartners: 1,
        smallCustomers: 10,
        limit: 3,
        latencyMs: 50,
        concurrency: 10,
        soloRuns: 3,
      },
      machine: machine('2026-01-05T00:00:00Z'),
      figures: {
        daySec: 70,
        customersPerSec: 3,
        requestsPerSec: 6,
        loadAverage: [1.5, 1.7],
        finish: { max: 1.08, p95: 1.07, median: 1.02, withinGoal: 2, count: 3, withoutFloor: 0 },
        worstPartners: [
          { partner: 1, customers: 100, requests: 203, floorSec: 66.7, finishSec: 72, ratio: 1.08 },
        ],
        small: [
          {
            partner: 3,
            customers: 10,
            soloSec: [6, 7, 6.5],
            daySec: 7.5,
            ratio: 1.15,
            finishOverFloor: 1.2,
          },
        ],
        redis: { baselineMiB: 4, peakQueued: 200, usedAtPeakMiB: 4.4, bytesPerQueuedJob: 2100 },
        postgres: { beforeMiB: 13, afterMiB: 13.4, bytesPerCustomer: 1950 },
        workerRssMiB: {
          first: 180,
          last: 182,
          max: 190,
          secondHalfTrendPerMinute: 0.1,
          samples: 70,
          intervalMs: 1000,
        },
        reads: { expected: 210, once: 210, never: 0, moreThanOnce: 0, unexpected: 0 },
        throttled: {},
      },
    };
    const page = benchmarksMarkdown([run]);
    expect(page).to.contain('### 2 partners × 100 customers and 1 × 10: `eeeeeeeeee`');
    expect(page).to.contain('| Finish / floor, max | 1.08 | ≤ 1.05: **missed** |');
    expect(page).to.contain('7.50 s / 6.50 s (alone 6.00, 7.00, 6.50 s) = 1.15 | ≤ 1.2: met |');
    expect(page).to.contain('210 once, 0 never, 0 more than once, of 210 | each once: met |');
    expect(page).to.contain('| 429 answered | none | none: met |');
  });
});
