import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisCluster } from '../../config/index.js';
import { connectionErrorCodes, errorChain } from '../store/availability.js';

export type { Redis } from 'ioredis';

/** A connection to one Redis node or to a Redis Cluster: every Redis user takes either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: one node's URL, or a cluster's seed nodes. */
export type RedisTarget = string | RedisCluster;

/** The Redis a configuration names: its cluster when it has one, else its one node. */
export function redisTargetOf(config: {
  redisUrl: string;
  redisCluster: RedisCluster | undefined;
}): RedisTarget {
  return config.redisCluster ?? config.redisUrl;
}

/**
 * A connection for workers and queue events: commands wait out a Redis outage instead of
 * failing (BullMQ requires maxRetriesPerRequest: null for its blocking calls).
 */
export function createWorkerConnection(url: string, options?: RedisOptions): Redis;
export function createWorkerConnection(target: RedisTarget, options?: RedisOptions): RedisClient;
export function createWorkerConnection(
  target: RedisTarget,
  options: RedisOptions = {},
): RedisClient {
  return connect(target, { maxRetriesPerRequest: null, ...options }, {});
}

/**
 * A connection for producers on the HTTP path: with no offline queue a command fails at
 * once while Redis is down, so a request can answer 503 rather than hang.
 */
export function createProducerConnection(url: string, options?: RedisOptions): Redis;
export function createProducerConnection(target: RedisTarget, options?: RedisOptions): RedisClient;
export function createProducerConnection(
  target: RedisTarget,
  options: RedisOptions = {},
): RedisClient {
  // On a cluster the offline queue that matters is the cluster's own: while it has no slot
  // map (starting, every node down) commands fail at once instead of waiting.
  return connect(
    target,
    { enableOfflineQueue: false, maxRetriesPerRequest: 1, ...options },
    { enableOfflineQueue: options.enableOfflineQueue ?? false },
  );
}

function connect(
  target: RedisTarget,
  nodeOptions: RedisOptions,
  clusterOptions: ClusterOptions,
): RedisClient {
  if (typeof target === 'string') return new Redis(target, nodeOptions);
  // The nodes' own connections keep their offline queue (ioredis's default for them): the
  // cluster's option decides whether a command waits.
  const perNode: RedisOptions = { ...nodeOptions, password: target.password };
  delete perNode.enableOfflineQueue;
  return new Cluster(target.nodes, { ...clusterOptions, redisOptions: perNode });
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * The part of a key Redis Cluster hashes (CLUSTER KEYSLOT's rule): the text between the first
 * `{` and the first `}` after it when not empty, else the whole key.
 */
function hashedPart(key: string): string {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/**
 * Start-up check: every key of the deployment (BullMQ's `prefix:queue:...` and our own
 * `prefix:...`) must hash to one slot, or the scripts and pipelines that touch several of them
 * fail with CROSSSLOT on a cluster. True when `prefix` starts with a hash tag such as `{ls}`.
 */
function isHashTagPrefix(prefix: string): boolean {
  return prefix.startsWith('{') && hashedPart(`${prefix}:a`) === hashedPart(`${prefix}:b`);
}

/** Throws, naming QUEUE_PREFIX, when a cluster connection is given a prefix of many slots. */
export function assertOneSlotPrefix(client: RedisClient, prefix: string): void {
  if (isCluster(client) && !isHashTagPrefix(prefix)) {
    throw new Error(
      `QUEUE_PREFIX "${prefix}" is not a Redis Cluster hash tag: on a cluster every key of a deployment must hash to one slot. Use a prefix such as {ls}`,
    );
  }
}

/**
 * ioredis's messages for a command it could not send (fail-fast connection, retries used up,
 * connection closed, cluster without a slot map) and Redis's own replies while it cannot serve
 * (loading, cluster down, a slot moving).
 */
const redisUnreachable =
  /^(Stream isn't writeable|Reached the max retries per request limit|Connection is closed|Cluster isn't ready|Failed to refresh slots cache|None of startup nodes is available|Too many Cluster redirections|LOADING |CLUSTERDOWN |TRYAGAIN |MASTERDOWN )/;

/**
 * True when a command failed because Redis could not be reached: an outage to wait out, not
 * a failure of the work (the worker pool puts the job back without using an attempt).
 */
export function isRedisUnavailable(error: unknown): boolean {
  for (const e of errorChain(error)) {
    if (e.name === 'MaxRetriesPerRequestError' || e.name === 'ConnectionClosedError') return true;
    if (e.name === 'ClusterAllFailedError') return true;
    if (typeof e.code === 'string' && connectionErrorCodes.has(e.code)) return true;
    if (redisUnreachable.test(e.message)) return true;
  }
  return false;
}
