import type { Config } from '../config/index.js';
import type { ServiceDeps } from '../src/dependencies.js';
import type { Logger } from '../src/logger.js';
import type { JobQueues } from '../src/queue/job-queues.js';
import type { Store } from '../src/store/database.js';
import type { KeyRing } from '../src/store/encryption.js';

/** The explicit dependencies every processor receives: the shared services, and these. */
export interface JobDeps extends ServiceDeps {
  config: Config;
  log: Logger;
  store: Store;
  keyRing: KeyRing;
  /** Queues on a connection that waits out Redis outages (jobs enqueue follow-up work). */
  queues: JobQueues;
}
