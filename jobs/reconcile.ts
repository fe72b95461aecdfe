import { jobIds, type JobName } from '../src/queue/catalog.js';
import { enqueuePendingTenants } from '../src/queue/refresh-work.js';
import { enqueueAlertDeliveries } from '../src/services/alert-delivery.js';
import { latestDigestTime } from '../src/domain/digest-schedule.js';
import { enqueueApply, queueRunReconciliations } from '../src/services/billing-reconciliation.js';
import { keepTimedAlerts } from '../src/services/timed-alerts.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import type { JobDeps } from './deps.js';

export interface ReconcileSummary {
  /** Scheduled jobs whose schedulers were re-created or confirmed (with queue settings). */
  schedules: JobName[];
  /** Received consents whose code exchange was (re-)enqueued. */
  exchanges: number;
  /** Received consents failed because their exchange job had ended failed. */
  abandonedExchanges: number;
  /** Stored consents whose domain-matched replacement was (re-)enqueued. */
  replacements: number;
  /** Open refresh runs whose remaining work was (re-)enqueued. */
  openRuns: number;
  /** Started consents closed as expired. */
  expiredAttempts: number;
  /** Completed runs whose PSA reconciliation was queued. */
  billingReconciliations: number;
  /** Companies whose approved PSA changes got their apply job (again). */
  billingApplies: number;
  /** Deliveries of the alerts time raised or resolved (see keepTimedAlerts). */
  timedAlertDeliveries: number;
  /** Pending alert deliveries whose job Redis no longer had, queued again. */
  alertDeliveries: number;
  /** Pending alert deliveries failed because their job had failed without an outcome. */
  abandonedAlertDeliveries: number;
  /** Whether an overdue daily digest was queued (its scheduled run was missed or lost). */
  overdueDigest: boolean;
  /** Refresh runs past RUN_RETENTION_DAYS deleted, and their per-customer results. */
  expiredRuns: { runs: number; results: number };
}

/** What the alert history says of a delivery whose job failed without recording an outcome. */
export const abandonedDeliveryMessage =
  'Not sent: the delivery job ended without an outcome (it stalled or was put back too often).';

/**
 * Queues again each pending alert delivery whose job is missing from Redis (lost, or never
 * added because Redis was down at the commit). Its job id comes from the row, so a job still
 * queued is not doubled. A job that failed without recording an outcome (stalled out) fails
 * its delivery with a sentence, rather than leaving it pending for ever.
 */
async function requeueAlertDeliveries(
  deps: JobDeps,
): Promise<{ requeued: number; abandoned: number }> {
  // A row its writer is queueing right now gets the same job id: the second add is ignored.
  const pending = await deps.alerts.pendingDeliveries();
  const ids = pending.map(jobIds.deliverAlert);
  const presence = await deps.queues.presence('deliverAlert', ids);
  const missing = pending.filter((_, i) => presence[i] === 'missing');
  await enqueueAlertDeliveries(deps.queues, missing);
  let abandoned = 0;
  for (const [i, id] of pending.entries()) {
    if (presence[i] !== 'ended') continue;
    if ((await deps.queues.get('alerts').getJobState(ids[i]!)) !== 'failed') continue;
    await deps.alerts.finish(id, { failed: abandonedDeliveryMessage });
    abandoned += 1;
  }
  return { requeued: missing.length, abandoned };
}

/** After the digest hour, the scheduled run has this long before the reconciler queues one. */
const digestGraceMs = 10 * 60_000;

/**
 * Queues the digest job when deliveries wait that the last digest time should have sent (its
 * scheduled run was lost with Redis, or missed while no worker ran). Once per digest day; a
 * run that finds nothing pending sends nothing.
 */
async function queueOverdueDigest(deps: JobDeps, now = new Date()): Promise<boolean> {
  const { at, day } = latestDigestTime(now, deps.config.queues.alertDigestHourUtc);
  if (now.getTime() - at.getTime() < digestGraceMs) return false;
  if (!(await deps.alerts.digestOverdue(at))) return false;
  await deps.queues.enqueue('sendAlertDigests', {}, { jobId: jobIds.sendAlertDigests(day) });
  return true;
}

/** A received consent younger than this may still be on its way into the queue. */
const graceMs = 30_000;

/** What the partner reads when the exchange job gave up without finishing the consent. */
export const abandonedExchangeMessage =
  'The consent could not be completed: processing it failed repeatedly. Grant consent again.';

/**
 * Re-creates the queue work PostgreSQL says should exist (work Redis lost, or never got
 * because Redis was down when a callback arrived). Job ids are derived from the rows, so
 * work that is still queued is not duplicated.
 */
export async function reconcile(
  _payload: Record<string, never>,
  deps: JobDeps,
  ctx: JobContext,
): Promise<ReconcileSummary> {
  const schedules = await deps.queues.ensureQueueSetup();
  const received = await deps.attempts.awaitingExchange(new Date(Date.now() - graceMs));
  let exchanges = 0;
  let abandonedExchanges = 0;
  for (const attempt of received) {
    const jobId = jobIds.exchangeConsentCode(attempt.id);
    // A failed job keeps its id for days, so adding it again would be a no-op and the page
    // would wait forever: the attempt fails with a sentence instead (a job missing from Redis
    // is simply added again below). Failures are rare now that outages use no attempts.
    if ((await deps.queues.get('consent').getJobState(jobId)) === 'failed') {
      if (await deps.attempts.failExchange(attempt.id, abandonedExchangeMessage)) {
        abandonedExchanges += 1;
        ctx.log.warn({ attemptId: attempt.id }, 'consent exchange job failed: attempt failed');
      }
      continue;
    }
    await deps.queues.enqueue('exchangeConsentCode', { attemptId: attempt.id }, { jobId });
    exchanges += 1;
  }
  const consents = await deps.attempts.consentsAwaitingReplacement();
  for (const id of consents) {
    await deps.queues.enqueue(
      'replaceLegacyAdmins',
      { delegatedAdminId: id },
      { jobId: jobIds.replaceLegacyAdmins(id) },
    );
  }
  const openRuns = await deps.runs.open();
  for (const run of openRuns) {
    if (run.total === 0) {
      await deps.queues.enqueue(
        'refreshPartner',
        { runId: run.id },
        { jobId: jobIds.refreshPartner(run.id) },
      );
    } else {
      await enqueuePendingTenants(deps, run);
      // A run whose last customer's job died between its commit and completing the run.
      await deps.runs.settle(run.id);
    }
  }
  const expiredAttempts = await deps.attempts.expireStale();
  // The job that completes a run queues its reconciliation; this catches what a crash missed.
  const billingReconciliations = await queueRunReconciliations(deps);
  const toApply = await deps.psaSync.companiesToApply();
  for (const { partnerId, companyId } of toApply) await enqueueApply(deps, partnerId, companyId);
  const timedAlertDeliveries = await keepTimedAlerts(deps, new Date());
  const deliveries = await requeueAlertDeliveries(deps);
  const overdueDigest = await queueOverdueDigest(deps);
  const expiredRuns = await deps.runRetention.deleteExpired(deps.config.runRetentionDays);
  const summary = {
    schedules,
    exchanges,
    abandonedExchanges,
    replacements: consents.length,
    openRuns: openRuns.length,
    expiredAttempts,
    billingReconciliations,
    billingApplies: toApply.length,
    timedAlertDeliveries,
    alertDeliveries: deliveries.requeued,
    abandonedAlertDeliveries: deliveries.abandoned,
    overdueDigest,
    expiredRuns,
  };
  ctx.log.debug(summary, 'reconciled');
  return summary;
}
