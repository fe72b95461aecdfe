import { and, asc, eq, isNotNull, isNull, ne, not, or, sql } from 'drizzle-orm';
import { describeAlert, type AlertEvent, type AlertEventName } from '../domain/alert-events.js';
import type { Database } from './database.js';
import { alertDeliveries, alerts, notificationChannels } from './schema.js';

/**
 * The outbox's writers: alerts raised and resolved in the transaction of the state change that
 * shows them, one delivery row per channel, and the conditions that say which rows wait.
 */

/** The channels that receive a partner's alerts: its own and the operators' global ones. */
const channelsOf = (partnerId: string) =>
  or(eq(notificationChannels.partnerId, partnerId), isNull(notificationChannels.partnerId));

/**
 * A delivery the daily digest sends rather than its own job: the channel collects alerts into a
 * digest, and the alert is not critical (a critical one goes at once whatever the channel).
 */
export const heldForDigest = and(
  eq(notificationChannels.digest, true),
  ne(alerts.severity, 'critical'),
);

/**
 * A delivery whose channel is broken: it stays pending, with no job, until the channel is fixed
 * (src/services/channel-changes.ts queues it then).
 */
export const heldByBrokenChannel = isNotNull(notificationChannels.brokenAt);

/** The ids to queue after the commit: those whose channel is broken wait for its fix. */
const toQueue = (
  rows: { id: string; channelId: string }[],
  channels: { id: string; brokenAt: Date | null }[],
) => {
  const broken = new Set(channels.filter((c) => c.brokenAt !== null).map((c) => c.id));
  return rows.filter((r) => !broken.has(r.channelId)).map((r) => r.id);
};

/**
 * The pending deliveries of a channel that go one by one (not with its digest), oldest first:
 * what its fix queues. In the caller's transaction.
 */
export async function deliveriesWaitingOn(tx: Database, channelId: string): Promise<string[]> {
  const rows = await tx
    .select({ id: alertDeliveries.id })
    .from(alertDeliveries)
    .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
    .innerJoin(notificationChannels, eq(notificationChannels.id, alertDeliveries.channelId))
    .where(
      and(
        eq(alertDeliveries.channelId, channelId),
        eq(alertDeliveries.status, 'pending'),
        not(heldForDigest!),
      ),
    )
    .orderBy(asc(alertDeliveries.queuedAt), asc(alertDeliveries.id));
  return rows.map((r) => r.id);
}

/** How many deliveries of a channel are pending, one by one or for its digest. */
export async function pendingCountOf(tx: Database, channelId: string): Promise<number> {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(alertDeliveries)
    .where(and(eq(alertDeliveries.channelId, channelId), eq(alertDeliveries.status, 'pending')));
  return row?.n ?? 0;
}

/**
 * Opens an alert and writes its outbox rows, one per channel that takes the event, inside the
 * caller's transaction (the one that made the state change). Nothing when an alert with the
 * same key is open. Returns the new deliveries' ids to enqueue after the commit, except those of
 * a broken channel: they stay pending until the channel is fixed.
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
    .select({
      id: notificationChannels.id,
      events: notificationChannels.events,
      brokenAt: notificationChannels.brokenAt,
    })
    .from(notificationChannels)
    .where(channelsOf(event.partnerId));
  const taking = channels.filter((c) => !c.events || c.events.includes(event.event));
  if (taking.length === 0) return [];
  const rows = await tx
    .insert(alertDeliveries)
    .values(taking.map((c) => ({ alertId: alert.id, channelId: c.id, kind: 'raised' as const })))
    .onConflictDoNothing()
    .returning({ id: alertDeliveries.id, channelId: alertDeliveries.channelId });
  return toQueue(rows, taking);
}

/**
 * Closes the partner's open alert with this key, in the caller's transaction, and writes a
 * "resolved" message for each channel that was sent the alert and wants to hear it ended.
 * Returns the new deliveries' ids to queue (none when no alert was open; a broken channel's
 * wait for its fix).
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
    .select({ channelId: alertDeliveries.channelId, brokenAt: notificationChannels.brokenAt })
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
    .returning({ id: alertDeliveries.id, channelId: alertDeliveries.channelId });
  return toQueue(
    rows,
    told.map((t) => ({ id: t.channelId, brokenAt: t.brokenAt })),
  );
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
