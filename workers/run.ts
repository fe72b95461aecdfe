import type { JobDeps } from '../jobs/deps.js';
import { enqueueResealIfStale } from '../jobs/reseal-keys.js';
import { withDeadline } from '../src/deadline.js';
import { createWorkerConnection, redisTargetOf } from '../src/queue/connections.js';
import { JobQueues } from '../src/queue/job-queues.js';
import { startWorkerPool, type WorkerPool } from '../src/queue/worker-pool.js';
import type { Runtime } from '../src/runtime.js';
import { processors } from './processors.js';

export interface RunningWorkers {
  pool: WorkerPool;
  /** Resolves once the schedules are in Redis (after Redis comes back, if it is down). */
  scheduled: Promise<void>;
  /** Resolves with the reseal job queued at start-up, if values of an older key were found. */
  resealQueued: Promise<string | undefined>;
  close(graceMs: number): Promise<void>;
}

/** Starts a Worker per queue, upserts the schedules and runs one reconcile at start. */
export function runWorkers(runtime: Runtime): RunningWorkers {
  const { config, log } = runtime;
  const connection = createWorkerConnection(redisTargetOf(config));
  connection.on('error', () => {}); // reported by the producer connection and the workers
  const queues = new JobQueues(connection, config.queuePrefix, config.queues);
  const deps: JobDeps = {
    ...runtime.services,
    config,
    log,
    queues,
  };
  const pool = startWorkerPool({
    connection,
    prefix: config.queuePrefix,
    processors,
    deps,
    log,
    tuning: config.queues,
  });
  const scheduled = queues
    .ensureQueueSetup()
    .then(() => queues.enqueue('reconcile', {}, { jobId: `reconcile-start-${Date.now()}` }))
    .then(() => log.info({ queues: pool.workers.map((w) => w.name) }, 'workers started'))
    .catch((error: unknown) => log.error({ err: error }, 'cannot schedule the reconciler'));
  const resealQueued = enqueueResealIfStale(deps).catch((error: unknown) => {
    log.warn({ err: error }, 'cannot check for values sealed by an older key');
    return undefined;
  });
  // The reconciler is itself a scheduled job: if Redis loses its data (a flush, a restart
  // without persistence) nothing would run it again, so each process checks for it.
  const watchdog = setInterval(() => {
    queues
      .reconcilerMissing()
      .then(async (missing) => {
        if (!missing) return;
        log.warn('the queue schedules are gone from Redis: restoring them and reconciling');
        await queues.ensureQueueSetup();
        await queues.enqueue('reconcile', {}, { jobId: `reconcile-restore-${Date.now()}` });
      })
      .catch(() => {}); // Redis is down: the workers report it
  }, config.queues.reconcileIntervalSeconds * 1000);
  watchdog.unref();
  return {
    pool,
    scheduled,
    resealQueued,
    async close(graceMs) {
      clearInterval(watchdog);
      await pool.close(graceMs);
      await withDeadline(2_000, queues.close()).catch(() => {});
      connection.disconnect();
    },
  };
}
