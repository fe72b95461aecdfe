import { z } from 'zod';
import type { QueueTuning } from '../../config/index.js';

/** Queues by the kind of work they hold; each gets one BullMQ Worker per process. */
export const queueSettings = {
  /** Housekeeping: the reconciler. */
  maintenance: {
    /** Jobs of this queue run at once in one process. Default: 1 */
    concurrency: () => 1,
  },
  /**
   * A partner's own work: a run's customer listing and fan-out, with its GDAP read beside, and
   * GDAP reads on request. Off the refresh queue: a job here waits on the partner's paces for
   * minutes at a time, and when many partners start together (the daily schedule) their
   * listings must neither hold the slots their customers' jobs need nor wait behind each
   * other's GDAP reads.
   */
  partners: {
    /** Default: 100 (each job waits on one partner's paces, not on this process) */
    concurrency: () => 100,
  },
  /** License refresh: one job per customer tenant. */
  refresh: {
    /** REFRESH_CONCURRENCY; REFRESH_GLOBAL_CONCURRENCY caps all processes. */
    concurrency: (tuning) => tuning.refreshConcurrency,
  },
  /** Billing sync: reconciliation with the partner's PSA and the writes to it. */
  billing: {
    /** Default: 4 */
    concurrency: () => 4,
  },
  /** Consent completion: code exchange and delegated-admin replacement. */
  consent: {
    /** Default: 5 */
    concurrency: () => 5,
  },
  /** Alert deliveries: one job per message to one channel. */
  alerts: {
    /** Default: 10 (each job waits on a receiver, not on this process) */
    concurrency: () => 10,
  },
} as const satisfies Record<string, { concurrency: (tuning: QueueTuning) => number }>;
export type QueueName = keyof typeof queueSettings;
export const queueNames = Object.keys(queueSettings) as QueueName[];

export interface JobDefinition<Payload extends z.ZodType = z.ZodType> {
  queue: QueueName;
  /** Job data: ids and small values only; never a secret (BullMQ stores it in clear). */
  payload: Payload;
  /** Attempts before the job is marked failed. */
  attempts: number;
  /** Delay before the first retry, doubled at each attempt (up to maxBackoffMs), with jitter. */
  backoffMs: number;
  /** The longest wait between two attempts. Default: defaultMaxBackoffMs */
  maxBackoffMs?: number;
  /** Repeat on a cron pattern (seconds field first, UTC) for jobs the service schedules. */
  schedule?: (tuning: QueueTuning) => string;
}

/** The longest wait between two attempts of a job that sets no `maxBackoffMs`: 5 minutes. */
const defaultMaxBackoffMs = 5 * 60_000;

/**
 * Completed jobs are kept briefly for the dashboard; failed ones long, for diagnosis. Both by
 * age and by count, so no queue's kept jobs grow with the number of customers.
 */
export const retention = {
  /** Default: one day, at most 1,000 jobs per queue. */
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  /** Default: 14 days, at most 10,000 jobs per queue. */
  removeOnFail: { age: 14 * 24 * 3600, count: 10_000 },
} as const;

/** The hour (UTC) of the daily refresh of every partner. Default: 3 */
export const scheduledRefreshHourUtc = 3;

const defineJob = <P extends z.ZodType>(definition: JobDefinition<P>) => definition;

/**
 * Every job the service runs, in one place. Enqueueing is type-checked against the payload
 * schema, and start-up fails when a job here has no processor.
 */
