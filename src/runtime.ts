import type { Config } from '../config/index.js';
import { withDeadline } from './deadline.js';
import type { Logger } from './logger.js';
import { createProducerConnection, redisTargetOf, type RedisClient } from './queue/connections.js';
import { JobQueues } from './queue/job-queues.js';
import { openStore, type Store } from './store/database.js';
import { KeyRing } from './store/encryption.js';
import { createServices, type Services } from './dependencies.js';

/** What the API and the workers share: the database, the key ring, the queues. */
export interface Runtime {
  config: Config;
  log: Logger;
  store: Store;
  keyRing: KeyRing;
  /** Fails fast while Redis is down, for the HTTP path. */
  producer: RedisClient;
  queues: JobQueues;
  services: Services;
  close(): Promise<void>;
}

/**
 * Opens the database (applying migrations) and the producer connection. Redis being down
 * does not stop start-up: readiness reports it and the queues reconnect on their own.
 */
export async function openRuntime(config: Config, log: Logger): Promise<Runtime> {
  const store = openStore({
    databaseUrl: config.databaseUrl,
    pgliteDataDir: config.pgliteDataDir,
    log,
  });
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw new Error(
      `cannot apply database migrations (${store.driver === 'pg' ? 'DATABASE_URL' : `PGlite at ${config.pgliteDataDir}`}): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const producer = createProducerConnection(redisTargetOf(config));
  let redisDown = false;
  producer.on('error', (error) => {
    if (!redisDown) log.warn({ err: error }, 'Redis unreachable; retrying');
    redisDown = true;
  });
  producer.on('ready', () => {
    if (redisDown) log.info('Redis reachable again');
    redisDown = false;
  });
  const queues = new JobQueues(producer, config.queuePrefix, config.queues);
  const keyRing = new KeyRing(config.encryptionKeys);
  const services = createServices(config, store, keyRing, producer);
  return {
    config,
    log,
    store,
    keyRing,
    producer,
    queues,
    services,
    async close() {
      // Closing a queue talks to Redis; an outage must not hold the exit.
      await withDeadline(2_000, queues.close()).catch(() => {});
      producer.disconnect();
      // Idle connections close at once; a call still running gets the same two seconds.
      await withDeadline(2_000, services.http.close()).catch(() => {});
      await store.close();
    },
  };
}
