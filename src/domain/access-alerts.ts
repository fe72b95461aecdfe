import { stateDate, type AccessState, type RelationshipAccess } from './access.js';

const dayMs = 86_400_000;

/** The GDAP alerts' details a read shows: null for a condition no customer has. */
export interface AccessAlertDetails {
  gdapEnded: { customers: number } | null;
  gdapEnding7Days: { customers: number; firstEndsAt: string } | null;
  gdapEnding30Days: { customers: number; firstEndsAt: string } | null;
  appConsentMissing: { customers: number } | null;
}

const ending = (dates: string[]) =>
  dates.length === 0
    ? null
    : { customers: dates.length, firstEndsAt: new Date(dates.sort()[0]!).toISOString() };

/**
 * The states `accessAlertDetails` counts (the relationships of `expiring` ones only): a
 * customer in any other state raises no GDAP alert, so its row need not be read for them.
 */
export const alertedAccessStates: AccessState[] = ['expiring', 'expired', 'app_not_consented'];

/**
 * What the partner's stored access says the alerts are. A customer ending within 7 days counts
 * for the 7-day alert only, so one relationship is not announced twice at once.
 */
export function accessAlertDetails(
  rows: { state: AccessState; relationships: RelationshipAccess[] }[],
  now: Date,
): AccessAlertDetails {
  const within7: string[] = [];
  const within30: string[] = [];
  for (const row of rows) {
    if (row.state !== 'expiring') continue;
    const ends = stateDate('expiring', row.relationships, now);
    if (!ends) continue;
    (Date.parse(ends) <= now.getTime() + 7 * dayMs ? within7 : within30).push(ends);
  }
  const expired = rows.filter((r) => r.state === 'expired').length;
  const notConsented = rows.filter((r) => r.state === 'app_not_consented').length;
  return {
    gdapEnded: expired > 0 ? { customers: expired } : null,
    gdapEnding7Days: ending(within7),
    gdapEnding30Days: ending(within30),
    appConsentMissing: notConsented > 0 ? { customers: notConsented } : null,
  };
}
