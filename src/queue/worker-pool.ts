import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from './connections.js';
import type { Logger } from 'pino';
import { defaultQueueTuning, type QueueTuning } from '../../config/index.js';
import { withDeadline } from '../deadline.js';
import { ProgrammingError } from '../programming-error.js';
import { errorChain, isDatabaseUnavailable } from '../store/availability.js';
import {
  backoffType,
  jobCatalog,
  queueNames,
  queueSettings,
  retryDelay,
  splitJobData,
  type JobName,
  type JobPayload,
} from './catalog.js';
import { assertOneSlotPrefix, isRedisUnavailable } from './connections.js';

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
type JobProcessor<N extends JobName, Deps> = (
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

/**
 * Starts a job may have, Retry-After and outage postponements included. Default: 60.
 * With outage waits of 1, 2, 4, 8, 16 and then 30 s, a job waits out more than 25 minutes of
 * PostgreSQL or Redis being unreachable (far past a 30 s restart or a 60 s failover); a job
 * that also used Retry-After postponements has that much less.
 */
const maxStartsPerJob = 60;

/** The first wait of a job put back for an outage. Default: 1 s */
const firstOutageWaitMs = 1_000;
/** The longest wait of a job put back for an outage, doubled from the first. Default: 30 s */
const maxOutageWaitMs = 30_000;

/**
 * How long a job waits after its `postponements`-th start that met an outage (1 for the
 * first): doubling from one second up to half a minute.
 */
function outageWaitMs(postponements: number): number {
  return Math.min(maxOutageWaitMs, firstOutageWaitMs * 2 ** Math.max(0, postponements - 1));
}

/** PostgreSQL or Redis could not be reached: the work did not fail, its dependencies did. */
export const isOutage = (error: unknown) =>
  isDatabaseUnavailable(error) || isRedisUnavailable(error);

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
  connection: RedisClient;
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
  assertOneSlotPrefix(connection, prefix);

  const run = async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const name = job.name as JobName;
    const definition = jobCatalog[name];
    if (!definition) throw new UnrecoverableError(`unknown job "${job.name}"`);
    const parsed = definition.payload.safeParse(splitJobData(job.data).payload);
    if (!parsed.success) {
      throw new UnrecoverableError(`invalid payload for ${name}: ${parsed.error.message}`);
    }
    // The schema above checked the payload against this very job's definition.
    const processor = processors[name] as (p: unknown, d: Deps, c: JobContext) => Promise<unknown>;
    const postpone = async (ms: number): Promise<never> => {
      await job.moveToDelayed(Date.now() + ms, token);
      throw new DelayedError();
    };
    try {
      return await processor(parsed.data, deps, {
        jobId: job.id ?? '',
        attemptsMade: job.attemptsMade,
        finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        signal: signal ?? new AbortController().signal,
        // Made when a job logs, which most never do: a child logger per job costs more.
        get log() {
          return log.child({ job: name, jobId: job.id });
        },
        updateProgress: (progress) => job.updateProgress(progress),
        retryAfter: postpone,
      });
    } catch (error) {
      if (error instanceof ProgrammingError) {
        // A bug: retrying it would only hide it. Fail now, loudly, with the stack.
        log.error({ job: name, jobId: job.id, err: error }, 'bug: the job fails without retries');
        throw new UnrecoverableError(error.message);
      }
      if (!isOutage(error)) throw error;
      // An outage is not the job's failure: put it back without using an attempt. Starts
      // beyond failed attempts count the postponements so far (stalls and Retry-After too).
      // If Redis itself is down the move waits for it; should the job's lock lapse first, the
      // move fails and the stalled check puts the job back (one of its maxStalledCount).
      const waitMs = outageWaitMs(job.attemptsStarted - job.attemptsMade);
      // The innermost error only: a failed query's wrapper carries its parameters.
      const reason = [...errorChain(error)].at(-1)?.message;
      log.warn(
        { job: name, jobId: job.id, waitMs, reason },
        'database or Redis unreachable: job put back without using an attempt',
      );
      return postpone(waitMs);
    }
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
      // A job caught by two worker crashes in a row still completes (default: 1). A Redis
      // outage longer than the job lock also counts one stall for each job it caught running.
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
