import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { GraphPacer } from '../../src/queue/graph-pacer.js';
import { Pacer } from '../../src/queue/pacer.js';
import { freshPrefix, removePrefix, testRedisUrl } from '../support/redis.js';

/** 10 requests per second: slots 100 ms apart, a burst of 5 (half a second's worth). */
const rate = 10;
/** How far a wait may be from the schedule: the round trips to Redis. */
const slackMs = 40;

describe("pacer: one schedule in Redis's time, whatever the workers' clocks say", () => {
  let redis: Redis;
  let prefix: string;
  let partnerKey = 0;
  // Two workers of one deployment; `offHost` runs its calls on a host whose clock is off.
  let host: Pacer;
  let offHost: Pacer;

  before(() => {
    redis = new Redis(testRedisUrl);
    prefix = freshPrefix();
    host = new Pacer(redis, prefix, rate);
    offHost = new Pacer(redis, prefix, rate);
  });
  after(async () => {
    redis.disconnect();
    await removePrefix(prefix);
  });

  const freshPartner = () => `partner-${++partnerKey}`;

  /** Runs `call` as on a host whose clock is `skewMs` off the others'. */
  async function withClockOff<T>(skewMs: number, call: () => Promise<T>): Promise<T> {
    const realNow = Date.now;
    Date.now = () => realNow() + skewMs;
    try {
      return await call();
    } finally {
      Date.now = realNow;
    }
  }

  /** Milliseconds since `start`, on this host's monotonic clock. */
  const since = (start: number) => performance.now() - start;

  it('reservations from hosts 5 s apart interleave into the one schedule', async () => {
    const partner = freshPartner();
    const start = performance.now();
    const waits: number[] = [];
    const elapsed: number[] = [];
    for (let i = 0; i < 10; i++) {
      elapsed.push(since(start));
      waits.push(
        i % 2 === 0
          ? await host.reserve(partner)
          : await withClockOff(5_000, () => offHost.reserve(partner)),
      );
    }
    // The first slot is half a second back (the burst), then one every 100 ms.
    const slots = [0, 0, 0, 0, 0, 0, 100, 200, 300, 400];
    waits.forEach((wait, i) => {
      if (slots[i] === 0) expect(wait, `call ${i}`).to.equal(0);
      else expect(wait + elapsed[i]!, `call ${i}`).to.be.closeTo(slots[i]!, slackMs);
    });
  });

  it('a slot held on one host is waited for the same on a host ahead or behind', async () => {
    const partner = freshPartner();
    const jobs = Array.from({ length: 20 }, (_, i) => `job-${partner}-${i}`);
    const start = performance.now();
    const waits = await host.holdSlots(partner, jobs);
    expect(waits[19]).to.be.closeTo(1_400, slackMs);
    const ahead = await withClockOff(5_000, () => offHost.slotFor(partner, jobs[19]!));
    expect(ahead.waitMs + since(start)).to.be.closeTo(1_400, slackMs);
    expect(ahead).to.include({ inPlace: false, cost: 1 });
    const behind = await withClockOff(-5_000, () => offHost.slotFor(partner, jobs[18]!));
    expect(behind.waitMs + since(start)).to.be.closeTo(1_300, slackMs);

    // Held by the host ahead (a retry's new slot, and slots held at enqueue), read here.
    const other = freshPartner();
    const later = `job-${other}-late`;
    const startOther = performance.now();
    await host.reserve(other, 20);
    const held = await withClockOff(5_000, () => offHost.slotFor(other, later));
    expect(held.waitMs + since(startOther)).to.be.closeTo(1_500, slackMs);
    expect((await host.slotFor(other, later)).waitMs + since(startOther)).to.be.closeTo(
      1_500,
      slackMs,
    );
    const enqueued = await withClockOff(5_000, () => offHost.holdSlots(other, ['job-queued']));
    expect(enqueued[0]! + since(startOther)).to.be.closeTo(1_600, slackMs);
    expect((await host.slotFor(other, 'job-queued')).waitMs + since(startOther)).to.be.closeTo(
      1_600,
      slackMs,
    );
  });
});

describe("graph pacer: a request waits for the latest of its partner's, tenant's and app's slots", () => {
  let redis: Redis;
  let prefix: string;
  let graph: GraphPacer;

  before(() => {
    redis = new Redis(testRedisUrl);
    prefix = freshPrefix();
    // The partner 10 requests a second, a tenant 1 unit a second (a burst of 1), the app 10.
    graph = new GraphPacer(redis, prefix, {
      partnerRequestsPerSecond: 10,
      tenantResourceUnitsPer10s: 10,
      appResourceUnitsPer20s: 200,
    });
  });
  after(async () => {
    redis.disconnect();
    await removePrefix(prefix);
  });

  it("reserves in the three schedules at once; one tenant's backlog holds back no other", async () => {
    const start = performance.now();
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) waits.push(await graph.reserve('partner', 'tenant-a', 1));
    const elapsed = performance.now() - start;
    // Inside every burst, until the tenant's: its third unit is a second after its second.
    expect(waits.slice(0, 2)).to.deep.equal([0, 0]);
    expect(waits[2]! + elapsed).to.be.closeTo(1_000, slackMs);
    expect(await graph.reserve('partner', 'tenant-b', 1)).to.equal(0);
    // A request of no units waits for the partner's slot only.
    expect(await graph.reserve('partner', 'tenant-a', 0)).to.equal(0);
    // The tenant's next unit comes after the three reserved: a second after the third.
    expect(
      (await graph.reserve('partner', 'tenant-a', 1)) + (performance.now() - start),
    ).to.be.closeTo(2_000, slackMs);
  });
});
