import type { RefreshRunStore } from '../store/refresh-runs.js';
import { jobIds } from './catalog.js';
import type { JobQueues } from './job-queues.js';

/**
 * Queues a job for every pending tenant of a run, from PostgreSQL. Ids are derived from the
 * run, the tenant and its retry round, so calling it again (the reconciler does) adds nothing
 * that is still queued.
 */
export async function enqueuePendingTenants(
  runs: RefreshRunStore,
  queues: JobQueues,
  runId: string,
): Promise<string[]> {
  const pending = await runs.pendingTenants(runId);
  await queues.enqueueBulk(
    'refreshCustomer',
    pending.map(({ tenant, attempts }) => ({
      payload: { runId, customerTenantId: tenant },
      jobId:
        attempts === 0
          ? jobIds.refreshCustomer(runId, tenant)
          : jobIds.retryCustomer(runId, tenant, attempts),
    })),
  );
  return pending.map((p) => p.tenant);
}
