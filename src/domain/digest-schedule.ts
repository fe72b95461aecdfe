import { latestDailyTime } from './run-schedule.js';

/**
 * When the daily digest goes: once a day at ALERT_DIGEST_HOUR_UTC, on the hour, in UTC.
 */

/**
 * The latest digest time at or before `now` (today at `hourUtc`, or yesterday's if that hour
 * has not come yet) and its UTC day: the (channel, day) a digest is sent once for.
 */
export function latestDigestTime(now: Date, hourUtc: number): { at: Date; day: string } {
  const at = latestDailyTime(now, hourUtc);
  return { at, day: at.toISOString().slice(0, 10) };
}

/** The first digest time after `now`. */
export function nextDigestTime(now: Date, hourUtc: number): Date {
  const next = latestDigestTime(now, hourUtc).at;
  next.setUTCDate(next.getUTCDate() + 1);
  return next;
}

/** The digest hour as people read it, e.g. "07:00 UTC". */
export const digestHourLabel = (hourUtc: number) => `${String(hourUtc).padStart(2, '0')}:00 UTC`;
