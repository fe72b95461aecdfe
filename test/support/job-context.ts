import type { JobDeps } from '../../jobs/deps.js';
import type { Logger } from '../../src/logger.js';
import { createWorkerConnection } from '../../src/queue/connections.js';
import { JobQueues } from '../../src/queue/job-queues.js';
import type { JobContext } from '../../src/queue/worker-pool.js';
import type { Runtime } from '../../src/runtime.js';

/**
 * What `retryAfter` of a test context rejects with: the job asked to be put back for `ms`.
 * A processor that asks never returns, as under the worker pool.
 */
export class RetryAfterRequested extends Error {
  constructor(readonly ms: number) {
    super(`the job asked to be put back for ${ms} ms`);
    this.name = 'RetryAfterRequested';
  }
}

/** A JobContext for calling a processor directly, recording what it asked of its job. */
export interface TestJobContext extends JobContext {
  /** Every `updateProgress` value, in order. */
  progress: (number | object)[];
  /** Every delay `retryAfter` was asked for, in ms. */
  retryAfterCalls: number[];
  /** Fires `signal`, as a shutdown past its grace period does. */
  abort(reason?: unknown): void;
}

export interface TestJobContextOptions {
  jobId: string;
  log: Logger;
  /** Failed attempts so far. Default: 0 */
  attemptsMade?: number;
  /** Whether a failure now is the job's last. Default: false */
  finalAttempt?: boolean;
}

/** One execution of a job as a worker would make it, without BullMQ. */
export function testJobContext(options: TestJobContextOptions): TestJobContext {
  const controller = new AbortController();
  const progress: (number | object)[] = [];
  const retryAfterCalls: number[] = [];
  return {
    jobId: options.jobId,
    attemptsMade: options.attemptsMade ?? 0,
    finalAttempt: options.finalAttempt ?? false,
    signal: controller.signal,
    log: options.log,
    progress,
    retryAfterCalls,
    abort: (reason) => controller.abort(reason),
    updateProgress(value) {
      progress.push(value);
      return Promise.resolve();
    },
    retryAfter(ms) {
      retryAfterCalls.push(ms);
      return Promise.reject(new RetryAfterRequested(ms));
    },
  };
}

/** The dependencies a worker gives its processors, built from a harness's runtime. */
export interface TestJobDeps {
  deps: JobDeps;
  /** Closes the queues and their connection. */
  close(): Promise<void>;
}

/**
 * JobDeps as workers build them: the runtime's services, and queues on a worker connection
 * (one that waits out Redis outages). `prefix` puts the queues elsewhere than the runtime's.
 */
export function testJobDeps(runtime: Runtime, prefix = runtime.config.queuePrefix): TestJobDeps {
  const connection = createWorkerConnection(runtime.config.redisUrl);
  const queues = new JobQueues(connection, prefix, runtime.config.queues);
  return {
    deps: { ...runtime.services, config: runtime.config, log: runtime.log, queues },
    async close() {
      await queues.close();
      connection.disconnect();
    },
  };
}
