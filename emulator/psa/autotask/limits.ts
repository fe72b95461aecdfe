import type { AutotaskLimits } from './scenario.js';

// Autotask's two limits: requests per rolling hour for the whole database (slower past a
// usage share, refused at 100%) and concurrent requests per (integration code × entity).

const hourMs = 3_600_000;

/** Status of the thread-limit refusal: sources disagree (429 or not), see docs/psa-emulators.md. */
export const threadThresholdStatus = 500;
/** Status of the hourly-limit refusal. */
export const hourlyLimitStatus = 429;

export const threadThresholdMessage = (limit: number) =>
  `Thread Threshold Exceeded - The Autotask API thread threshold of ${limit} threads has been exceeded.`;
export const hourlyLimitMessage = (limit: number) =>
  `Request Threshold Exceeded - The Autotask API request threshold of ${limit} requests per hour has been exceeded.`;

export type Admission =
  { kind: 'go'; delayMs: number } | { kind: 'refused'; retryAfterSec: number };

export class RequestLimits {
  /** Emulator-clock times of the counted requests of the last hour, oldest first. */
  private times: number[] = [];
  private inFlight = new Map<string, number>();

  constructor(
    readonly config: AutotaskLimits,
    private readonly now: () => number,
  ) {}

  /** Requests counted in the current rolling hour. */
  used(): number {
    const cutoff = this.now() - hourMs;
    let drop = 0;
    while (drop < this.times.length && (this.times[drop] ?? 0) <= cutoff) drop += 1;
    if (drop > 0) this.times.splice(0, drop);
    return this.times.length;
  }

  /** Counts a request, or refuses it when the hour's budget is spent. */
  admit(): Admission {
    const used = this.used();
    if (used >= this.config.requestsPerHour) {
      const oldest = this.times[0] ?? this.now();
      return { kind: 'refused', retryAfterSec: Math.ceil((oldest + hourMs - this.now()) / 1000) };
    }
    this.times.push(this.now());
    const slow = (used + 1) / this.config.requestsPerHour > this.config.slowAbovePercent / 100;
    return { kind: 'go', delayMs: slow ? this.config.slowDelayMs : 0 };
  }

  /** Takes a thread slot for the key; false when all are taken. */
  enter(key: string): boolean {
    const current = this.inFlight.get(key) ?? 0;
    if (current >= this.config.threadLimit) return false;
    this.inFlight.set(key, current + 1);
    return true;
  }

  leave(key: string): void {
    const current = this.inFlight.get(key) ?? 0;
    if (current <= 1) this.inFlight.delete(key);
    else this.inFlight.set(key, current - 1);
  }
}
