import { once } from 'node:events';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { withDeadline } from '../deadline.js';
import { isCluster, type RedisClient } from '../queue/connections.js';

/**
 * A rate limiter's counters in Redis under `prefix`, shared by every API process. The producer
 * connection fails fast while Redis is not ready; the store's first command (at start-up)
 * waits for it a little instead.
 */
export function redisLimitStore(redis: RedisClient, prefix: string): RedisStore {
  return new RedisStore({
    prefix,
    sendCommand: async (command: string, ...args: string[]) => {
      if (redis.status !== 'ready') await withDeadline(2_000, once(redis, 'ready'));
      // The store loads its scripts with SCRIPT LOAD, which names no key: on a cluster it
      // would reach one node at random and the EVALSHA at the counter's master would find
      // no script. Every master loads it (a master promoted later gets it on NOSCRIPT).
      if (isCluster(redis) && command.toUpperCase() === 'SCRIPT') {
        const replies = await Promise.all(
          redis.nodes('master').map((node) => node.call(command, ...args)),
        );
        return replies[0] as RedisReply;
      }
      return redis.call(command, ...args) as Promise<RedisReply>;
    },
  });
}
