// Billing periods and the ContractServiceUnits rows that carry a service's units per period.
// Days are YYYY-MM-DD strings (UTC); the wire shows them as midnight UTC date-times.

export interface UnitRow {
  id: number;
  contractID: number;
  contractServiceID: number;
  serviceID: number;
  startDate: string;
  endDate: string;
  units: number;
  price: number;
  cost: number;
  internalCurrencyPrice: number;
  approveAndPostDate: string | null;
  organizationalLevelAssociationID: number | null;
  vendorCompanyID: number | null;
}

export const wireDate = (day: string) => `${day}T00:00:00.000Z`;
export const dayOf = (wire: string) => wire.slice(0, 10);
export const dayAt = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function addDays(day: string, days: number): string {
  return dayAt(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000);
}

function addMonths(day: string, months: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return dayAt(Date.UTC(y, m - 1 + months, d));
}

/** The contract's billing periods, each [start, end] inclusive, the last cut at `end`. */
export function billingPeriods(start: string, end: string, months: number): [string, string][] {
  const periods: [string, string][] = [];
  for (let k = 0; ; k += 1) {
    const from = addMonths(start, k * months);
    if (from > end) return periods;
    const to = addDays(addMonths(start, (k + 1) * months), -1);
    periods.push([from, to < end ? to : end]);
  }
}

/**
 * Applies a unit delta from `day` on: the row holding `day` is split there (a new row from
 * `day` to the row's end) unless it starts on `day`, and every later row changes too.
 * Returns the error text when a row would go below zero; changes nothing then.
 */
export function applyUnitChange(
  rows: UnitRow[],
  day: string,
  delta: number,
  newId: () => number,
): { rows: UnitRow[] } | { error: string } {
  const affected = rows.filter((r) => dayOf(r.endDate) >= day);
  if (affected.some((r) => r.units + delta < 0))
    return { error: 'The adjustment would reduce the units of a contract service below zero.' };
  const result: UnitRow[] = [];
  for (const row of rows) {
    const start = dayOf(row.startDate);
    const end = dayOf(row.endDate);
    if (end < day) result.push(row);
    else if (start >= day) result.push({ ...row, units: row.units + delta });
    else {
      result.push({ ...row, endDate: wireDate(addDays(day, -1)) });
      result.push({ ...row, id: newId(), startDate: wireDate(day), units: row.units + delta });
    }
  }
  return { rows: result };
}
