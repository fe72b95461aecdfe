import { and, eq, gte, isNull } from 'drizzle-orm';
import { alertKeys } from '../domain/alert-events.js';
import { raiseAlert, resolveAlert } from './alert-outbox.js';
import type { Database } from './database.js';
import { alerts, psaSyncChanges } from './schema.js';

/** The reason a broken connection's billing-sync-failed alert gives: the PSA's own sentence. */
const brokenConnectionReason = (error: string) =>
  `The PSA refused the connection: ${error}`.slice(0, 500);

/**
 * Keeps billing-sync-failed in step with a connection's test, in the transaction that records
 * it: a broken connection raises it with the PSA's words (nothing when it is open already, for
 * a refused change or an earlier test). A connection that works again resolves it, unless a
 * change failed since it was raised: the alert then also stands for that change, and the next
 * write the PSA takes resolves it (src/store/psa-sync.ts). Answers the deliveries to queue.
 */
export async function keepConnectionAlert(
  tx: Database,
  partnerId: string,
  outcome: { status: 'ok' } | { status: 'broken'; error: string },
): Promise<string[]> {
  if (outcome.status === 'broken') {
    return raiseAlert(tx, {
      event: 'billingSyncFailed',
      partnerId,
      details: { reason: brokenConnectionReason(outcome.error) },
    });
  }
  const [open] = await tx
    .select({ raisedAt: alerts.raisedAt })
    .from(alerts)
    .where(
      and(
        eq(alerts.partnerId, partnerId),
        eq(alerts.key, alertKeys.billingSyncFailed),
        isNull(alerts.resolvedAt),
      ),
    );
  if (!open) return [];
  const [failedSince] = await tx
    .select({ id: psaSyncChanges.id })
    .from(psaSyncChanges)
    .where(
      and(
        eq(psaSyncChanges.partnerId, partnerId),
        eq(psaSyncChanges.status, 'failed'),
        gte(psaSyncChanges.updatedAt, open.raisedAt),
      ),
    )
    .limit(1);
  if (failedSince) return [];
  return resolveAlert(tx, partnerId, alertKeys.billingSyncFailed);
}