export const jobCatalog = {
  /**
   * Re-creates queue work that Redis lost, from PostgreSQL (the source of truth).
   * Runs every RECONCILE_INTERVAL_SECONDS; safe to run at any time.
   */
  reconcile: defineJob({
    queue: 'maintenance',
    payload: z.object({}).strict(),
    attempts: 3,
    backoffMs: 5_000,
    schedule: ({ reconcileIntervalSeconds: every }) =>
      every === 60 ? '0 * * * * *' : `*/${every} * * * * *`,
  }),
  /**
   * Exchanges a consent's authorization code for tokens, checks MFA and the Admin Agent role,
   * and stores the consent. A code lives about ten minutes: quick retries only.
   */
  exchangeConsentCode: defineJob({
    queue: 'consent',
    payload: z.object({ attemptId: z.uuid() }).strict(),
    attempts: 4,
    backoffMs: 2_000,
  }),
  /** Replaces the partner's delegated admins of the consent's domain (one transaction). */
  replaceLegacyAdmins: defineJob({
    queue: 'consent',
    payload: z.object({ delegatedAdminId: z.uuid() }).strict(),
    attempts: 8,
    backoffMs: 2_000,
  }),
  /** Starts the daily refresh of every partner with an active consent (03:00 UTC). */
  refreshAllPartners: defineJob({
    queue: 'maintenance',
    payload: z.object({}).strict(),
    attempts: 5,
    backoffMs: 60_000,
    schedule: () => `0 0 ${scheduledRefreshHourUtc} * * *`,
  }),
  /** Lists a partner's customers (all pages) and fans out one job per customer tenant. */
  refreshPartner: defineJob({
    queue: 'partners',
    payload: z.object({ runId: z.uuid() }).strict(),
    attempts: 6,
    backoffMs: 5_000,
  }),
  /** Reads one customer's subscribed SKUs and subscriptions into a license snapshot set. */
  refreshCustomer: defineJob({
    queue: 'refresh',
    payload: z.object({ runId: z.uuid(), customerTenantId: z.uuid() }).strict(),
    // Two calls per attempt: at a 20% error rate six attempts still lose about one customer
    // in five hundred; ten, with waits capped at half a minute, lose none in practice.
    attempts: 10,
    backoffMs: 2_000,
    maxBackoffMs: 30_000,
  }),
  /**
   * The custom-license refresh-token validation of one partner: on saving the token, daily,
   * on request, and before each refresh that counts custom licenses.
   */
  validateCustomLicenseToken: defineJob({
    // Not the consent queue: a daily batch of validations must not hold up code exchanges,
    // whose codes live ten minutes.
    queue: 'refresh',
    payload: z.object({ partnerId: z.uuid() }).strict(),
    attempts: 5,
    backoffMs: 10_000,
  }),
  /** Validates every partner's custom-license token (04:00 UTC), keeping each alive. */
  validateCustomLicenseTokens: defineJob({
    queue: 'maintenance',
    payload: z.object({}).strict(),
    attempts: 5,
    backoffMs: 60_000,
    schedule: () => '0 0 4 * * *',
  }),
  /** Reads a partner's GDAP access to each customer (relationships, roles), on request. */
  refreshAccess: defineJob({
    queue: 'partners',
    payload: z.object({ partnerId: z.uuid() }).strict(),
    attempts: 5,
    backoffMs: 10_000,
  }),
  /**
   * Consents the app in customer tenants through Partner Center, one after another; each
   * customer's outcome is recorded, so the job is not retried (a repeat would consent again).
   */
  consentApps: defineJob({
    queue: 'refresh',
    payload: z
      .object({
        partnerId: z.uuid(),
        customerTenantIds: z.array(z.uuid()).min(1).max(10_000),
        /** Who asked, for the audit: a user's email or the API. */
        actor: z.string().min(1).max(320),
      })
      .strict(),
    attempts: 1,
    backoffMs: 10_000,
  }),
  /**
   * Reconciles a partner's companies with its PSA: after each completed refresh run (queued
   * by the reconciler) and on request. Fans out one job per linked company.
   */
  reconcileBilling: defineJob({
    queue: 'billing',
    payload: z.object({ partnerId: z.uuid(), runId: z.uuid().optional() }).strict(),
    attempts: 5,
    backoffMs: 10_000,
  }),
  /** Reads one company's lines from the PSA, saves its reconciliation and plans its changes. */
  reconcileCompanyBilling: defineJob({
    queue: 'billing',
    payload: z.object({ partnerId: z.uuid(), companyId: z.uuid() }).strict(),
    attempts: 8,
    backoffMs: 5_000,
    maxBackoffMs: 120_000,
  }),
  /**
   * Writes one company's approved changes to the PSA. Each write reads the billed quantity
   * back first, so a retry after a crash never applies a change twice.
   */
  applyCompanyBilling: defineJob({
    queue: 'billing',
    payload: z.object({ partnerId: z.uuid(), companyId: z.uuid() }).strict(),
    attempts: 8,
    backoffMs: 5_000,
    maxBackoffMs: 120_000,
  }),
  /**
   * Sends one alert message to one channel (an outbox row). Retried on 5xx, timeouts and
   * network errors for one to two hours (2 s doubling to 30 min, with jitter); a 429 waits its
   * Retry-After without using an attempt; any other 4xx fails at once and breaks the channel.
   */
  deliverAlert: defineJob({
    queue: 'alerts',
    payload: z.object({ deliveryId: z.uuid() }).strict(),
    attempts: 14,
    backoffMs: 2_000,
    maxBackoffMs: 30 * 60_000,
  }),
  /**
   * Sends each channel with the daily digest on one message with the alerts raised and
   * resolved since its last digest, at ALERT_DIGEST_HOUR_UTC; the reconciler queues it again
   * when a digest is overdue. Safe to run at any time: sent deliveries are not sent again.
   */
  sendAlertDigests: defineJob({
    queue: 'alerts',
    payload: z.object({}).strict(),
    attempts: 8,
    backoffMs: 60_000,
    maxBackoffMs: 30 * 60_000,
    schedule: ({ alertDigestHourUtc }) => `0 0 ${alertDigestHourUtc} * * *`,
  }),
  /**
   * Seals again with the first key of ENCRYPTION_KEYS every value an older key sealed. Queued
   * at worker start-up when such values exist; `npm run keys -- reseal` does the same at once.
   */
  resealKeys: defineJob({
    queue: 'maintenance',
    payload: z.object({}).strict(),
    attempts: 3,
    backoffMs: 60_000,
  }),
};

