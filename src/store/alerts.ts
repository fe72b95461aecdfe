import { and, asc, desc, eq, inArray, isNull, lt, ne, not, or, sql } from 'drizzle-orm';
import { describeAlert, type AlertEvent, type AlertEventName } from '../domain/alert-events.js';
import type { Database } from './database.js';
import { alertDeliveries, alerts, notificationChannels } from './schema.js';

type Alert = typeof alerts.$inferSelect;
type AlertDelivery = typeof alertDeliveries.$inferSelect;
export type NotificationChannel = typeof notificationChannels.$inferSelect;

/** The channels that receive a partner's alerts: its own and the operators' global ones. */
const channelsOf = (partnerId: string) =>
  or(eq(notificationChannels.partnerId, partnerId), isNull(notificationChannels.partnerId));

/**
 * A delivery the daily digest sends rather than its own job: the channel collects alerts into a
 * digest, and the alert is not critical (a critical one goes at once whatever the channel).
 */
const heldForDigest = and(eq(notificationChannels.digest, true), ne(alerts.severity, 'critical'));

/**
 * Opens an alert and writes its outbox rows, one per channel that takes the event, inside the
 * caller's transaction (the one that made the state change). Nothing when an alert with the
 * same key is open. Returns the new deliveries' ids, to enqueue after the commit.
 */
export async function raiseAlert(tx: Database, event: AlertEvent): Promise<string[]> {
  const text = describeAlert(event.event, event.partnerId, event.details);
  // The partial unique index on open keys turns a second raise into no row.
  const [alert] = await tx
    .insert(alerts)
    .values({
      partnerId: event.partnerId,
      event: event.event,
      key: text.key,
      severity: text.severity,
      details: event.details as Record<string, unknown>,
    })
    .onConflictDoNothing()
    .returning({ id: alerts.id });
  if (!alert) return [];
  const channels = await tx
    .select({ id: notificationChannels.id, events: notificationChannels.events })
    .from(notificationChannels)
    .where(channelsOf(event.partnerId));
  const taking = channels.filter((c) => !c.events || c.events.includes(event.event));
  if (taking.length === 0) return [];
  const rows = await tx
    .insert(alertDeliveries)
    .values(taking.map((c) => ({ alertId: alert.id, channelId: c.id, kind: 'raised' as const })))
    .onConflictDoNothing()
    .returning({ id: alertDeliveries.id });
  return rows.map((r) => r.id);
}

/**
 * Closes the partner's open alert with this key, in the caller's transaction, and writes a
 * "resolved" message for each channel that was sent the alert and wants to hear it ended.
 * Returns the new deliveries' ids (none when no alert was open).
 */
export async function resolveAlert(
  tx: Database,
  partnerId: string,
  key: string,
): Promise<string[]> {
  const [alert] = await tx
    .update(alerts)
    .set({ resolvedAt: new Date() })
    .where(and(eq(alerts.partnerId, partnerId), eq(alerts.key, key), isNull(alerts.resolvedAt)))
    .returning({ id: alerts.id });
  if (!alert) return [];
  const told = await tx
    .select({ channelId: alertDeliveries.channelId })
    .from(alertDeliveries)
    .innerJoin(notificationChannels, eq(notificationChannels.id, alertDeliveries.channelId))
    .where(
      and(
        eq(alertDeliveries.alertId, alert.id),
        eq(alertDeliveries.kind, 'raised'),
        eq(notificationChannels.notifyResolved, true),
      ),
    );
  if (told.length === 0) return [];
  const rows = await tx
    .insert(alertDeliveries)
    .values(
      told.map((t) => ({ alertId: alert.id, channelId: t.channelId, kind: 'resolved' as const })),
    )
    .onConflictDoNothing()
    .returning({ id: alertDeliveries.id });
  return rows.map((r) => r.id);
}

