import type { PsaKind } from './client.js';

/** How hard one partner's PSA may be called, across every worker. */
export interface PsaLimits {
  /** Requests per second, paced in Redis. */
  requestsPerSecond: number;
  /** Requests in flight at once; `perEntity`: counted per API object, as Autotask does. */
  concurrency: number;
  perEntity: boolean;
}

/**
 * The defaults, from docs/psa.md:
 * - ConnectWise publishes no limit; its cloud edge answers 429 with a wait. Default: 5/s,
 *   4 at once (the parallel agreement scans public clients settle on).
 * - Autotask: 10,000 requests per rolling hour per database, shared by every integration of
 *   the partner, with latency added past half of it; 3 threads per integration and object.
 *   Default: 5,000 an hour (1.39/s), 3 at once per object.
 * - HaloPSA (hosted): 300 requests per rolling 5 minutes. Default: 0.8/s (240 per 5 minutes,
 *   room for the partner's other integrations), 2 at once.
 */
export const psaLimits: Record<PsaKind, PsaLimits> = {
  connectwise: { requestsPerSecond: 5, concurrency: 4, perEntity: false },
  autotask: { requestsPerSecond: 5000 / 3600, concurrency: 3, perEntity: true },
  halo: { requestsPerSecond: 0.8, concurrency: 2, perEntity: false },
};
