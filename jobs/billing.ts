import type { JobPayload } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import {
  reconcileCompanyBilling as reconcileOneCompany,
  startBillingReconciliation,
} from '../src/services/billing-reconciliation.js';
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

/** One company's reconciliation: its PSA lines read, its rows saved, its changes planned. */
export function reconcileCompanyBilling(
  { partnerId, companyId }: JobPayload<'reconcileCompanyBilling'>,
  deps: JobDeps,
): ReturnType<typeof reconcileOneCompany> {
  return reconcileOneCompany(deps, partnerId, companyId);
}

/** One company's approved changes written to its PSA. */
export function applyCompanyBilling(
  { partnerId, companyId }: JobPayload<'applyCompanyBilling'>,
  deps: JobDeps,
  ctx: JobContext,
): ReturnType<typeof applyCompanyChanges> {
  return applyCompanyChanges(deps, partnerId, companyId, ctx);
}
