import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { withDeadline } from '../deadline.js';

/**
 * A rate limiter's counters in Redis under `prefix`, shared by every API process. The producer
 * connection fails fast while Redis is not ready; the store's first command (at start-up)
 * waits for it a little instead.
 */
export function redisLimitStore(redis: Redis, prefix: string): RedisStore {
  return new RedisStore({
    prefix,
    sendCommand: async (command: string, ...args: string[]) => {
      if (redis.status !== 'ready') await withDeadline(2_000, once(redis, 'ready'));
      return redis.call(command, ...args) as Promise<RedisReply>;
    },
  });
}
