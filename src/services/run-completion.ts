import type { Services } from '../dependencies.js';
import type { JobQueues } from '../queue/job-queues.js';
import { enqueueAlertDeliveries } from './alert-delivery.js';
import { queueRunReconciliations } from './billing-reconciliation.js';

/**
 * After a job that may have completed the run (its last customer, or a listing with none): the
 * run is completed once no customer is pending, and then its PSA reconciliation and the alerts
 * its completion raised or resolved are queued now rather than at the reconciler's next pass.
 * One read of the run while it goes on.
 */
export async function queueRunFollowUps(
  deps: Pick<Services, 'runs' | 'alerts' | 'psaSync'> & { queues: JobQueues },
  runId: string,
): Promise<void> {
  const run = await deps.runs.settle(runId);
  if (run?.status !== 'completed') return;
  await queueRunReconciliations(deps, runId);
  await enqueueAlertDeliveries(deps.queues, await deps.alerts.pendingDeliveriesOf(run.partnerId));
}
