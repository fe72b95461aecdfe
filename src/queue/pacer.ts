import type { RedisClient } from './connections.js';

// Every time in the schedule is Redis's clock (TIME), never a worker's: workers on hosts whose
// clocks disagree still share one schedule. Effects replication, the default since Redis 5
// (BullMQ's minimum), lets a script read TIME before it writes. Milliseconds, with fractions.
const redisNow = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
`;

// GCRA-style reservation: each caller gets the next free slots of the partner's schedule, so
// concurrent workers spread out instead of all seeing "wait 50 ms" and colliding again. The
// schedule may lag behind now by half a second's worth of requests: that is the burst, kept
// below Microsoft's own (a second's worth) so calls we do not pace still fit. reserveIn
// reserves `cost` slots `interval` ms apart in the schedule at `key`, which may lag behind
// now by `burst` slots, and returns the first of them.
const reserveIn = `
local function reserveIn(key, interval, cost, burst)
  local nextFree = tonumber(redis.call('get', key) or '0')
  local first = math.max(nextFree, now - burst * interval)
  redis.call('set', key, tostring(first + cost * interval), 'PX', math.ceil(first + cost * interval - now) + 60000)
  return first
end
`;

// Slots in every schedule named (KEYS), together: ARGV holds interval, cost and burst for each
// key in turn. Returns the latest first slot relative to now (negative inside the bursts), and
// now.
const reserve = `${redisNow}${reserveIn}
local latest = nil
for i, key in ipairs(KEYS) do
  local first = reserveIn(key, tonumber(ARGV[i * 3 - 2]), tonumber(ARGV[i * 3 - 1]), tonumber(ARGV[i * 3]))
  if latest == nil or first > latest then latest = first end
end
return {tostring(latest - now), tostring(now)}
`;

// A job's slot, in one round trip: the one held for it (KEYS[1], "time:cost"), given up
// when it is close enough to be waited in place; else a new reservation in the partner's
// schedule (KEYS[2], as in reserve), held when it is too far. ARGV: interval, cost, burst,
// the longest wait in place, how long a held slot outlives its time. Returns the wait in ms
// (rounded up, at least 0) and the slot's cost.
const slot = `${redisNow}${reserveIn}
local inPlace = tonumber(ARGV[4])
local held = redis.call('get', KEYS[1])
if held then
  local at, heldCost = string.match(held, '^([^:]+):?(.*)$')
  local wait = math.max(0, math.ceil(tonumber(at) - now))
  if wait <= inPlace then redis.call('del', KEYS[1]) end
  if heldCost == '' then heldCost = ARGV[2] end
  return {wait, heldCost}
