import { PsaError } from '../psa/errors.js';
import type { JobContext } from '../queue/worker-pool.js';
import type { AlertStore } from '../store/alerts.js';
import type { JobQueues } from '../queue/job-queues.js';
import type { PsaSyncStore } from '../store/psa-sync.js';
import { enqueueAlertDeliveries } from './alert-delivery.js';
import { psaClientFor, type PsaDeps } from './psa-connections.js';

export interface ApplySummary {
  applied: number;
  /** Writes the PSA already had (a retry after a crash): recorded, nothing sent. */
  alreadyApplied: number;
  failed: number;
}

/** Waits shorter than this after a 429 are slept in the job; longer ones free the slot. */
const inPlaceWaitMs = 2_000;

/**
 * Writes one company's approved changes to its PSA, one at a time, each recorded in the
 * ledger with the change ended in the same transaction. A change left "applying" by a worker
 * that died is written again through the same call, which reads the PSA's quantity first and
 * writes nothing when the PSA already bills the target: no delta is ever applied twice.
 *
 * The PSA refusing the data or the permission fails that change with its message; refused
 * credentials mark the connection broken and leave the changes applying for after the fix;
 * a PSA that is down or busy retries the job (429: after its wait).
 */
export async function applyCompanyChanges(
  deps: PsaDeps & { psaSync: PsaSyncStore; alerts: AlertStore; queues: JobQueues },
  partnerId: string,
  companyId: string,
  ctx: Pick<JobContext, 'retryAfter' | 'log'>,
): Promise<ApplySummary> {
  try {
    return await applyChanges(deps, partnerId, companyId, ctx);
  } finally {
    // The billing-sync-failed alert raised or resolved with a change's outcome, queued now
    // rather than at the reconciler's next pass.
    await enqueueAlertDeliveries(deps.queues, await deps.alerts.pendingDeliveriesOf(partnerId));
  }
}

async function applyChanges(
  deps: PsaDeps & { psaSync: PsaSyncStore },
  partnerId: string,
  companyId: string,
  ctx: Pick<JobContext, 'retryAfter' | 'log'>,
): Promise<ApplySummary> {
  const summary: ApplySummary = { applied: 0, alreadyApplied: 0, failed: 0 };
  const found = await psaClientFor(deps, partnerId);
  if (!found) return summary;
  const { client, connection } = found;
  if (connection.status === 'broken') return summary;
  const changes = await deps.psaSync.claim(companyId);
  for (const change of changes) {
    const line = {
      containerId: change.containerId,
      productId: change.psaProductId,
      lineId: change.psaLineId ?? undefined,
    };
    try {
      const result =
        change.action === 'cancel' && change.psaLineId
          ? await client.cancelLine({ ...line, lineId: change.psaLineId }, change.effectiveDate)
          : await client.setQuantity({
              ...line,
              target: change.target,
              effectiveDate: change.effectiveDate,
              proration: change.proration,
            });
      await deps.psaSync.applied(change, { psaKind: connection.kind, ...result });
      if (result.alreadyApplied) summary.alreadyApplied += 1;
      else summary.applied += 1;
    } catch (error) {
      if (!(error instanceof PsaError)) throw error;
      if (error.kind === 'credentials') {
        await deps.psaConnections.markTested(partnerId, { status: 'broken', error: error.message });
        ctx.log.warn({ partnerId, companyId }, 'PSA credentials refused: connection broken');
        return summary;
      }
      if (error.kind === 'rate_limited' && error.retryAfterMs && error.retryAfterMs > inPlaceWaitMs)
        await ctx.retryAfter(error.retryAfterMs);
      if (error.kind === 'transient' || error.kind === 'rate_limited') throw error;
      await deps.psaSync.failed(change.id, error.message);
      summary.failed += 1;
    }
  }
  return summary;
}
