import { Redis, type RedisOptions } from 'ioredis';
import { connectionErrorCodes, errorChain } from '../store/availability.js';

export type { Redis } from 'ioredis';

/**
 * A connection for workers and queue events: commands wait out a Redis outage instead of
 * failing (BullMQ requires maxRetriesPerRequest: null for its blocking calls).
 */
export function createWorkerConnection(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, ...options });
}

/**
 * A connection for producers on the HTTP path: with no offline queue a command fails at
 * once while Redis is down, so a request can answer 503 rather than hang.
 */
export function createProducerConnection(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, ...options });
}

/**
 * ioredis's messages for a command it could not send (fail-fast connection, retries used up,
 * connection closed) and Redis's own replies while it cannot serve (loading, cluster down).
 */
const redisUnreachable =
  /^(Stream isn't writeable|Reached the max retries per request limit|Connection is closed|LOADING |CLUSTERDOWN |TRYAGAIN |MASTERDOWN )/;

/**
 * True when a command failed because Redis could not be reached: an outage to wait out, not
 * a failure of the work (the worker pool puts the job back without using an attempt).
 */
export function isRedisUnavailable(error: unknown): boolean {
  for (const e of errorChain(error)) {
    if (e.name === 'MaxRetriesPerRequestError' || e.name === 'ConnectionClosedError') return true;
    if (typeof e.code === 'string' && connectionErrorCodes.has(e.code)) return true;
    if (redisUnreachable.test(e.message)) return true;
  }
  return false;
}
