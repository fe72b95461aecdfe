/**
 * Seat history: what changed in a company's seat counts between two readings, and the
 * series a chart draws from the changes.
 *
 * Fields: `purchased` (Microsoft's active units), `assigned` (consumed units), `billed` (what
 * Microsoft bills: the active subscriptions' quantity) and `psaBilled` (what the PSA bills).
 */
export type SeatField = 'purchased' | 'assigned' | 'billed' | 'psaBilled';

/** One counted value of one product of a company. */
export interface SeatValue {
  /** The product: a SKU id for Microsoft's fields, a reconciliation source key for the PSA's. */
  productKey: string;
  skuId: string | null;
  productName: string;
  field: SeatField;
  value: number;
}

export interface SeatChange {
  productKey: string;
  skuId: string | null;
  productName: string;
  field: SeatField;
  from: number;
  to: number;
  /** The company's first reading: `from` is 0 because nothing was known before, not a purchase. */
  initial: boolean;
}

const keyOf = (v: { productKey: string; field: SeatField }) => `${v.productKey}\u0000${v.field}`;

/**
 * The changes from `previous` (the last value recorded per product and field) to `next` (this
 * reading): one per value that moved. A product that appears counts from 0; one recorded with
 * seats and absent now goes to 0. `initial` marks every change of a company's first reading,
 * which records its values as they were found (from 0) rather than as purchases.
 */
export function diffSeats(
  previous: readonly SeatValue[],
  next: readonly SeatValue[],
  initial: boolean,
): SeatChange[] {
  const before = new Map(previous.map((v) => [keyOf(v), v]));
  const changes: SeatChange[] = [];
  const seen = new Set<string>();
  for (const v of next) {
    const key = keyOf(v);
    if (seen.has(key)) continue;
    seen.add(key);
    const from = before.get(key)?.value ?? 0;
    if (from === v.value) continue;
    changes.push({
      productKey: v.productKey,
      skuId: v.skuId,
      productName: v.productName,
      field: v.field,
      from,
      to: v.value,
      initial,
    });
  }
  for (const v of previous) {
    if (seen.has(keyOf(v)) || v.value === 0) continue;
    changes.push({
      productKey: v.productKey,
      skuId: v.skuId,
      productName: v.productName,
      field: v.field,
      from: v.value,
      to: 0,
      initial: false,
    });
  }
  return changes;
}

/** The fields Microsoft's license counts give (`psaBilled` is the PSA's). */
export const microsoftSeatFields = ['purchased', 'assigned', 'billed'] as const;

/** The values of Microsoft's fields in one customer's license snapshots. */
export function microsoftSeatValues(
  snapshots: readonly {
    skuId: string;
    skuPartNumber: string;
    activeUnits: number;
    consumedUnits: number;
    billedQuantity: number;
  }[],
): SeatValue[] {
  return snapshots.flatMap((s) => {
    const product = { productKey: s.skuId.toLowerCase(), skuId: s.skuId.toLowerCase() };
    const name = s.skuPartNumber;
    return [
      { ...product, productName: name, field: 'purchased' as const, value: s.activeUnits },
      { ...product, productName: name, field: 'assigned' as const, value: s.consumedUnits },
      { ...product, productName: name, field: 'billed' as const, value: s.billedQuantity },
    ];
  });
}

/** A recorded change as the chart reads it. */
export interface RecordedChange {
  at: Date;
  productKey: string;
  productName: string;
  field: SeatField;
  from: number;
  to: number;
  /** The company's first reading (see SeatChange). Default: false */
  initial?: boolean;
}

/**
 * A step line: the value at the window's start (or the first reading, when within the window),
 * then each change in the window.
 */
export interface SeatLine {
  field: SeatField;
  points: { at: Date; value: number }[];
}

export interface ProductSeries {
  productKey: string;
  productName: string;
  from: Date;
  to: Date;
  lines: SeatLine[];
}

/**
 * Per product, the step lines of `fields` over the `days` before `now`, from the changes
 * (any order; those before the window give its starting value; a first reading within it
 * starts its line). Products with no seats in the whole window are left out; each line ends
 * at `now` with its last value.
 */
export function seatSeries(
  changes: readonly RecordedChange[],
  now: Date,
  days: number,
  fields: readonly SeatField[] = ['purchased', 'assigned'],
): ProductSeries[] {
  const start = new Date(now.getTime() - days * 86_400_000);
  const sorted = [...changes]
    .filter((c) => fields.includes(c.field) && c.at.getTime() <= now.getTime())
    .sort((a, b) => a.at.getTime() - b.at.getTime());
  const products = new Map<string, { name: string; lines: Map<SeatField, SeatLine> }>();
  for (const c of sorted) {
    const product = products.get(c.productKey) ?? {
      name: c.productName,
      lines: new Map<SeatField, SeatLine>(),
    };
    product.name = c.productName;
    products.set(c.productKey, product);
    let line = product.lines.get(c.field);
    if (!line && c.initial && c.at >= start) {
      // Nothing was known before the first reading: the line starts there, not at 0.
      product.lines.set(c.field, { field: c.field, points: [{ at: c.at, value: c.to }] });
      continue;
    }
    if (!line) {
      line = { field: c.field, points: [{ at: start, value: c.at < start ? c.to : c.from }] };
      product.lines.set(c.field, line);
    }
    if (c.at < start) line.points[0]!.value = c.to;
    else line.points.push({ at: c.at, value: c.to });
  }
  const series: ProductSeries[] = [];
  for (const [productKey, product] of products) {
    const lines = fields.map((field) => {
      const line = product.lines.get(field) ?? { field, points: [{ at: start, value: 0 }] };
      return { field, points: [...line.points, { at: now, value: line.points.at(-1)!.value }] };
    });
    if (lines.every((l) => l.points.every((p) => p.value === 0))) continue;
    series.push({ productKey, productName: product.name, from: start, to: now, lines });
  }
  return series.sort((a, b) => a.productName.localeCompare(b.productName));
}
