import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const release = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface LockOptions {
  /** The lock expires on its own after this long, should its holder die. Default: 30 s */
  ttlMs?: number;
  /** How long to wait for the lock before giving up. Default: 30 s */
  waitMs?: number;
}

/**
 * Runs `fn` while holding a Redis lock shared by every worker process: used so one consent's
 * refresh token is redeemed by one worker at a time and each rotation is saved before the
 * next use. A single Redis key with a random token (released only by its holder).
 */
export async function withLock<T>(
  redis: Redis,
  key: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const ttlMs = options.ttlMs ?? 30_000;
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  const token = randomUUID();
  let pause = 10;
  while ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${key}`);
    await new Promise((resolve) => setTimeout(resolve, pause + Math.random() * pause));
    pause = Math.min(pause * 2, 250);
  }
  try {
    return await fn();
  } finally {
    await redis.eval(release, 1, key, token).catch(() => {});
  }
}
