import { Queue, type Job } from 'bullmq';
import { assertOneSlotPrefix, type RedisClient } from './connections.js';
import { defaultQueueTuning, type QueueTuning } from '../../config/index.js';
import {
  backoffType,
  jobCatalog,
  jobData,
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
   * While a job added with this key waits, is delayed or runs, another add with it is ignored
   * (and answers that job). Default: none
   */
  deduplicationKey?: string;
  /**
   * A short name for people, shown on the dashboard beside the job's name: the company the
   * job is about. Kept in the job's data as `label`, outside the payload. Default: none
   */
  label?: string;
}

/** The catalog's queues on one Redis connection, with type-checked enqueueing. */
export class JobQueues {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: RedisClient,
    readonly prefix: string,
    private readonly tuning: QueueTuning = defaultQueueTuning,
  ) {
    assertOneSlotPrefix(connection, prefix);
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
    const job = this.checked(name, payload, options);
    return this.get(jobCatalog[name].queue).add(job.name, job.data, job.opts);
  }

  /** Many jobs of one kind in one round trip per chunk, each checked as `enqueue` checks it. */
  async enqueueBulk<N extends JobName>(
    name: N,
    jobs: ({ payload: JobPayload<N> } & EnqueueOptions)[],
  ): Promise<void> {
    // Every job is checked before any is added: a bad one adds none.
    const checked = jobs.map(({ payload, ...options }) => this.checked(name, payload, options));
    for (let i = 0; i < checked.length; i += 500) {
      await this.get(jobCatalog[name].queue).addBulk(checked.slice(i, i + 500));
    }
  }

  /**
   * The one gate into the queues: the payload matches the catalog, Redis is connected (for a
   * fail-fast producer), the job id is one BullMQ can take; the catalog's defaults apply.
   */
  private checked<N extends JobName>(name: N, payload: JobPayload<N>, options: EnqueueOptions) {
    const definition = jobCatalog[name];
    const { label, deduplicationKey, ...jobOptions } = options;
    const data = jobData(definition.payload.parse(payload), label);
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
    return {
      name,
      data,
      opts: {
        attempts: definition.attempts,
        backoff: { type: backoffType },
        ...retention,
        ...jobOptions,
        ...(deduplicationKey ? { deduplication: { id: deduplicationKey } } : {}),
      },
    };
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
