import { setTimeout } from 'node:timers/promises';
import type { RedisClient } from './connections.js';
import { Semaphore } from 'redis-semaphore';
import type { PsaKind, PsaRequestHooks } from '../psa/client.js';
import { psaLimits, type PsaLimits } from '../psa/limits.js';
import { Pacer } from './pacer.js';

/** A request slot held longer than this is taken back (its worker died). Default: 2 minutes */
const slotTimeoutMs = 120_000;
/** The longest wait for a request slot before the call fails as transient. Default: 10 min */
const slotWaitMs = 600_000;

/**
 * Request hooks that keep one partner's calls to its PSA within the PSA's limits, whichever
 * worker makes them: a pace (Redis schedule) and a cap on requests in flight (Redis semaphore).
 */
export class PsaPacing {
  private readonly pacers = new Map<PsaKind, Pacer>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly limits: Record<PsaKind, PsaLimits> = psaLimits,
  ) {}

  /** Milliseconds between two requests to a PSA of this kind at its pace. */
  spacingMs(kind: PsaKind): number {
    return 1000 / this.limits[kind].requestsPerSecond;
  }

  /** The hooks for one connection's client. */
  hooks(kind: PsaKind, connectionId: string): PsaRequestHooks {
    const limits = this.limits[kind];
    let pacer = this.pacers.get(kind);
    if (!pacer) {
      pacer = new Pacer(this.redis, `${this.prefix}:psa`, limits.requestsPerSecond);
      this.pacers.set(kind, pacer);
    }
    const paced = pacer;
    return {
      acquire: async (entity) => {
        const scope = limits.perEntity ? `${connectionId}:${entity}` : connectionId;
        const semaphore = new Semaphore(
          this.redis,
          `${this.prefix}:psa:inflight:${scope}`,
          limits.concurrency,
          { lockTimeout: slotTimeoutMs, acquireTimeout: slotWaitMs, retryInterval: 50 },
        );
        await semaphore.acquire();
        try {
          const wait = await paced.reserve(connectionId);
          if (wait > 0) await setTimeout(wait);
        } catch (error) {
          await semaphore.release();
          throw error;
        }
        return () => void semaphore.release();
      },
    };
  }
}