/** The retry policy every catalog job uses: exponential, capped, with half the delay random. */
export const backoffType = 'cappedExponential';

/** Milliseconds before retry `attemptsMade` (1 after the first failure) of a catalog job. */
export function retryDelay(name: string, attemptsMade: number, random = Math.random()): number {
  const definition = (jobCatalog as Record<string, JobDefinition>)[name];
  if (!definition) return 0;
  const full = Math.min(
    definition.maxBackoffMs ?? defaultMaxBackoffMs,
    definition.backoffMs * 2 ** Math.max(0, attemptsMade - 1),
  );
  return Math.round(full / 2 + (full / 2) * random);
}

/** Job ids derived from what they act on, so a repeat enqueue is a no-op. */
export const jobIds = {
  exchangeConsentCode: (attemptId: string) => `consent-exchange-${attemptId}`,
  replaceLegacyAdmins: (delegatedAdminId: string) => `replace-admins-${delegatedAdminId}`,
  refreshPartner: (runId: string) => `refresh-run-${runId}`,
  refreshCustomer: (runId: string, tenant: string) => `refresh-${runId}-${tenant}`,
  /** One validation per partner and `key` (a day, a token, a request). */
  validateCustomLicenseToken: (partnerId: string, key: string) =>
    `validate-custom-license-${partnerId}-${key}`,
  /** One access read per partner and `key` (a request). */
  refreshAccess: (partnerId: string, key: string) => `refresh-access-${partnerId}-${key}`,
  /** One app-consent round per partner and `key` (a request). */
  consentApps: (partnerId: string, key: string) => `consent-apps-${partnerId}-${key}`,
  /** One billing reconciliation per partner and `key` (a run, a request). */
  reconcileBilling: (partnerId: string, key: string) => `reconcile-billing-${partnerId}-${key}`,
  /** One company reconciliation per company and `key` (the partner's reconciliation). */
  reconcileCompanyBilling: (companyId: string, key: string) =>
    `reconcile-billing-company-${companyId}-${key}`,
  /** A company's writes to its PSA, once per `key` (a time); deduplicated while one is live. */
  applyCompanyBilling: (companyId: string, key: string) => `apply-billing-${companyId}-${key}`,
  /** One job per outbox row: queued after the commit, and again by the reconciler. */
  deliverAlert: (deliveryId: string) => `alert-delivery-${deliveryId}`,
  /** The reconciler's run of an overdue digest: once per digest day. */
  sendAlertDigests: (day: string) => `alert-digests-${day}`,
  /** A retry of a failed tenant: the failed job keeps its id, so each retry round gets one. */
  retryCustomer: (runId: string, tenant: string, attempts: number) =>
    `refresh-${runId}-${tenant}-retry${attempts}`,
};

/** Keys under which a job is added once while one is waiting, delayed or running. */
export const deduplicationKeys = {
  /** A validation on request: fifty clicks while one is pending make no second job. */
  validateCustomLicenseToken: (partnerId: string) => `validate-custom-license-${partnerId}`,
  /** An access read on request: one waiting or running per partner. */
  refreshAccess: (partnerId: string) => `refresh-access-${partnerId}`,
  /** A company's writes to its PSA: one waiting or running per company. */
  applyCompanyBilling: (companyId: string) => `apply-billing-${companyId}`,
  /** A reseal: one waiting or running per first key. */
  resealKeys: (currentKeyId: string) => `reseal-keys-${currentKeyId}`,
};

/** The longest `label` a job's data keeps (a company's name, cut). Default: 80 */
const maxJobLabelLength = 80;

/**
 * Job data: the catalog payload (ids) and, for a job about one company, its `label`: the
 * company's name, so the dashboard names the job by more than a tenant id. The label is for
 * people only; processors see the payload. Never a secret.
 */
export function jobData(payload: object, label?: string): object {
  const short = label?.trim().slice(0, maxJobLabelLength);
  return short ? { ...payload, label: short } : payload;
}

/** A job's data split back into the payload its processor takes and its label. */
export function splitJobData(data: unknown): { payload: unknown; label?: string } {
  if (typeof data !== 'object' || data === null || !('label' in data)) return { payload: data };
  const { label, ...payload } = data;
  return { payload, ...(typeof label === 'string' ? { label } : {}) };
}

type JobCatalog = typeof jobCatalog;
export type JobName = keyof JobCatalog;
export type JobPayload<N extends JobName> = z.infer<JobCatalog[N]['payload']>;
export const jobNames = Object.keys(jobCatalog) as JobName[];
