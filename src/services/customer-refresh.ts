import { randomUUID } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import type { ServiceDeps } from '../dependencies.js';
import { licenseSnapshots, type SubscribedSkuCounts } from '../domain/licenses.js';
import { lastAttemptFailure, type MicrosoftFailure } from '../microsoft/error-table.js';
import { classifyMicrosoftError } from '../microsoft/errors.js';
import { partnerCenterScope } from '../microsoft/identity.js';
import type {
  PartnerCenterCollection,
  PartnerCenterSubscription,
} from '../microsoft/partner-center.js';
import { callsPerCustomer, customerRefreshCost } from '../queue/refresh-work.js';
import { isOutage, type JobContext } from '../queue/worker-pool.js';
import { consentPartition, recordAppConsent } from './access.js';
import type { CustomerJobStart } from '../store/refresh-runs.js';
import { countCustomLicenses } from './custom-licenses.js';
import { stopForFailure } from './refresh.js';
import {
  resolveSubscriptionSkus,
  subscriptionRow,
  type SkuResolution,
} from './subscription-skus.js';

export type RefreshCustomerOutcome = 'succeeded' | 'failed' | 'no_access' | 'skipped';

/**
 * One customer tenant: subscribed SKUs and subscriptions (each joined to its SKU through its
 * provisioning status, asked once per subscription) into one snapshot set and the customer's
 * subscription terms, then its custom-license counts. A failure of
 * this tenant alone fails it alone; a failure of the consent stops the partner's run, and the
 * partner's other jobs then end without calling Microsoft.
 */
export async function refreshCustomerTenant(
  deps: ServiceDeps,
  ctx: JobContext,
  runId: string,
  customerTenantId: string,
  options: { claimLeaseMs: number },
): Promise<RefreshCustomerOutcome> {
  // Another copy of this job (a stalled one, or one the reconciler re-added after Redis lost
  // it) may be asking Microsoft for this customer, or have recorded it: then Microsoft is not
  // asked again. The claim, taken with the read, lapses as a job lock does.
  const claim = randomUUID();
  const start = await deps.runs.customerJobStart(runId, customerTenantId, {
    claim,
    leaseMs: options.claimLeaseMs,
  });
  if (!start || start.result.status !== 'pending') return 'skipped';
  const { run, result } = start;
  // Attempts of earlier retry rounds, plus this job's.
  const attempts = result.attempts + ctx.attemptsMade + 1;
  const consent = run.status === 'running' && start.consentId ? { id: start.consentId } : undefined;
  if (!consent) {
    const message =
      run.error ??
      'The refresh stopped: the consent is not active. Grant Partner Center consent again.';
    await deps.runs.fail(
      runId,
      [customerTenantId],
      { kind: 'needs_reconsent', service: 'partnerCenter', code: 'run_stopped', message },
      attempts,
    );
    return 'failed';
  }
  if (!start.claim.claimed) return ctx.retryAfter(Math.max(start.claim.heldForMs, 1000));
  try {
    // The Partner Center calls below take their place in the partner's schedule: the slot
    // held since the job was queued, or a new one for a retry. A slot ahead is waited for in
    // the delayed set (the claim given up meanwhile), so a big partner does not hold workers
    // others need. A customer whose subscriptions are known needs only the two listings; a
    // new one also asks for its subscriptions' SKUs, and its slot was held for some of them.
    const { known } = start;
    const slot = await deps.pacer.slotFor(
      run.partnerId,
      ctx.jobId,
      customerRefreshCost(known.recorded),
    );
    if (!slot.inPlace) await ctx.retryAfter(slot.waitMs);
    if (slot.waitMs > 0) await setTimeout(slot.waitMs);
    return await refreshClaimed(deps, ctx, {
      runId,
      customerTenantId,
      start,
      consent,
      known,
      slot,
      attempts,
    });
  } catch (error) {
    // Put back or failing for a retry: the next execution need not wait the claim out.
    await deps.runs.release(runId, customerTenantId, claim).catch(() => {});
    throw error;
  }
}

