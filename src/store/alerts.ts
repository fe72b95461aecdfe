import { and, asc, desc, eq, inArray, lt, not, sql } from 'drizzle-orm';
import type { AlertEvent } from '../domain/alert-events.js';
import { heldByBrokenChannel, heldForDigest, raiseAlert } from './alert-outbox.js';
import type { Database } from './database.js';
import { alertDeliveries, alerts, notificationChannels } from './schema.js';

type Alert = typeof alerts.$inferSelect;
type AlertDelivery = typeof alertDeliveries.$inferSelect;
export type NotificationChannel = typeof notificationChannels.$inferSelect;

/** A delivery with what sending it needs: its alert and its channel. */
export interface DeliveryToSend {
  delivery: AlertDelivery;
  alert: Alert;
  channel: NotificationChannel;
}

/** One delivery a digest covers, with its alert. */
export interface DigestItem {
  delivery: AlertDelivery;
  alert: Alert;
}

/**
 * What a digest's send came to: sent (with a note, as `finish` keeps one), failed for good, or to
 * be tried again (stays pending).
 */
export type DigestOutcome =
  { sent: true; note: string | null } | { failed: string } | { retry: string };

/** Alerts and their outbox. */
export class AlertStore {
  constructor(private readonly db: Database) {}

  /**
   * Raises an alert in a transaction of its own, for a condition no state of ours records: a
   * job that gave up (its failure is in the queue, not in PostgreSQL). Answers the deliveries.
   */
  raise(event: AlertEvent): Promise<string[]> {
    return this.db.transaction((tx) => raiseAlert(tx, event));
  }

  async delivery(id: string): Promise<DeliveryToSend | undefined> {
    const [row] = await this.db
      .select({ delivery: alertDeliveries, alert: alerts, channel: notificationChannels })
      .from(alertDeliveries)
      .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
      .innerJoin(notificationChannels, eq(notificationChannels.id, alertDeliveries.channelId))
      .where(eq(alertDeliveries.id, id));
    return row;
  }

  /** Counts an attempt that will be retried, with the receiver's answer as its error. */
  async recordAttempt(id: string, error: string): Promise<void> {
    await this.db
      .update(alertDeliveries)
      .set({
        attempts: sql`${alertDeliveries.attempts} + 1`,
        lastError: error,
        lastAttemptAt: new Date(),
      })
      .where(and(eq(alertDeliveries.id, id), eq(alertDeliveries.status, 'pending')));
  }

  /**
   * Ends a pending delivery: sent, or failed with the reason. A sent one's note (the recipients
   * an email reached only in part) is kept in `last_error`, which otherwise says why it failed.
   */
  async finish(
    id: string,
    outcome: { sent: true; note?: string | null } | { failed: string },
  ): Promise<void> {
    const now = new Date();
    await this.db
      .update(alertDeliveries)
      .set({
        attempts: sql`${alertDeliveries.attempts} + 1`,
        lastAttemptAt: now,
        ...('sent' in outcome
          ? { status: 'sent' as const, sentAt: now, lastError: outcome.note ?? null }
          : { status: 'failed' as const, lastError: outcome.failed }),
      })
      .where(and(eq(alertDeliveries.id, id), eq(alertDeliveries.status, 'pending')));
  }

  /**
   * Pending deliveries sent one by one, oldest first: the reconciler's to check. Those a digest
   * collects wait for it; those of a broken channel wait for its fix. Default limit: 1,000
   */
  async pendingDeliveries(limit = 1000): Promise<string[]> {
    const rows = await this.db
      .select({ id: alertDeliveries.id })
      .from(alertDeliveries)
      .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
      .innerJoin(notificationChannels, eq(notificationChannels.id, alertDeliveries.channelId))
      .where(
        and(eq(alertDeliveries.status, 'pending'), not(heldForDigest!), not(heldByBrokenChannel)),
      )
      .orderBy(asc(alertDeliveries.queuedAt))
      .limit(limit);
    return rows.map((r) => r.id);
  }

  /** A partner's pending deliveries sent one by one: those a completed run may have written. */
  async pendingDeliveriesOf(partnerId: string): Promise<string[]> {
    const rows = await this.db
      .select({ id: alertDeliveries.id })
      .from(alertDeliveries)
      .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
      .innerJoin(notificationChannels, eq(notificationChannels.id, alertDeliveries.channelId))
      .where(
        and(
          eq(alerts.partnerId, partnerId),
          eq(alertDeliveries.status, 'pending'),
          not(heldForDigest!),
          not(heldByBrokenChannel),
        ),
      );
    return rows.map((r) => r.id);
  }

