/**
 * A token bucket: `rate` requests per second with a burst of one second's worth. take()
 * answers 0 when the request may go, else the milliseconds until it could.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly capacity: number;

  constructor(
    private readonly rate: number,
    now = Date.now(),
  ) {
    this.capacity = Math.max(1, rate);
    this.tokens = this.capacity;
    this.updatedAt = now;
  }

  take(now = Date.now()): number {
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((now - this.updatedAt) / 1000) * this.rate,
    );
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }
}
