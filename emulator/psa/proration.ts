// The part of a billing period left for a change made now, as the PSA emulators prorate it.
// The emulators bill by calendar month of their own clock (ConnectWise agreements and Halo
// recurring invoices can bill other periods; the tests need only one).

/** Days left in the calendar month of `ms` (UTC), today included, over the month's days. */
export function remainingMonthShare(ms: number): { days: number; ofDays: number; share: number } {
  const d = new Date(ms);
  const ofDays = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  const days = ofDays - d.getUTCDate() + 1;
  return { days, ofDays, share: days / ofDays };
}

export const roundMoney = (n: number) => Math.round(n * 100) / 100;
