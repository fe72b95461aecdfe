import type { Config } from '../config/index.js';
import type { ServiceDeps } from '../src/dependencies.js';
import type { Logger } from '../src/logger.js';
import type { JobQueues } from '../src/queue/job-queues.js';

/** The explicit dependencies every processor receives: the shared services, and these. */
export interface JobDeps extends ServiceDeps {
  config: Config;
  log: Logger;
  /** Queues on a connection that waits out Redis outages (jobs enqueue follow-up work). */
  queues: JobQueues;
}
