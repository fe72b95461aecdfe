import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import type { RedisNode } from '../../config/index.js';
import { spawnRedisServer } from './redis.js';

const run = promisify(execFile);

/** Masters of the test cluster: the fewest redis-cli --cluster create accepts. */
const masterCount = 3;
/** How long the cluster may take to agree on its slots. Default: 20 s */
const readyWithinMs = 20_000;

export interface PrivateRedisCluster {
  nodes: RedisNode[];
  /** REDIS_CLUSTER_NODES for these nodes. */
  nodesVariable: string;
  /** A plain client of the cluster, for a test's own reads and writes. */
  client(): Cluster;
  /** Deletes every key under `prefix` on every master (the prefix's slot lives on one). */
  removePrefix(prefix: string): Promise<void>;
  /** Kills the nodes and removes their directory. */
  stop(): Promise<void>;
}

/** True when nothing listens on the port on loopback. */
async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port whose cluster bus port (port + 10000, Redis's rule) is free as well: an ephemeral
 * port from the OS could put the bus port past 65535.
 */
async function freeClusterPort(taken: number[]): Promise<number> {
  for (let tries = 0; tries < 200; tries += 1) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (taken.includes(port)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

function spawnNode(port: number, dir: string, password: string | undefined) {
  const auth = password ? ['--requirepass', password, '--masterauth', password] : [];
  return spawnRedisServer(port, [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout',
    '5000',
    '--dir',
    dir,
    ...auth,
  ]);
}

/** Polls every node's CLUSTER INFO until each says cluster_state:ok, or fails after a limit. */
async function waitForClusterOk(nodes: RedisNode[], password: string | undefined): Promise<void> {
  const deadline = Date.now() + readyWithinMs;
  const clients = nodes.map((n) => new Redis(n.port, n.host, { lazyConnect: true, password }));
  try {
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.cluster('INFO')));
      if (infos.every((info) => info.includes('cluster_state:ok'))) return;
      if (Date.now() > deadline) {
        throw new Error(`the test Redis Cluster is not ok after ${readyWithinMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
}

/**
 * A three-master Redis Cluster of the test's own on loopback (no replicas, nothing on disk but
 * the nodes' cluster files in a temporary directory): for tests of the service on a cluster.
 */
export async function startPrivateRedisCluster(
  options: {
    /** Every node's requirepass (and masterauth). Default: none */
    password?: string;
  } = {},
): Promise<PrivateRedisCluster> {
  const { password } = options;
  const dir = await mkdtemp(join(tmpdir(), 'ls-redis-cluster-'));
  const ports: number[] = [];
  const running: { kill(): Promise<void> }[] = [];
  const stop = async () => {
    await Promise.all(running.map((node) => node.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masterCount; i += 1) {
      const port = await freeClusterPort(ports);
      ports.push(port);
      running.push(await spawnNode(port, dir, password));
    }
    const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
    await run('redis-cli', [
      ...(password ? ['--no-auth-warning', '-a', password] : []),
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await waitForClusterOk(nodes, password);
    const client = () => new Cluster(nodes, { redisOptions: { password } });
    return {
      nodes,
      nodesVariable: nodes.map((n) => `${n.host}:${n.port}`).join(','),
      client,
      async removePrefix(prefix) {
        const cluster = client();
        try {
          await once(cluster, 'ready');
          for (const master of cluster.nodes('master')) {
            let cursor = '0';
            do {
              const [next, keys] = await master.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
              if (keys.length > 0) await master.del(...keys);
              cursor = next;
            } while (cursor !== '0');
          }
        } finally {
          cluster.disconnect();
        }
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
