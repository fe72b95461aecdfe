import { expect } from 'chai';
import {
  bytesPerQueuedJob,
  floorSeconds,
  overFloor,
  quantile,
  ratioDistribution,
  readCounts,
  seriesSummary,
  worst,
} from '../../bench/big-day-figures.js';

describe('big-day figures', () => {
  it('floors a partner at the requests beyond its burst over its limit', () => {
    expect(floorSeconds(1002, 2, 2)).to.equal(500);
    expect(floorSeconds(21, 3, 3)).to.equal(6);
    // All within the burst: no floor.
    expect(floorSeconds(3, 5, 5)).to.equal(0);
  });

  it('gives no ratio over a floor of 0', () => {
    expect(overFloor(105, 100)).to.equal(1.05);
    expect(overFloor(1, 0)).to.equal(null);
  });

  it('interpolates quantiles between sorted values', () => {
    expect(quantile([5, 1, 3], 0.5)).to.equal(3);
    expect(quantile([1, 2, 3, 4], 0.5)).to.equal(2.5);
    expect(quantile([10, 20], 0.95)).to.be.closeTo(19.5, 1e-9);
  });

  it('summarises ratios against the goal, counting those without a floor apart', () => {
    const d = ratioDistribution([1.01, 1.04, 1.2, null, 1.02], 1.05);
    expect(d).to.deep.include({ max: 1.2, median: 1.03, withinGoal: 3, count: 4, withoutFloor: 1 });
    expect(d.p95).to.be.closeTo(1.1764, 1e-3);
  });

  it('lists the worst partners first, leaving out those without a ratio', () => {
    const entries = [
      { partner: 1, ratio: 1.02 },
      { partner: 2, ratio: null },
      { partner: 3, ratio: 1.3 },
      { partner: 4, ratio: 1.1 },
    ];
    expect(worst(entries, 2).map((e) => e.partner)).to.deep.equal([3, 4]);
  });

  it('divides what Redis holds beyond its baseline at the most queued jobs by them', () => {
    const samples = [
      { atMs: 0, queued: 10, usedMemory: 1_100_000 },
      { atMs: 1000, queued: 1000, usedMemory: 3_000_000 },
      { atMs: 2000, queued: 400, usedMemory: 3_200_000 },
    ];
    expect(bytesPerQueuedJob(samples, 1_000_000)).to.deep.equal({
      peakQueued: 1000,
      usedAtPeak: 3_000_000,
      bytesPerJob: 2000,
    });
    expect(bytesPerQueuedJob([{ atMs: 0, queued: 0, usedMemory: 5 }], 1)).to.equal(null);
  });

  it("takes a series' trend per minute over its second half", () => {
    // Growth at start-up, then flat.
    const s = seriesSummary([100, 150, 180, 180, 180, 180], 1000);
    expect(s).to.deep.equal({ first: 100, last: 180, max: 180, secondHalfTrendPerMinute: 0 });
    // 1 MiB per 2 s sample in the second half: 30 MiB a minute.
    expect(seriesSummary([1, 2, 3, 4], 2000).secondHalfTrendPerMinute).to.equal(30);
  });

  it('counts customers read once, never, more than once, and reads of others', () => {
    const reads = new Map([
      ['a', 1],
      ['b', 2],
      ['x', 3],
    ]);
    expect(readCounts(['a', 'b', 'c'], reads)).to.deep.equal({
      expected: 3,
      once: 1,
      never: 1,
      moreThanOnce: 1,
      unexpected: 3,
    });
  });
});
