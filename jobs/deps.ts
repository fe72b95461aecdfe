import type { Config } from '../config/index.js';
import type { Logger } from '../src/logger.js';
import type { MicrosoftIdentity } from '../src/microsoft/identity.js';
import type { PartnerCenterClient } from '../src/microsoft/partner-center.js';
import type { JobQueues } from '../src/queue/job-queues.js';
import type { ConsentAttemptStore } from '../src/store/consent-attempts.js';
import type { Store } from '../src/store/database.js';
import type { KeyRing } from '../src/store/encryption.js';
import type { PartnerStore } from '../src/store/partners.js';
import type { RefreshRunStore } from '../src/store/refresh-runs.js';
import type { TokenCacheStore } from '../src/store/token-cache.js';

/** The explicit dependencies every processor receives. */
export interface JobDeps {
  config: Config;
  log: Logger;
  store: Store;
  keyRing: KeyRing;
  /** Queues on a connection that waits out Redis outages (jobs enqueue follow-up work). */
  queues: JobQueues;
  partners: PartnerStore;
  attempts: ConsentAttemptStore;
  tokenCache: TokenCacheStore;
  identity: MicrosoftIdentity;
  partnerCenter: PartnerCenterClient;
  runs: RefreshRunStore;
}
