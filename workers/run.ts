import type { JobDeps } from '../jobs/deps.js';
import { withDeadline } from '../src/deadline.js';
import { createWorkerConnection } from '../src/queue/connections.js';
import { JobQueues } from '../src/queue/job-queues.js';
import { startWorkerPool, type WorkerPool } from '../src/queue/worker-pool.js';
import type { Runtime } from '../src/runtime.js';
import { processors } from './processors.js';

export interface RunningWorkers {
  pool: WorkerPool;
  /** Resolves once the schedules are in Redis (after Redis comes back, if it is down). */
  scheduled: Promise<void>;
  close(graceMs: number): Promise<void>;
}

/** Starts a Worker per queue, upserts the schedules and runs one reconcile at start. */
export function runWorkers(runtime: Runtime): RunningWorkers {
  const { config, log } = runtime;
  const connection = createWorkerConnection(config.redisUrl);
  connection.on('error', () => {}); // reported by the producer connection and the workers
  const queues = new JobQueues(connection, config.queuePrefix);
  const deps: JobDeps = {
    ...runtime.services,
    config,
    log,
    store: runtime.store,
    keyRing: runtime.keyRing,
    queues,
  };
  const pool = startWorkerPool({
    connection,
    prefix: config.queuePrefix,
    processors,
    deps,
    log,
  });
  const scheduled = queues
    .ensureSchedules()
    .then(() => queues.enqueue('reconcile', {}, { jobId: `reconcile-start-${Date.now()}` }))
    .then(() => log.info({ queues: pool.workers.map((w) => w.name) }, 'workers started'))
    .catch((error: unknown) => log.error({ err: error }, 'cannot schedule the reconciler'));
  return {
    pool,
    scheduled,
    async close(graceMs) {
      await pool.close(graceMs);
      await withDeadline(2_000, queues.close()).catch(() => {});
      connection.disconnect();
    },
  };
}
