import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { defaultQueueTuning, type QueueTuning } from '../../config/index.js';
import { withDeadline } from '../deadline.js';
import {
  backoffType,
  jobCatalog,
  queueNames,
  queueSettings,
  retryDelay,
  type JobName,
  type JobPayload,
} from './catalog.js';

/** What a processor may know about the job it runs, without depending on BullMQ. */
export interface JobContext {
  jobId: string;
  /** Failed attempts so far (0 on the first run). */
  attemptsMade: number;
  /** True when a failure now would be the job's last: no retry follows. */
  finalAttempt: boolean;
  /** Aborted when the process shuts down past its grace period. */
  signal: AbortSignal;
  log: Logger;
  updateProgress(progress: number | object): Promise<void>;
  /**
   * Puts this job back for `ms` without using up an attempt or holding a worker slot (a
   * Retry-After). Never returns: the job resumes from the start later.
   */
  retryAfter(ms: number): Promise<never>;
}

/** A processor is a plain function: (payload, deps, ctx) => result. */
export type JobProcessor<N extends JobName, Deps> = (
  payload: JobPayload<N>,
  deps: Deps,
  ctx: JobContext,
) => Promise<unknown>;

export type ProcessorTable<Deps> = { [N in JobName]: JobProcessor<N, Deps> };

/**
 * Start-up check: every catalog job has a processor and every processor a catalog entry.
 * Throws a message naming each mismatch.
 */
export function assertProcessorsMatchCatalog(
  catalogJobs: readonly string[],
  processors: Record<string, unknown>,
): void {
  const problems: string[] = [];
  for (const name of catalogJobs) {
    if (typeof processors[name] !== 'function') problems.push(`job "${name}" has no processor`);
  }
  for (const name of Object.keys(processors)) {
    if (!catalogJobs.includes(name)) problems.push(`processor "${name}" has no catalog entry`);
  }
  if (problems.length > 0) {
    throw new Error(`The job catalog and the processors disagree: ${problems.join('; ')}`);
  }
}

/** Starts a job may have, Retry-After postponements included. Default: 60 */
const maxStartsPerJob = 60;

/** How long a forced close may take after the grace period. Default: 2 s */
const forcedCloseMs = 2_000;

export interface WorkerPool {
  workers: Worker[];
  /**
   * Stops taking jobs and waits for running ones up to `graceMs`; then cancels what is left
   * (their AbortSignal fires) and closes without waiting further.
   */
  close(graceMs: number): Promise<void>;
}

export interface WorkerPoolOptions<Deps> {
  connection: Redis;
  prefix: string;
  processors: ProcessorTable<Deps>;
  deps: Deps;
  log: Logger;
  /** Concurrency and crash detection. Default: defaultQueueTuning */
  tuning?: QueueTuning;
}

/** Binds the catalog to BullMQ: one Worker per queue, dispatching on the job name. */
export function startWorkerPool<Deps>(options: WorkerPoolOptions<Deps>): WorkerPool {
  const { connection, prefix, processors, deps, log, tuning = defaultQueueTuning } = options;
  assertProcessorsMatchCatalog(Object.keys(jobCatalog), processors);

  const run = async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const name = job.name as JobName;
    const definition = jobCatalog[name];
    if (!definition) throw new UnrecoverableError(`unknown job "${job.name}"`);
    const parsed = definition.payload.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`invalid payload for ${name}: ${parsed.error.message}`);
    }
    // The schema above checked the payload against this very job's definition.
    const processor = processors[name] as (p: unknown, d: Deps, c: JobContext) => Promise<unknown>;
    return processor(parsed.data, deps, {
      jobId: job.id ?? '',
      attemptsMade: job.attemptsMade,
      finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      signal: signal ?? new AbortController().signal,
      log: log.child({ job: name, jobId: job.id }),
      updateProgress: (progress) => job.updateProgress(progress),
      async retryAfter(ms) {
        await job.moveToDelayed(Date.now() + ms, token);
        throw new DelayedError();
      },
    });
  };

  // A Redis outage makes every worker emit the same error at each reconnect attempt: log
  // each distinct message once a minute at most.
  const lastLogged = new Map<string, number>();
  const reportError = (error: Error, queue: string) => {
    const now = Date.now();
    if (now - (lastLogged.get(error.message) ?? 0) < 60_000) return;
    lastLogged.set(error.message, now);
    log.warn({ err: error, queue }, 'worker error (repeats are logged once a minute)');
  };

  const workers = queueNames.map((queue) => {
    const worker = new Worker(queue, run, {
      connection,
      prefix,
      concurrency: queueSettings[queue].concurrency(tuning),
      // A crashed worker's jobs are taken up again once their lock lapses.
      lockDuration: tuning.jobLockSeconds * 1000,
      stalledInterval: tuning.jobLockSeconds * 1000,
      // A job caught by two worker crashes in a row still completes (default: 1).
      maxStalledCount: 3,
      // Bounds retryAfter loops: a job put back this many times fails.
      maxStartedAttempts: maxStartsPerJob,
      settings: {
        backoffStrategy: (attemptsMade, type, _error, job) =>
          type === backoffType && job ? retryDelay(job.name, attemptsMade) : 0,
      },
    });
    worker.on('error', (error) => reportError(error, queue));
    worker.on('failed', (job, error) =>
      log.warn(
        { queue, job: job?.name, jobId: job?.id, attemptsMade: job?.attemptsMade, err: error },
        'job failed',
      ),
    );
    return worker;
  });

  return {
    workers,
    async close(graceMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      const closed = Promise.all(workers.map((w) => w.close())).then(() => 'closed' as const);
      const outcome = await Promise.race([closed, deadline]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        log.warn(
          { graceMs },
          'workers still closing at the shutdown deadline: cancelling running jobs',
        );
        for (const worker of workers) worker.cancelAllJobs('shutdown');
        // A forced close still talks to Redis; do not let an outage hold the exit.
        await withDeadline(forcedCloseMs, Promise.all(workers.map((w) => w.close(true)))).catch(
          () => log.warn('workers did not close; leaving their jobs to stall recovery'),
        );
      }
    },
  };
}