end
local first = reserveIn(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
local wait = math.max(0, math.ceil(first - now))
if wait > inPlace then
  redis.call('set', KEYS[1], tostring(now + wait) .. ':' .. ARGV[2], 'PX', wait + tonumber(ARGV[5]))
end
return {wait, ARGV[2]}
`;

/** The scripts as commands of the client: sent by their SHA, the text only once per connection. */
interface PacerCommands {
  paceReserve(keys: number, ...args: (string | number)[]): Promise<[string, string]>;
  paceSlot(...args: (string | number)[]): Promise<[number, string]>;
}

const withCommands = new WeakSet<RedisClient>();
function pacerCommands(redis: RedisClient): PacerCommands {
  if (!withCommands.has(redis)) {
    redis.defineCommand('paceReserve', { lua: reserve });
    redis.defineCommand('paceSlot', { numberOfKeys: 2, lua: slot });
    withCommands.add(redis);
  }
  return redis as unknown as PacerCommands;
}

/**
 * Waits up to this long are slept in the worker; longer ones wait in BullMQ's delayed set,
 * not in a worker slot. Default: 1 s
 */
const inPlaceMs = 1_000;

/** How long a held slot is remembered past its time. Default: 10 minutes */
const heldGraceMs = 600_000;

/**
 * Per-partner request pacing shared by every worker, in Redis: a partner's requests are
 * scheduled at its rate instead of bouncing off Microsoft's 429s. Work is queued at its slot
 * (a delayed job), so the queue holds only what may run now and a big partner's backlog never
 * stands in front of a small partner's work.
 */
export class Pacer {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** Requests per second per partner. */
    private readonly rate: number,
  ) {}

  private get interval(): number {
    return 1000 / this.rate;
  }

  /** Milliseconds between two requests of one partner at its rate. */
  get spacingMs(): number {
    return this.interval;
  }

  /** Where `partnerKey`'s schedule lives, and how it reserves `cost` requests there. */
  schedule(partnerKey: string, cost = 1): Schedule {
    return {
      redis: this.redis,
      key: `${this.prefix}:pace:${partnerKey}`,
      args: [this.interval, cost, Math.max(1, this.rate / 2)],
    };
  }

  /** The first reserved slot relative to Redis's now (negative inside the burst), and now. */
  private reserveRaw(partnerKey: string, cost: number): Promise<{ first: number; now: number }> {
    return reserveTogether([this.schedule(partnerKey, cost)]);
  }

  /** Milliseconds until `cost` requests for `partnerKey` may go; the slot is reserved. */
  async reserve(partnerKey: string, cost = 1): Promise<number> {
    return Math.max(0, Math.ceil((await this.reserveRaw(partnerKey, cost)).first));
  }

  /**
   * Reserves consecutive slots for the jobs, `cost` requests each (one number for all, or one
   * per job), and remembers each job's slot and cost, so the job finds them held when it runs.
   * Returns each job's wait in milliseconds.
   */
  async holdSlots(
    partnerKey: string,
    jobIds: string[],
    cost: number | number[] = 1,
  ): Promise<number[]> {
    if (jobIds.length === 0) return [];
    const costs = jobIds.map((_, i) => (typeof cost === 'number' ? cost : cost[i]!));
    const { first, now } = await this.reserveRaw(
      partnerKey,
      costs.reduce((a, b) => a + b, 0),
    );
    let offset = 0;
    const waits = costs.map((c) => {
      const wait = Math.max(0, Math.ceil(first + offset * this.interval));
      offset += c;
      return wait;
    });
    const pipeline = this.redis.pipeline();
    jobIds.forEach((jobId, i) =>
      pipeline.set(
        this.heldKey(jobId),
        `${now + waits[i]!}:${costs[i]!}`,
        'PX',
        waits[i]! + heldGraceMs,
      ),
    );
    await pipeline.exec();
    return waits;
  }

  /**
   * The slot for one job: the one held for it (at enqueue, or on an earlier start that was
   * postponed to it), else a new reservation that is then held. A wait short enough is slept
   * in place (`inPlace`) and uses the slot up; a longer one keeps it held, so the job coming
   * back from the delayed set at its slot goes ahead instead of reserving another. A retry
   * after a failure therefore takes a new slot. `cost` is the number of requests the slot
   * holds: the one it was held with, else the one asked for. Held slots are in Redis's time.
   */
  async slotFor(
    partnerKey: string,
    jobId: string,
    cost = 1,
  ): Promise<{ waitMs: number; inPlace: boolean; cost: number }> {
    const [waitMs, slotCost] = await pacerCommands(this.redis).paceSlot(
      this.heldKey(jobId),
      `${this.prefix}:pace:${partnerKey}`,
      this.interval,
      cost,
      Math.max(1, this.rate / 2),
      inPlaceMs,
      heldGraceMs,
    );
    return { waitMs, inPlace: waitMs <= inPlaceMs, cost: Number(slotCost) };
  }

  private heldKey(jobId: string): string {
    return `${this.prefix}:pace:held:${jobId}`;
  }
}

/** A reservation in one schedule: its key, and the script's interval, cost and burst. */
export interface Schedule {
  redis: RedisClient;
  key: string;
  args: [interval: number, cost: number, burst: number];
}

/**
 * Reserves in every schedule at once (one round trip; their keys share the deployment's hash
 * slot). Answers the latest of the first slots relative to Redis's now, and now.
 */
export async function reserveTogether(
  schedules: [Schedule, ...Schedule[]],
): Promise<{ first: number; now: number }> {
  const [first, now] = await pacerCommands(schedules[0].redis).paceReserve(
    schedules.length,
    ...schedules.map((s) => s.key),
    ...schedules.flatMap((s) => s.args),
  );
  return { first: Number(first), now: Number(now) };
}