/**
 * Keeps the partner's open alerts of `event` in step with the conditions, in the caller's
 * transaction: raises one per details given, and resolves every open one whose key is not
 * among theirs (built from older details, such as an earlier date, or a condition gone).
 * Returns the new deliveries' ids.
 */
export async function keepAlerts<E extends AlertEventName>(
  tx: Database,
  partnerId: string,
  event: E,
  detailsList: AlertEvent<E>['details'][],
): Promise<string[]> {
  const keys = new Set(detailsList.map((d) => describeAlert(event, partnerId, d).key));
  const open = await tx
    .select({ key: alerts.key })
    .from(alerts)
    .where(
      and(eq(alerts.partnerId, partnerId), eq(alerts.event, event), isNull(alerts.resolvedAt)),
    );
  const ids: string[] = [];
  for (const o of open)
    if (!keys.has(o.key)) ids.push(...(await resolveAlert(tx, partnerId, o.key)));
  for (const details of detailsList)
    ids.push(...(await raiseAlert(tx, { event, partnerId, details })));
  return ids;
}

/**
 * Keeps the partner's one open alert of `event` in step with the condition: with details,
 * raises it (first resolving an open one whose key differs); with null, resolves every open one.
 */
export function keepAlert<E extends AlertEventName>(
  tx: Database,
  partnerId: string,
  event: E,
  details: AlertEvent<E>['details'] | null,
): Promise<string[]> {
  return keepAlerts(tx, partnerId, event, details === null ? [] : [details]);
}

/** The open alerts of `event`, across partners: what a periodic pass may have to resolve. */
export async function openAlertsOf(
  db: Database,
  event: AlertEventName,
): Promise<{ partnerId: string; key: string }[]> {
  return db
    .select({ partnerId: alerts.partnerId, key: alerts.key })
    .from(alerts)
    .where(and(eq(alerts.event, event), isNull(alerts.resolvedAt)));
}

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

/** What a digest's send came to: sent, failed for good, or to be tried again (stays pending). */
export type DigestOutcome = 'sent' | { failed: string } | { retry: string };

/** Alerts and their outbox. */
export class AlertStore {
  constructor(private readonly db: Database) {}

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

  /** Ends a pending delivery: sent, or failed with the reason. */
  async finish(id: string, outcome: { sent: true } | { failed: string }): Promise<void> {
    const now = new Date();
    await this.db
      .update(alertDeliveries)
      .set({
        attempts: sql`${alertDeliveries.attempts} + 1`,
        lastAttemptAt: now,
        ...('sent' in outcome
          ? { status: 'sent' as const, sentAt: now, lastError: null }
          : { status: 'failed' as const, lastError: outcome.failed }),
      })
      .where(and(eq(alertDeliveries.id, id), eq(alertDeliveries.status, 'pending')));
  }

  /**
   * Pending deliveries sent one by one, oldest first: the reconciler's to check. Those a digest
   * collects wait for it. Default limit: 1,000
   */
  async pendingDeliveries(limit = 1000): Promise<string[]> {
    const rows = await this.db
      .select({ id: alertDeliveries.id })
      .from(alertDeliveries)
      .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
      .innerJoin(notificationChannels, eq(notificationChannels.id, alertDeliveries.channelId))
      .where(and(eq(alertDeliveries.status, 'pending'), not(heldForDigest!)))
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
          lt(alertDeliveries.queuedAt, before),
        ),
      )
      .limit(1);
    return row !== undefined;
  }

  /** The channels with deliveries waiting for a digest. */
  async digestChannels(): Promise<NotificationChannel[]> {
    const waiting = this.db
      .selectDistinct({ id: alertDeliveries.channelId })
      .from(alertDeliveries)
      .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
      .innerJoin(notificationChannels, eq(notificationChannels.id, alertDeliveries.channelId))
      .where(and(eq(alertDeliveries.status, 'pending'), heldForDigest));
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
          ...(outcome === 'sent'
            ? { status: 'sent' as const, sentAt: now, lastError: null }
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