async function refreshClaimed(
  deps: ServiceDeps,
  ctx: JobContext,
  job: {
    runId: string;
    customerTenantId: string;
    start: CustomerJobStart;
    consent: { id: string };
    known: CustomerJobStart['known'];
    slot: { cost: number };
    attempts: number;
  },
): Promise<RefreshCustomerOutcome> {
  const { runId, customerTenantId, start, consent, known, slot, attempts } = job;
  const { run, result } = start;
  const partition = consentPartition(run.partnerId, consent);
  let skus: PartnerCenterCollection<SubscribedSkuCounts>;
  let subscriptions: PartnerCenterCollection<PartnerCenterSubscription>;
  let resolution: SkuResolution;
  try {
    const { accessToken } = await deps.identity.accessToken(partition, [partnerCenterScope]);
    // A sign-in to the customer tenant is the access check GDAP and the app's consent there
    // decide (50020, 50177, 90099, 65001): a customer that refuses is not asked for anything.
    await deps.identity.trySignIn(partition, [partnerCenterScope], customerTenantId);
    if (start.appConsent !== 'consented')
      await recordAppConsent(deps, run.partnerId, customerTenantId, true);
    [skus, subscriptions] = await Promise.all([
      deps.partnerCenter.get<PartnerCenterCollection<SubscribedSkuCounts>>(
        `/customers/${customerTenantId}/subscribedskus`,
        accessToken,
        'customer',
      ),
      deps.partnerCenter.get<PartnerCenterCollection<PartnerCenterSubscription>>(
        `/customers/${customerTenantId}/subscriptions`,
        accessToken,
        'customer',
      ),
    ]);
    resolution = await resolveSubscriptionSkus(deps, ctx, {
      partnerId: run.partnerId,
      runId,
      customerTenantId,
      accessToken,
      subscriptions: subscriptions.items,
      known: known.skus,
      coveredCalls: slot.cost - callsPerCustomer,
    });
  } catch (error) {
    if (isOutage(error)) throw error; // waited out by the worker pool, not this tenant's failure
    const classified = classifyMicrosoftError(error, 'customer');
    // Microsoft said when: wait exactly that (plus jitter), without spending an attempt.
    if (classified.retryAfterMs !== undefined)
      await ctx.retryAfter(classified.retryAfterMs + Math.random() * 1000);
    if (classified.kind === 'transient' && !ctx.finalAttempt) throw error;
    if (classified.kind === 'no_access') {
      await recordNoAccess(deps, runId, run.partnerId, customerTenantId, classified, attempts);
      ctx.log.info({ runId, customerTenantId, code: classified.code }, 'customer not reachable');
      return 'no_access';
    }
    const failure = lastAttemptFailure(classified, 'customer');
    if (failure.kind === 'needs_reconsent') await stopForFailure(deps, runId, consent.id, failure);
    await deps.runs.fail(runId, [customerTenantId], failure, attempts);
    ctx.log.info(
      { runId, customerTenantId, code: failure.code, kind: failure.kind },
      'customer refresh failed',
    );
    return 'failed';
  }
  if (resolution.kind === 'postpone') return ctx.retryAfter(resolution.waitMs);
  const skuOf = resolution.skus;
  const rows = subscriptions.items.map((s) => subscriptionRow(s, skuOf.get(s.id.toLowerCase())));
  // Custom licenses after the licenses, recorded with them: a retry redoes both or neither.
  const customCounts =
    result.companyId && start.countsCustomLicenses
      ? await countCustomLicenses(deps, ctx, run.partnerId, result.companyId, customerTenantId)
      : [];
  await deps.runs.succeed(
    runId,
    customerTenantId,
    result.companyId,
    licenseSnapshots(
      skus.items,
      rows.flatMap((r) => (r.skuId ? [{ ...r, skuId: r.skuId }] : [])),
    ),
    attempts,
    customCounts,
    { partnerId: run.partnerId, rows, recorded: known.ids },
  );
  return 'succeeded';
}

/** App consent refusals at the customer tenant (the rest of no_access is GDAP's). */
const appConsentCodes = new Set(['AADSTS90099', 'AADSTS65001']);

/**
 * A customer the partner cannot reach: the app's consent recorded when that was the cause,
 * and the result says what Microsoft refused and what is missing (its table sentence; the
 * access view names the group and the relationship, from the run's own read of GDAP, which
 * goes on beside the customers).
 */
async function recordNoAccess(
  deps: ServiceDeps,
  runId: string,
  partnerId: string,
  customerTenantId: string,
  failure: MicrosoftFailure,
  attempts: number,
): Promise<void> {
  if (failure.service === 'identity' && appConsentCodes.has(failure.code))
    await recordAppConsent(deps, partnerId, customerTenantId, false);
  await deps.runs.noAccess(
    runId,
    [{ customerTenantId, code: failure.code, message: failure.message }],
    attempts,
  );
}
