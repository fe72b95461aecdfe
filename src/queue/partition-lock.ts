import { randomUUID } from 'node:crypto';
import type { RedisClient } from './connections.js';

const release = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const extend = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface LockOptions {
  /** The lock expires on its own after this long, should its holder die. Default: 30 s */
  ttlMs?: number;
  /** How long to wait for the lock before giving up. Default: 30 s */
  waitMs?: number;
}

/**
 * The lock could not be had long enough to finish: transient, a retry takes it again and
 * reads what the other holder saved.
 */
export class LockUnavailableError extends Error {
  override readonly name: string = 'LockUnavailableError';
}

/** Other holders kept the lock past the wait (many jobs of one partner at once). */
class LockWaitTimeoutError extends LockUnavailableError {
  override readonly name = 'LockWaitTimeoutError';
  constructor(key: string) {
    super(`timed out waiting for lock ${key}`);
  }
}

/**
 * The lock expired or was taken while its holder worked (a pause longer than its TTL, Redis
 * unreachable while renewing): another holder may have worked meanwhile.
 */
class LockLostError extends LockUnavailableError {
  override readonly name = 'LockLostError';
  constructor(key: string) {
    super(`lost the lock ${key} while holding it; its work is not trusted`);
  }
}

/**
 * Runs `fn` while holding a Redis lock shared by every worker process: used so one consent's
 * refresh token is redeemed by one worker at a time and each rotation is saved before the
 * next use. A single Redis key with a random token (released only by its holder), renewed
 * every third of its TTL while `fn` runs, so a Microsoft call as long as the TTL keeps it.
 * Should a renewal find the lock gone, `fn`'s signal aborts and withLock rejects with
 * LockLostError once `fn` settles (what `fn` saved is guarded by its own compare-and-set).
 */
export async function withLock<T>(
  redis: RedisClient,
  key: string,
  fn: (signal: AbortSignal) => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const ttlMs = options.ttlMs ?? 30_000;
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  const token = randomUUID();
  let pause = 10;
  while ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new LockWaitTimeoutError(key);
    await new Promise((resolve) => setTimeout(resolve, pause + Math.random() * pause));
    pause = Math.min(pause * 2, 250);
  }
  const lost = new AbortController();
  let heldUntil = Date.now() + ttlMs;
  const renew = async () => {
    const startedAt = Date.now();
    try {
      if (Number(await redis.eval(extend, 1, key, token, ttlMs)) === 1) {
        heldUntil = startedAt + ttlMs;
        return;
      }
    } catch {
      // Redis unreachable: the lock holds until its TTL runs out; the next renewal may succeed.
      if (Date.now() < heldUntil) return;
    }
    if (!lost.signal.aborted) lost.abort(new LockLostError(key));
  };
  const renewal = setInterval(() => void renew(), Math.max(1, Math.floor(ttlMs / 3)));
  renewal.unref();
  try {
    const result = await fn(lost.signal);
    if (lost.signal.aborted) throw lost.signal.reason as LockLostError;
    return result;
  } finally {
    clearInterval(renewal);
    if (!lost.signal.aborted) await redis.eval(release, 1, key, token).catch(() => {});
  }
}
