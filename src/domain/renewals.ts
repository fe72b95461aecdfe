/**
 * Renewals and cancellation windows: which subscriptions' commitments end within a number of
 * days, which can still be cancelled or reduced now, and how many of their seats nobody uses.
 */

const dayMs = 24 * 3600 * 1000;

/** A subscription as the renewal rule needs it (Partner Center's fields). */
export interface TermInput {
  subscriptionId: string;
  skuId: string | null;
  quantity: number;
  status: string;
  /** ISO 8601: P1M, P1Y, P3Y. */
  termDuration: string | null;
  commitmentEndDate: Date | null;
  cancellationAllowedUntilDate: Date | null;
  autoRenewEnabled: boolean | null;
}

export type TermName = 'monthly' | 'yearly' | 'three-year' | 'other';

const termNames: Record<string, TermName> = {
  P1M: 'monthly',
  P1Y: 'yearly',
  P3Y: 'three-year',
};

export const termOf = (termDuration: string | null): TermName =>
  (termDuration && termNames[termDuration.toUpperCase()]) || 'other';

/**
 * Whole days from `now`'s UTC day to the commitment end's UTC day: 0 on the last day of the
 * term. Partner Center gives the end as a date (the term's last day, at midnight UTC).
 */
export function daysToCommitmentEnd(commitmentEnd: Date, now: Date): number {
  const dayOf = (d: Date) => Math.floor(d.getTime() / dayMs);
  return dayOf(commitmentEnd) - dayOf(now);
}

/**
 * Whether the commitment ends within `days` days (today through today + `days`, both
 * included). Only active subscriptions renew; a monthly term renews every month, so it is
 * never flagged; without a commitment end there is nothing to tell.
 */
export function renewsWithin(s: TermInput, days: number, now: Date): boolean {
  if (s.status !== 'active' || !s.commitmentEndDate) return false;
  if (termOf(s.termDuration) === 'monthly') return false;
  const left = daysToCommitmentEnd(s.commitmentEndDate, now);
  return left >= 0 && left <= days;
}

/**
 * Whether the subscription can still be cancelled or reduced now: new commerce allows it until
 * `cancellationAllowedUntilDate` (seven days after a purchase or renewal), whatever the term.
 */
export function windowOpen(
  s: Pick<TermInput, 'status' | 'cancellationAllowedUntilDate'>,
  now: Date,
): boolean {
  if (s.status !== 'active' || !s.cancellationAllowedUntilDate) return false;
  return now.getTime() < s.cancellationAllowedUntilDate.getTime();
}

/**
 * How far ahead the renewal-window alert looks. Default: 7 days, the length of a new-commerce
 * window (seven days after a purchase or renewal), so every open window is announced.
 */
export const renewalAlertHorizonDays = 7;

/** What one renewal-window alert says: how many windows close on one day, and the first. */
export interface RenewalWindowAlert {
  subscriptions: number;
  /** ISO 8601: the earliest close of that UTC day. */
  windowEndsAt: string;
}

/**
 * The renewal-window alerts the subscriptions call for: one per UTC day on which open windows
 * close within the horizon, with their number and the first close of the day. A day's alert
 * stays while any window of that day is open.
 */
export function renewalWindowAlerts(
  subscriptions: Pick<TermInput, 'status' | 'cancellationAllowedUntilDate'>[],
  now: Date,
): RenewalWindowAlert[] {
  const horizon = now.getTime() + renewalAlertHorizonDays * dayMs;
  const byDay = new Map<string, RenewalWindowAlert>();
  for (const s of subscriptions) {
    if (!windowOpen(s, now) || s.cancellationAllowedUntilDate!.getTime() > horizon) continue;
    const endsAt = s.cancellationAllowedUntilDate!.toISOString();
    const day = byDay.get(endsAt.slice(0, 10));
    byDay.set(endsAt.slice(0, 10), {
      subscriptions: (day?.subscriptions ?? 0) + 1,
      windowEndsAt: day && day.windowEndsAt < endsAt ? day.windowEndsAt : endsAt,
    });
  }
  return [...byDay.values()].sort((a, b) => a.windowEndsAt.localeCompare(b.windowEndsAt));
}

/**
 * Unassigned seats per subscription when several active subscriptions share a SKU: Microsoft
 * counts assigned seats per SKU, not per subscription. Assigned seats fill the subscriptions
 * whose commitment ends last first, so the unassigned ones fall on the subscriptions whose
 * commitment ends soonest: the first point at which they can be dropped. The per-subscription
 * figures add up to the SKU's purchased − assigned (never below 0), counted once.
 *
 * Returns subscription id → {assigned, unassigned}; subscriptions that are not active, have no
 * SKU, or whose SKU's assigned count is unknown are left out.
 */
export function attributeSeats(
  subscriptions: TermInput[],
  /** SKU id (lower-case) → seats assigned in the tenant. */
  assignedBySku: Map<string, number>,
): Map<string, { assigned: number; unassigned: number }> {
  const bySku = new Map<string, TermInput[]>();
  for (const s of subscriptions) {
    if (s.status !== 'active' || !s.skuId) continue;
    const sku = s.skuId.toLowerCase();
    bySku.set(sku, [...(bySku.get(sku) ?? []), s]);
  }
  const result = new Map<string, { assigned: number; unassigned: number }>();
  for (const [sku, subs] of bySku) {
    let left = assignedBySku.get(sku);
    if (left === undefined) continue;
    // Latest commitment end first; no end date counts as the latest (it cannot be dropped on a
    // known day). Ties by id, so the answer does not depend on the order rows were read in.
    const ordered = [...subs].sort(
      (a, b) =>
        (b.commitmentEndDate?.getTime() ?? Infinity) -
          (a.commitmentEndDate?.getTime() ?? Infinity) ||
        a.subscriptionId.localeCompare(b.subscriptionId),
    );
    for (const s of ordered) {
      const assigned = Math.min(s.quantity, left);
      left -= assigned;
      result.set(s.subscriptionId, { assigned, unassigned: s.quantity - assigned });
    }
  }
  return result;
}
