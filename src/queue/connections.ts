import { Redis, type RedisOptions } from 'ioredis';

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
