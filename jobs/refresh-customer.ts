import type { JobPayload } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import {
  refreshCustomerTenant,
  type RefreshCustomerOutcome,
} from '../src/services/customer-refresh.js';
import { queueRunFollowUps } from '../src/services/run-completion.js';
import type { JobDeps } from './deps.js';

/**
 * One customer tenant of a run: its licenses, subscriptions and custom-license counts. The
 * run's last customer completes it, and its PSA reconciliation is queued at once.
 */
export async function refreshCustomer(
  { runId, customerTenantId }: JobPayload<'refreshCustomer'>,
  deps: JobDeps,
  ctx: JobContext,
): Promise<RefreshCustomerOutcome> {
  const outcome = await refreshCustomerTenant(deps, ctx, runId, customerTenantId, {
    claimLeaseMs: deps.config.queues.jobLockSeconds * 1000,
  });
  // Skipped too: a copy of the job that recorded the customer may have died before this.
  await queueRunFollowUps(deps, runId);
  return outcome;
}
