import type { JobPayload } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import { reconcileCompanyOrAlert } from '../src/services/billing-failures.js';
import { startBillingReconciliation } from '../src/services/billing-reconciliation.js';
import { applyCompanyChanges } from '../src/services/billing-sync.js';
import type { JobDeps } from './deps.js';

/** A partner's reconciliation with its PSA: after a run (`runId`) or on request. */
export async function reconcileBilling(
  { partnerId, runId }: JobPayload<'reconcileBilling'>,
  deps: JobDeps,
  ctx: JobContext,
): ReturnType<typeof startBillingReconciliation> {
  return startBillingReconciliation(deps, partnerId, runId ?? ctx.jobId);
}

/**
 * One company's reconciliation: its PSA lines read, its rows saved, its changes planned; a
 * person alerted when the PSA refuses the credentials or the last attempt fails.
 */
export function reconcileCompanyBilling(
  { partnerId, companyId }: JobPayload<'reconcileCompanyBilling'>,
  deps: JobDeps,
  ctx: JobContext,
): ReturnType<typeof reconcileCompanyOrAlert> {
  return reconcileCompanyOrAlert(deps, partnerId, companyId, ctx);
}

/** One company's approved changes written to its PSA. */
export function applyCompanyBilling(
  { partnerId, companyId }: JobPayload<'applyCompanyBilling'>,
  deps: JobDeps,
  ctx: JobContext,
): ReturnType<typeof applyCompanyChanges> {
  return applyCompanyChanges(deps, partnerId, companyId, ctx);
}
