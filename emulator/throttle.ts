/**
 * A token bucket holding up to `capacity` units, refilled at `capacity` per `windowMs`. A
 * request costs some units; take() answers 0 when it may go (and spends them), else the
 * milliseconds until it could.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly capacity: number,
    private readonly windowMs: number,
    now = Date.now(),
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  /** `rate` requests per second with a burst of one second's worth. */
  static perSecond(rate: number, now = Date.now()): TokenBucket {
    const capacity = Math.max(1, rate);
    return new TokenBucket(capacity, (capacity / rate) * 1000, now);
  }

  private refill(now: number): void {
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((now - this.updatedAt) / this.windowMs) * this.capacity,
    );
    this.updatedAt = now;
  }

  /** Milliseconds until `cost` units are there (0: now), without spending them. */
  wait(cost = 1, now = Date.now()): number {
    this.refill(now);
    // A cost above the capacity could never go: it waits for a full bucket instead.
    const needed = Math.min(cost, this.capacity);
    if (this.tokens >= needed) return 0;
    return Math.ceil(((needed - this.tokens) / this.capacity) * this.windowMs);
  }

  take(cost = 1, now = Date.now()): number {
    const waitMs = this.wait(cost, now);
    if (waitMs === 0) this.tokens -= Math.min(cost, this.capacity);
    return waitMs;
  }

  /** Share of the capacity spent, 0 to 1. */
  used(now = Date.now()): number {
    this.refill(now);
    return 1 - this.tokens / this.capacity;
  }
}
