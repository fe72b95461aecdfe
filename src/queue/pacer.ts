import type { Redis } from 'ioredis';

// GCRA-style reservation: each caller gets the next free slot of the partner's schedule, so
// concurrent workers spread out instead of all seeing "wait 50 ms" and colliding again. The
// schedule may lag behind now by half a second's worth of requests: that is the burst, kept
// below Microsoft's own (a second's worth) so calls we do not pace still fit.
const reserve = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local nextFree = tonumber(redis.call('get', KEYS[1]) or '0')
local slot = math.max(nextFree, now - burst * interval)
redis.call('set', KEYS[1], tostring(slot + cost * interval), 'PX', math.ceil((burst + cost) * interval) + 60000)
return tostring(math.max(0, slot - now))
`;

/**
 * Per-partner request pacing shared by every worker, in Redis: a partner's requests are
 * scheduled at its rate instead of bouncing off Microsoft's 429s. A job whose slot is later
 * than now waits in BullMQ's delayed set (not in a worker slot), holding its slot.
 */
export class Pacer {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Requests per second per partner. */
    private readonly rate: number,
  ) {}

  /** Milliseconds until `cost` requests for `partnerKey` may go; the slot is reserved. */
  async reserve(partnerKey: string, cost = 1): Promise<number> {
    const wait = await this.redis.eval(
      reserve,
      1,
      `${this.prefix}:pace:${partnerKey}`,
      Date.now(),
      1000 / this.rate,
      cost,
      Math.max(1, this.rate / 2),
    );
    return Math.ceil(Number(wait));
  }

  /**
   * The slot for one job: reserved on its first run and remembered, so the job coming back
   * from the delayed set at its slot goes ahead instead of reserving another.
   */
  async slotFor(partnerKey: string, jobId: string, cost = 1): Promise<number> {
    const heldKey = `${this.prefix}:pace:held:${jobId}`;
    const held = await this.redis.getdel(heldKey);
    if (held !== null) return Math.max(0, Number(held) - Date.now());
    const wait = await this.reserve(partnerKey, cost);
    if (wait > 0) await this.redis.set(heldKey, String(Date.now() + wait), 'PX', wait + 600_000);
    return wait;
  }
}