  /** Whether a digest delivery waits that was queued before `before`: a digest is overdue. */
  async digestOverdue(before: Date): Promise<boolean> {
    const [row] = await this.db
      .select({ id: alertDeliveries.id })
      .from(alertDeliveries)
      .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
      .innerJoin(notificationChannels, eq(notificationChannels.id, alertDeliveries.channelId))
      .where(
        and(
          eq(alertDeliveries.status, 'pending'),
          heldForDigest,
          not(heldByBrokenChannel),
          lt(alertDeliveries.queuedAt, before),
        ),
      )
      .limit(1);
    return row !== undefined;
  }

  /** The channels with deliveries waiting for a digest; a broken one's wait for its fix. */
  async digestChannels(): Promise<NotificationChannel[]> {
    const waiting = this.db
      .selectDistinct({ id: alertDeliveries.channelId })
      .from(alertDeliveries)
      .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
      .innerJoin(notificationChannels, eq(notificationChannels.id, alertDeliveries.channelId))
      .where(and(eq(alertDeliveries.status, 'pending'), heldForDigest, not(heldByBrokenChannel)));
    return this.db
      .select()
      .from(notificationChannels)
      .where(inArray(notificationChannels.id, waiting))
      .orderBy(asc(notificationChannels.createdAt));
  }

  /**
   * Sends one channel's digest: locks its waiting deliveries (a concurrent run skips them and
   * finds none), hands them to `send`, and records its outcome on all of them in the same
   * transaction. A crash before the commit leaves them pending for the next run.
   */
  async withDigest<T>(
    channelId: string,
    send: (items: DigestItem[]) => Promise<{ result: T; outcome: DigestOutcome }>,
  ): Promise<T | undefined> {
    return this.db.transaction(async (tx) => {
      const items = await tx
        .select({ delivery: alertDeliveries, alert: alerts })
        .from(alertDeliveries)
        .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
        .innerJoin(notificationChannels, eq(notificationChannels.id, alertDeliveries.channelId))
        .where(
          and(
            eq(alertDeliveries.channelId, channelId),
            eq(alertDeliveries.status, 'pending'),
            heldForDigest,
            // Broken since it was listed: its digest waits for the fix.
            not(heldByBrokenChannel),
          ),
        )
        .orderBy(asc(alertDeliveries.queuedAt), asc(alertDeliveries.id))
        .for('update', { of: alertDeliveries, skipLocked: true });
      if (items.length === 0) return undefined;
      const { result, outcome } = await send(items);
      const now = new Date();
      await tx
        .update(alertDeliveries)
        .set({
          attempts: sql`${alertDeliveries.attempts} + 1`,
          lastAttemptAt: now,
          ...('sent' in outcome
            ? { status: 'sent' as const, sentAt: now, lastError: outcome.note }
            : 'failed' in outcome
              ? { status: 'failed' as const, lastError: outcome.failed }
              : { lastError: outcome.retry }),
        })
        .where(
          inArray(
            alertDeliveries.id,
            items.map((i) => i.delivery.id),
          ),
        );
      return result;
    });
  }

  /** A partner's alerts, newest first, each with its deliveries. */
  async history(partnerId: string, limit = 200) {
    const list = await this.db
      .select()
      .from(alerts)
      .where(eq(alerts.partnerId, partnerId))
      .orderBy(desc(alerts.raisedAt), desc(alerts.id))
      .limit(limit);
    if (list.length === 0) return [];
    const deliveries = await this.db
      .select({
        alertId: alertDeliveries.alertId,
        channelId: alertDeliveries.channelId,
        channelKind: notificationChannels.kind,
        channelHost: notificationChannels.urlHost,
        channelBrokenAt: notificationChannels.brokenAt,
        kind: alertDeliveries.kind,
        status: alertDeliveries.status,
        attempts: alertDeliveries.attempts,
        lastError: alertDeliveries.lastError,
        sentAt: alertDeliveries.sentAt,
      })
      .from(alertDeliveries)
      .innerJoin(notificationChannels, eq(notificationChannels.id, alertDeliveries.channelId))
      .where(
        inArray(
          alertDeliveries.alertId,
          list.map((a) => a.id),
        ),
      )
      .orderBy(asc(alertDeliveries.queuedAt));
    return list.map((alert) => ({
      alert,
      deliveries: deliveries.filter((d) => d.alertId === alert.id),
    }));
  }
}
