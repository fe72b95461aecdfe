import type { RedisClient } from './connections.js';
import { Pacer } from './pacer.js';

/**
 * How long a worker keeps a partner's pace before reading it again: a change made through
 * the API reaches every worker within this. Default: 30 s
 */
export const paceKeptMs = 30_000;

/**
 * The Partner Center schedule of every partner, each at its own pace: the partner's setting
 * (a partner whose quota other tools share is paced slower), else the service's. Every pace
 * shares one schedule per partner, so a changed pace takes over from the next request.
 */
export class PartnerCenterPacer {
  private readonly pacers = new Map<number, Pacer>();
  private readonly paces = new Map<string, { rate: Promise<number>; readAt: number }>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** Requests per second of a partner without a pace of its own. */
    private readonly defaultRate: number,
    /** The partner's own pace, null when it has none. */
    private readonly paceOf: (partnerId: string) => Promise<number | null>,
  ) {}

  /** The partner's pacer, its pace read again once `paceKeptMs` old. */
  async forPartner(partnerId: string): Promise<Pacer> {
    const now = Date.now();
    let kept = this.paces.get(partnerId);
    if (!kept || now - kept.readAt > paceKeptMs) {
      const rate = this.paceOf(partnerId).then((own) => own ?? this.defaultRate);
      kept = { rate, readAt: now };
      this.paces.set(partnerId, kept);
      // A failed read is not kept: the next request asks again.
      rate.catch(() => {
        if (this.paces.get(partnerId) === kept) this.paces.delete(partnerId);
      });
    }
    const rate = await kept.rate;
    let pacer = this.pacers.get(rate);
    if (!pacer) {
      pacer = new Pacer(this.redis, this.prefix, rate);
      this.pacers.set(rate, pacer);
    }
    return pacer;
  }

  /** Milliseconds between two of the partner's requests at its pace. */
  async spacingMs(partnerId: string): Promise<number> {
    return (await this.forPartner(partnerId)).spacingMs;
  }

  /** Milliseconds until `cost` of the partner's requests may go; the slot is reserved. */
  async reserve(partnerId: string, cost = 1): Promise<number> {
    return (await this.forPartner(partnerId)).reserve(partnerId, cost);
  }

  /** Slots held for the partner's jobs at enqueue (see Pacer.holdSlots). */
  async holdSlots(
    partnerId: string,
    jobIds: string[],
    cost: number | number[] = 1,
  ): Promise<number[]> {
    return (await this.forPartner(partnerId)).holdSlots(partnerId, jobIds, cost);
  }

  /** A job's slot in the partner's schedule (see Pacer.slotFor). */
  async slotFor(
    partnerId: string,
    jobId: string,
    cost = 1,
  ): Promise<{ waitMs: number; inPlace: boolean; cost: number }> {
    return (await this.forPartner(partnerId)).slotFor(partnerId, jobId, cost);
  }
}
