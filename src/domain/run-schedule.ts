/**
 * When a refresh was due: the daily schedule's times, and the one whose start the reconciler
 * checks.
 */

/** The latest time at or before `now` that is `hourUtc` o'clock UTC (today's, or yesterday's). */
export function latestDailyTime(now: Date, hourUtc: number): Date {
  const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hourUtc));
  if (at > now) at.setUTCDate(at.getUTCDate() - 1);
  return at;
}

/**
 * The scheduled refresh whose start is checked at `now`: the latest one at least `graceMs` old.
 * Within the grace after a scheduled time, the one of the day before is checked again, which
 * finds what it found then.
 */
export function scheduledRefreshToCheck(now: Date, hourUtc: number, graceMs: number): Date {
  return latestDailyTime(new Date(now.getTime() - graceMs), hourUtc);
}
