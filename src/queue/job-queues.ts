import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { defaultQueueTuning, type QueueTuning } from '../../config/index.js';
import {
  backoffType,
  jobCatalog,
  jobNames,
  queueNames,
  retention,
  type JobName,
  type JobPayload,
  type QueueName,
} from './catalog.js';

export interface EnqueueOptions {
  /** Deterministic id: a second add with the same id is ignored. No ':' and not all digits. */
  jobId?: string;
  /** Milliseconds before the job may run. Default: 0 */
  delay?: number;
  /** Lower runs first (1 is highest). Default: none */
  priority?: number;
  /**
   * Ignored while a job added with the same id is waiting, delayed or running; unlike a
   * job id, it stops counting once that job ended. Default: none
   */
  deduplicationId?: string;
}

/** The catalog's queues on one Redis connection, with type-checked enqueueing. */
export class JobQueues {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: Redis,
    readonly prefix: string,
    private readonly tuning: QueueTuning = defaultQueueTuning,
  ) {
    for (const name of queueNames) {
      const queue = new Queue(name, { connection, prefix });
      // Without a listener an 'error' event would crash the process; the connection's own
      // reconnect handles the outage and callers see their command fail.
      queue.on('error', () => {});
      this.queues.set(name, queue);
    }
  }

  get(name: QueueName): Queue {
    return this.queues.get(name)!;
  }

  all(): Queue[] {
    return [...this.queues.values()];
  }

  /** Validates the payload against the catalog, then adds the job with its defaults. */
  async enqueue<N extends JobName>(
    name: N,
    payload: JobPayload<N>,
    options: EnqueueOptions = {},
  ): Promise<Job> {
    const definition = jobCatalog[name];
    const data = definition.payload.parse(payload) as object;
    // A fail-fast producer (no offline queue) must not wait for Redis: BullMQ would hold the
    // add until the connection is ready, and an HTTP request with it.
    if (
      this.connection.options.enableOfflineQueue === false &&
      this.connection.status !== 'ready'
    ) {
      throw new Error(`Redis is not connected (${this.connection.status})`);
    }
    if (
      options.jobId !== undefined &&
      (options.jobId.includes(':') || /^\d+$/.test(options.jobId))
    ) {
      throw new Error(`job id "${options.jobId}" must not contain ':' nor be all digits`);
    }
    const { deduplicationId, ...jobOptions } = options;
    return this.get(definition.queue).add(name, data, {
      attempts: definition.attempts,
      backoff: { type: backoffType },
      ...retention,
      ...jobOptions,
      ...(deduplicationId === undefined ? {} : { deduplication: { id: deduplicationId } }),
    });
  }

  /** Many jobs of one kind in one round trip per chunk (same validation and defaults). */
  async enqueueBulk<N extends JobName>(
    name: N,
    jobs: { payload: JobPayload<N>; jobId: string; delay?: number }[],
  ): Promise<void> {
    const definition = jobCatalog[name];
    for (let i = 0; i < jobs.length; i += 500) {
      await this.get(definition.queue).addBulk(
        jobs.slice(i, i + 500).map((job) => ({
          name,
          data: definition.payload.parse(job.payload),
          opts: {
            jobId: job.jobId,
            ...(job.delay ? { delay: job.delay } : {}),
            attempts: definition.attempts,
            backoff: { type: backoffType },
            ...retention,
          },
        })),
      );
    }
  }

  /**
   * Whether each job id is still in its queue: `live` (waiting, delayed or running),
   * `ended` (completed or failed), or `missing` (never added, removed, or lost with Redis).
   * One round trip for all of them.
   */
  async presence<N extends JobName>(
    name: N,
    ids: string[],
  ): Promise<('live' | 'ended' | 'missing')[]> {
    if (ids.length === 0) return [];
    const queue = this.get(jobCatalog[name].queue);
    const pipeline = this.connection.pipeline();
    for (const id of ids) {
      pipeline.exists(queue.toKey(id));
      pipeline.zscore(queue.toKey('completed'), id);
      pipeline.zscore(queue.toKey('failed'), id);
    }
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((_, i) => {
      const [exists, completed, failed] = replies.slice(i * 3, i * 3 + 3).map(([error, value]) => {
        if (error) throw error;
        return value;
      });
      if (!exists) return 'missing';
      return completed !== null || failed !== null ? 'ended' : 'live';
    });
  }

  /**
   * Creates or updates the scheduler of every scheduled catalog job and sets the refresh
   * queue's global concurrency: what Redis keeps about the queues beyond their jobs. Idempotent,
   * so it runs at every worker start and from the reconciler; returns the scheduled jobs.
   */
  async ensureQueueSetup(): Promise<JobName[]> {
    const scheduled = jobNames.filter((name) => jobCatalog[name].schedule);
    for (const name of scheduled) {
      const definition = jobCatalog[name];
      await this.get(definition.queue).upsertJobScheduler(
        name,
        { pattern: definition.schedule!(this.tuning), tz: 'UTC' },
        {
          name,
          data: {},
          opts: {
            attempts: definition.attempts,
            backoff: { type: backoffType },
            ...retention,
          },
        },
      );
    }
    await this.get('refresh').setGlobalConcurrency(this.tuning.refreshGlobalConcurrency);
    return scheduled;
  }

  /** True when the reconciler's scheduler is gone (Redis lost its data). */
  async reconcilerMissing(): Promise<boolean> {
    return !(await this.get(jobCatalog.reconcile.queue).getJobScheduler('reconcile'));
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((queue) => queue.close()));
  }
}
