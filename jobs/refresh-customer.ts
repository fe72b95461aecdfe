import type { JobPayload } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import {
  refreshCustomerTenant,
  type RefreshCustomerOutcome,
} from '../src/services/customer-refresh.js';
import type { JobDeps } from './deps.js';

/** One customer tenant of a run: its licenses, subscriptions and custom-license counts. */
export function refreshCustomer(
  { runId, customerTenantId }: JobPayload<'refreshCustomer'>,
  deps: JobDeps,
  ctx: JobContext,
): Promise<RefreshCustomerOutcome> {
  return refreshCustomerTenant(deps, ctx, runId, customerTenantId);
}
