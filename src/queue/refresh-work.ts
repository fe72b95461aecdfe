import { stepSentences } from '../microsoft/error-table.js';
import type { PartnerCenterPacer } from './partner-center-pacer.js';
import type { CustomerSubscriptionStore } from '../store/customer-subscriptions.js';
import type { RefreshRunStore } from '../store/refresh-runs.js';
import { jobIds } from './catalog.js';
import type { JobQueues } from './job-queues.js';

/** Partner Center calls one customer refresh makes (subscribed SKUs and subscriptions). */
export const callsPerCustomer = 2;

/**
 * Provisioning-status calls (one per subscription whose SKU is not yet known) a customer's
 * first refresh is held slots for; later refreshes hold none, as their subscriptions' SKUs are
 * known. More than this take further slots when they are met (a job that must wait for them
 * lists again at its later slot). Slots held but not used lengthen the first run without a
 * request in them, a second listing costs two requests: two held keeps both small for
 * customers with a handful of subscriptions. Default: 2
 */
const firstRefreshSkuCalls = 2;

/** The Partner Center requests a customer's refresh holds slots for. */
export function customerRefreshCost(subscriptionsKnown: boolean): number {
  return callsPerCustomer + (subscriptionsKnown ? 0 : firstRefreshSkuCalls);
}

/** BullMQ's lowest priority (the largest number it takes). */
const lowestPriority = 2_097_151;

/**
 * The job at `index` of a fan-out (from 0) runs at priority index + 1. When more work is ready
 * than the workers take (slots of many partners due at once, jobs long with latency), the
 * refresh queue then takes turns between runs: every run's first jobs before any run's
 * hundredth, so a small run's few jobs are not behind a big run's ready backlog. Equal
 * priorities keep their order; the queue's other jobs (no priority) go before any of these.
 */
function fanOutPriority(index: number): number {
  return Math.min(index + 1, lowestPriority);
}

export interface RefreshWorkDeps {
  runs: RefreshRunStore;
  queues: JobQueues;
  pacer: PartnerCenterPacer;
  subscriptions: CustomerSubscriptionStore;
}

export interface EnqueuedTenants {
  /** Tenants whose job was added now, each at its pacing slot. */
  added: string[];
  /** Tenants whose job ended without recording an outcome (it stalled out): now failed. */
  lost: string[];
}

/**
 * Queues a job for every pending tenant of a run that has none, from PostgreSQL. Each job is
 * delayed to its slot in the partner's pacing schedule: the queue then holds only work that
 * may run now, so a partner with thousands of customers feeds the queue at its own pace and
 * a small partner's jobs are not behind its backlog; what is ready at once takes turns by
 * priority (`fanOutPriority`). Ids are derived from the run, the tenant and its retry round;
 * calling this again (the reconciler does) adds only what Redis lost.
 */
export async function enqueuePendingTenants(
  deps: RefreshWorkDeps,
  run: { id: string; partnerId: string },
): Promise<EnqueuedTenants> {
  const pending = (await deps.runs.pendingTenants(run.id)).map(
    ({ tenant, attempts, companyName }) => ({
      tenant,
      attempts,
      companyName,
      jobId:
        attempts === 0
          ? jobIds.refreshCustomer(run.id, tenant)
          : jobIds.retryCustomer(run.id, tenant, attempts),
    }),
  );
  const states = await deps.queues.presence(
    'refreshCustomer',
    pending.map((p) => p.jobId),
  );
  const missing = pending.filter((_, i) => states[i] === 'missing');
  const ended = pending.filter((_, i) => states[i] === 'ended');
  // The lost round counts as an attempt: a retry then gets the next round's job id, not this
  // round's, which Redis keeps (ended) for days and would find lost again.
  for (const attempts of new Set(ended.map((p) => p.attempts))) {
    await deps.runs.fail(
      run.id,
      ended.filter((p) => p.attempts === attempts).map((p) => p.tenant),
      {
        kind: 'transient',
        service: 'partnerCenter',
        code: 'job_lost',
        message: stepSentences.customerJobLost,
      },
      attempts + 1,
    );
  }
  const lost = ended.map((p) => p.tenant);
  const known = await deps.subscriptions.knownTenants(
    run.partnerId,
    missing.map((m) => m.tenant),
  );
  const waits = await deps.pacer.holdSlots(
    run.partnerId,
    missing.map((m) => m.jobId),
    missing.map((m) => customerRefreshCost(known.has(m.tenant))),
  );
  await deps.queues.enqueueBulk(
    'refreshCustomer',
    missing.map(({ tenant, jobId, companyName }, i) => ({
      payload: { runId: run.id, customerTenantId: tenant },
      jobId,
      label: companyName ?? undefined,
      delay: waits[i]!,
      priority: fanOutPriority(i),
    })),
  );
  return { added: missing.map((m) => m.tenant), lost };
}
