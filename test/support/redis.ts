import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A queue prefix no other test uses; still a hash tag, like production's. */
export function freshPrefix(): string {
  return `{t-${randomBytes(5).toString('hex')}}`;
}

/** Deletes every key under `prefix` (never FLUSHDB: the Redis is shared). */
export async function removePrefix(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** A TCP port nothing listens on, for "Redis is unreachable" cases. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface PrivateRedis {
  url: string;
  /** Kills it and starts an empty one on the same port (it keeps nothing on disk). */
  restart(): Promise<void>;
  /** Kills it until `up` starts an empty one on the same port: an outage of any length. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own on a free port, keeping nothing on disk: for tests that
 * flush, restart or stop Redis (never the shared one).
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await closedPort();
  let current = await spawnRedisServer(port);
  return {
    url: `redis://127.0.0.1:${String(port)}`,
    async restart() {
      await current.kill();
      current = await spawnRedisServer(port);
    },
    down: () => current.kill(),
    async up() {
      current = await spawnRedisServer(port);
    },
    stop: () => current.kill(),
  };
}

/**
 * A private redis-server on loopback at `port` without persistence, `args` added (a cluster
 * node's options): resolves once it accepts connections, fails with its output if it exits.
 */
export async function spawnRedisServer(
  port: number,
  args: string[] = [],
): Promise<{ kill(): Promise<void> }> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = once(child, 'exit');
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await Promise.race([
    new Promise<void>((resolve) => {
      child.stdout.on('data', () => {
        if (output.includes('Ready to accept connections')) resolve();
      });
    }),
    exited.then(() => {
      throw new Error(`redis-server did not start on ${port}:\n${output}`);
    }),
  ]);
  return {
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
