import type { ServiceDeps } from '../dependencies.js';
import { lastAttemptFailure, type MicrosoftFailure } from '../microsoft/error-table.js';
import { classifyMicrosoftError } from '../microsoft/errors.js';
import { partnerCenterScope } from '../microsoft/identity.js';
import type { PartnerCenterCustomer } from '../microsoft/partner-center.js';
import { ProgrammingError } from '../programming-error.js';
import { jobIds } from '../queue/catalog.js';
import { enqueuePendingTenants } from '../queue/refresh-work.js';
import { isOutage, type JobContext } from '../queue/worker-pool.js';
import type { RefreshRunTrigger } from '../store/schema.js';
import { enqueueAlertDeliveries } from './alert-delivery.js';
import { consentPartition, listCustomers, readAccessKeepingLast } from './access.js';
import { checkCustomLicenseToken } from './custom-licenses.js';

/**
 * Opens a run for the partner (or joins the open one) and queues its listing, and the alerts
 * its start resolved.
 */
export async function startRefresh(
  deps: Pick<ServiceDeps, 'runs' | 'queues'>,
  partnerId: string,
  trigger: RefreshRunTrigger,
) {
  const { deliveries, ...started } = await deps.runs.start(partnerId, trigger);
  await deps.queues.enqueue(
    'refreshPartner',
    { runId: started.run.id },
    { jobId: jobIds.refreshPartner(started.run.id) },
  );
  await enqueueAlertDeliveries(deps.queues, deliveries);
  return started;
}

/** Ends the run, and the consent when Microsoft says it no longer works. */
export async function stopForFailure(
  deps: Pick<ServiceDeps, 'partners' | 'runs' | 'queues'>,
  runId: string,
  consentId: string,
  failure: MicrosoftFailure,
) {
  if (failure.kind === 'needs_reconsent') {
    const deliveries = await deps.partners.needsReconsent(consentId, failure.message);
    await enqueueAlertDeliveries(deps.queues, deliveries);
  }
  await enqueueAlertDeliveries(deps.queues, await deps.runs.stop(runId, failure.message));
}

/** The daily schedule: one run per partner with an active consent (joining open ones). */
export async function startScheduledRefreshes(
  deps: ServiceDeps,
): Promise<{ partners: number; joined: number }> {
  let joined = 0;
  const partnerIds = await deps.partners.withActiveConsent();
  for (const partnerId of partnerIds) {
    if ((await startRefresh(deps, partnerId, 'schedule')).deduplicated) joined += 1;
  }
  return { partners: partnerIds.length, joined };
}

export interface RefreshPartnerSummary {
  customers: number;
  refreshing: number;
  /** Partner Center customers with no company here yet. */
  notYetAdded: number;
  /** Companies whose customer Partner Center no longer shows. */
  notVisible: number;
}

/**
 * Lists every customer (all pages), matches them to companies by tenant id then domain, and
 * fans out one job per matched customer. The run's tenants are recorded in PostgreSQL first,
 * so the reconciler can rebuild the fan-out if Redis loses it.
 */
export async function listAndFanOut(
  deps: ServiceDeps,
  ctx: JobContext,
  runId: string,
): Promise<RefreshPartnerSummary | { skipped: string }> {
  const run = await deps.runs.get(runId);
  if (!run || run.status !== 'running') return { skipped: run?.status ?? 'missing' };
  const consent = await deps.partners.activeConsent(run.partnerId);
  if (!consent) {
    const stopped = await deps.runs.stop(
      runId,
      'No active consent: grant Partner Center consent first.',
    );
    await enqueueAlertDeliveries(deps.queues, stopped);
    return { skipped: 'no consent' };
  }
  let customers: PartnerCenterCustomer[];
  try {
    // Redeemed, not taken from memory: a consent revoked since the last run is found here,
    // before its customers are signed in to from memory.
    const { accessToken } = await deps.identity.accessToken(
      consentPartition(run.partnerId, consent),
      [partnerCenterScope],
      undefined,
      { forceRefresh: true },
    );
    customers = await listCustomers(deps, run.partnerId, accessToken, (listed) =>
      ctx.updateProgress({ listed }),
    );
  } catch (error) {
    if (isOutage(error)) throw error; // waited out by the worker pool, not the run's failure
    const classified = classifyMicrosoftError(error);
    if (classified.retryAfterMs !== undefined)
      await ctx.retryAfter(classified.retryAfterMs + Math.random() * 1000);
    if (classified.kind === 'transient' && !ctx.finalAttempt) throw error;
    const failure = lastAttemptFailure(classified, 'run');
    await stopForFailure(deps, runId, consent.id, failure);
    return { skipped: failure.message };
  }

  // Custom licenses count with their own token: validate it first, so its state is known
  // (and said) before the customers are refreshed, not after their counts fail.
  if ((await deps.customLicenses.definitions(run.partnerId)).length > 0) {
    await checkCustomLicenseToken(deps, run.partnerId).catch((error: unknown) => {
      if (error instanceof ProgrammingError) throw error;
      ctx.log.warn({ err: error, runId }, 'custom-license token validation failed; kept the last');
    });
  }
  const companies = await deps.partners.companies(run.partnerId);
  const byTenant = new Map(
    companies.filter((c) => c.customerTenantId).map((c) => [c.customerTenantId!, c]),
  );
  const byDomain = new Map(
    companies.filter((c) => !c.customerTenantId && c.domain).map((c) => [c.domain!, c]),
  );
  const tenants: { customerTenantId: string; companyId: string }[] = [];
  const seen = new Set<string>();
  const notYetAdded: { customerTenantId: string; domain: string; name: string }[] = [];
  for (const customer of customers) {
    const tenantId = customer.companyProfile.tenantId.toLowerCase();
    let company = byTenant.get(tenantId);
    const domainMatch = company
      ? undefined
      : byDomain.get(customer.companyProfile.domain.toLowerCase());
    if (domainMatch) {
      await deps.partners.setCompanyTenant(domainMatch.id, tenantId, 'visible');
      company = domainMatch;
    }
    if (!company) {
      notYetAdded.push({
        customerTenantId: tenantId,
        domain: customer.companyProfile.domain,
        name: customer.companyProfile.companyName,
      });
      continue;
    }
    seen.add(company.id);
    tenants.push({ customerTenantId: tenantId, companyId: company.id });
  }
  const invisible = companies.filter((c) => !seen.has(c.id)).map((c) => c.id);
  await deps.partners.setVisibility([...seen], 'visible');
  await deps.partners.setVisibility(invisible, 'not_visible');
  await deps.runs.addTenants(runId, tenants, notYetAdded);
  const { added } = await enqueuePendingTenants(deps, run);
  // GDAP access, read while the customers refresh: its Graph calls have their own pace, and
  // each customer's sign-in decides whether that customer can be reached this run (a stale
  // read must not skip a customer whose access was fixed since).
  await readAccessKeepingLast(deps, ctx.log, run.partnerId, consent, customers);
  return {
    customers: customers.length,
    refreshing: added.length,
    notYetAdded: notYetAdded.length,
    notVisible: invisible.length,
  };
}
