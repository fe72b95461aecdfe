import { PsaError } from '../psa/errors.js';
import { ProgrammingError } from '../programming-error.js';
import type { JobContext } from '../queue/worker-pool.js';
import { isOutage } from '../queue/worker-pool.js';
import type { AlertStore } from '../store/alerts.js';
import { enqueueAlertDeliveries } from './alert-delivery.js';
import {
  reconcileCompanyBilling,
  type CompanyReconciliation,
  type ReconciliationDeps,
} from './billing-reconciliation.js';

/** What the billing-sync-failed alert says of a company's comparison that gave up. */
function reconciliationFailedReason(companyName: string, error: unknown): string {
  const cause =
    error instanceof PsaError
      ? `the PSA answered: ${error.message}`
      : 'it failed on every retry (the workers’ log has the cause)';
  return `Comparing ${companyName} with the PSA failed: ${cause}`.slice(0, 500);
}

/**
 * One company's reconciliation, telling a person when it cannot go on. Refused credentials
 * break the connection at once (its alert raised with it): no retry can help, and the job ends.
 * Any other failure is retried; on the job's last attempt (or a bug, which is not retried) it
 * raises billing-sync-failed with the PSA's words before the job fails. An outage of our own
 * database or Redis is neither: the job is put back without using an attempt.
 */
export async function reconcileCompanyOrAlert(
  deps: ReconciliationDeps & { alerts: AlertStore },
  partnerId: string,
  companyId: string,
  ctx: Pick<JobContext, 'finalAttempt' | 'log'>,
): Promise<CompanyReconciliation | { brokenConnection: string } | undefined> {
  try {
    return await reconcileCompanyBilling(deps, partnerId, companyId);
  } catch (error) {
    if (error instanceof PsaError && error.kind === 'credentials') {
      await enqueueAlertDeliveries(
        deps.queues,
        await deps.psaConnections.markTested(partnerId, { status: 'broken', error: error.message }),
      );
      ctx.log.warn({ partnerId, companyId }, 'PSA credentials refused: connection broken');
      return { brokenConnection: error.message };
    }
    if (isOutage(error) || !(ctx.finalAttempt || error instanceof ProgrammingError)) throw error;
    const company = await deps.partners.company(partnerId, companyId);
    const deliveries = await deps.alerts.raise({
      event: 'billingSyncFailed',
      partnerId,
      details: { reason: reconciliationFailedReason(company?.name ?? 'a company', error) },
    });
    await enqueueAlertDeliveries(deps.queues, deliveries);
    throw error;
  }
}
