import type { AxiosInstance } from 'axios';
import type { RedisClient } from './queue/connections.js';
import type { Config } from '../config/index.js';
import { createHttpClient } from './http-client.js';
import { GraphClient } from './microsoft/graph.js';
import { createMicrosoftHttp, type MicrosoftHttp } from './microsoft/http.js';
import { MicrosoftIdentity } from './microsoft/identity.js';
import { PartnerCenterClient } from './microsoft/partner-center.js';
import { GraphPacer } from './queue/graph-pacer.js';
import type { JobQueues } from './queue/job-queues.js';
import { PartnerCenterPacer } from './queue/partner-center-pacer.js';
import { withLock } from './queue/partition-lock.js';
import { CustomerAccessStore } from './store/access.js';
import { AlertStore } from './store/alerts.js';
import { ConsentAttemptStore } from './store/consent-attempts.js';
import { ConsentStore } from './store/consents.js';
import { CustomLicenseStore } from './store/custom-licenses.js';
import { CustomerSubscriptionStore } from './store/customer-subscriptions.js';
import { LateRunStore } from './store/late-runs.js';
import type { Store } from './store/database.js';
import type { KeyRing } from './store/encryption.js';
import { psaRegistry } from './psa/registry.js';
import type { PsaRegistry } from './psa/registry.js';
import { PsaPacing } from './queue/psa-pacing.js';
import { SealedValueStore } from './store/key-rotation.js';
import { PsaConnectionStore } from './store/psa-connections.js';
import { PsaSyncStore } from './store/psa-sync.js';
import { NotificationChannelStore } from './store/notification-channels.js';
import { PartnerStore } from './store/partners.js';
import { RefreshRunStore } from './store/refresh-runs.js';
import { RunRetentionStore } from './store/run-retention.js';
import { SeatHistoryStore } from './store/seat-history.js';
import { TokenCacheStore } from './store/token-cache.js';
import { UserStore } from './store/users.js';

/** The stores and Microsoft clients the API and the jobs share, built once per process. */
export interface Services {
  /** The outbound client for Microsoft calls. */
  http: MicrosoftHttp;
  partners: PartnerStore;
  attempts: ConsentAttemptStore;
  /** Consents from a redeemed code to the partner's consent in use. */
  consents: ConsentStore;
  tokenCache: TokenCacheStore;
  identity: MicrosoftIdentity;
  partnerCenter: PartnerCenterClient;
  runs: RefreshRunStore;
  /** Deletes refresh runs past their retention. */
  runRetention: RunRetentionStore;
  /** Scheduled refreshes that did not start and runs that do not end: their alerts. */
  lateRuns: LateRunStore;
  /** Customer subscriptions, their terms and their SKUs. */
  subscriptions: CustomerSubscriptionStore;
  pacer: PartnerCenterPacer;
  graph: GraphClient;
  /** Paces Graph calls by resource units per tenant and per app, and per partner. */
  graphPacer: GraphPacer;
  customLicenses: CustomLicenseStore;
  /** GDAP access per customer, and the fixes asked for it. */
  access: CustomerAccessStore;
  users: UserStore;
  /** The values sealed by an older key than the first, and their reseal. */
  sealedValues: SealedValueStore;
  /** The partner's PSA connection, company links and product mappings. */
  psaConnections: PsaConnectionStore;
  /** Reconciliation rows, planned changes and the ledger of PSA writes. */
  psaSync: PsaSyncStore;
  /** Every change of a company's seat counts. */
  seatHistory: SeatHistoryStore;
  psaRegistry: PsaRegistry;
  /** Keeps each partner's PSA calls within the PSA's limits across workers. */
  psaPacing: PsaPacing;
  /** The outbound client for PSA calls. */
  psaHttp: AxiosInstance;
  /** Alerts and their delivery outbox. */
  alerts: AlertStore;
  /** Where alerts go: webhooks, Teams and Slack, with sealed URLs and secrets. */
  notificationChannels: NotificationChannelStore;
}

/** What the services in src/services use: the shared stores and clients, and the queues. */
export interface ServiceDeps extends Services {
  /** Queues to enqueue follow-up work on (the API's, or the workers' that wait out outages). */
  queues: JobQueues;
}

export function createServices(
  config: Config,
  store: Store,
  keyRing: KeyRing,
  redis: RedisClient,
): Services {
  const http = createMicrosoftHttp({
    extraCaFile: config.microsoft.extraCaFile,
    timeoutMs: config.microsoft.httpTimeoutSeconds * 1000,
    proxy: config.outboundProxy,
  });
  const tokenCache = new TokenCacheStore(store.db, keyRing);
  const lockPrefix = `${config.queuePrefix}:lock:`;
  const partners = new PartnerStore(store.db, keyRing);
  return {
    http,
    partners,
    attempts: new ConsentAttemptStore(store.db, keyRing),
    consents: new ConsentStore(store.db, tokenCache),
    tokenCache,
    identity: new MicrosoftIdentity(config, http, tokenCache, (key, fn) =>
      withLock(redis, `${lockPrefix}${key}`, fn),
    ),
    partnerCenter: new PartnerCenterClient(http, config.microsoft.endpoints.partnerCenterUrl),
    runs: new RefreshRunStore(store.db),
    runRetention: new RunRetentionStore(store.db),
    lateRuns: new LateRunStore(store.db),
    subscriptions: new CustomerSubscriptionStore(store.db),
    pacer: new PartnerCenterPacer(
      redis,
      config.queuePrefix,
      config.microsoft.partnerCenterRps,
      (partnerId) => partners.partnerCenterPace(partnerId),
    ),
    graph: new GraphClient(http, config.microsoft.endpoints.graphUrl),
    graphPacer: new GraphPacer(redis, config.queuePrefix, {
      partnerRequestsPerSecond: config.microsoft.graphRps,
      tenantResourceUnitsPer10s: config.microsoft.graphTenantResourceUnitsPer10s,
      appResourceUnitsPer20s: config.microsoft.graphAppResourceUnitsPer20s,
    }),
    customLicenses: new CustomLicenseStore(store.db),
    access: new CustomerAccessStore(store.db),
    users: new UserStore(store.db),
    sealedValues: new SealedValueStore(store.db, keyRing),
    psaConnections: new PsaConnectionStore(store.db, keyRing),
    psaSync: new PsaSyncStore(store.db),
    seatHistory: new SeatHistoryStore(store.db),
    psaRegistry,
    psaPacing: new PsaPacing(redis, config.queuePrefix),
    psaHttp: createHttpClient({
      extraCaFile: config.microsoft.extraCaFile,
      timeoutMs: config.microsoft.httpTimeoutSeconds * 1000,
      maxSockets: 16,
    }),
    alerts: new AlertStore(store.db),
    notificationChannels: new NotificationChannelStore(store.db, keyRing),
  };
}
