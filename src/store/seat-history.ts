import { and, desc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { diffSeats, type SeatField, type SeatValue } from '../domain/seat-history.js';
import { skuProduct } from '../domain/sku-names.js';
import type { Database } from './database.js';
import { seatHistory } from './schema.js';

export type SeatHistoryRow = typeof seatHistory.$inferSelect;

/** Rows the company page and the API read at most: the newest. */
const seatHistoryLimit = 1000;

/**
 * Taken first by the transaction recording a reading of the company's seats, so readings of
 * one company are recorded one after the other and each compares with the one before.
 */
const seatHistoryLock = (companyId: string) => seatHistoryLockOf(sql`${companyId}::uuid`);

/** `seatHistoryLock` of the company a SQL expression (a uuid) names. */
export const seatHistoryLockOf = (companyId: SQL) =>
  sql<string>`pg_advisory_xact_lock(hashtext('seat-history:' || (${companyId})::text))::text`;

/** One company's reading of some of its seat fields, to compare with the last recorded values. */
export interface SeatReading {
  companyId: string;
  runId: string | null;
  fields: readonly SeatField[];
  next: readonly SeatValue[];
  /** Products whose value this reading could not tell: neither changed nor gone. */
  unknown?: readonly string[];
}

/**
 * Records the changes from the company's last recorded values of `fields` to `next`, inside
 * the caller's transaction (the one that records the reading itself), under the company's
 * `seatHistoryLock`: taken here unless `locked` says the transaction already holds it.
 */
export async function recordSeatChanges(
  tx: Database,
  reading: SeatReading & { locked?: boolean },
): Promise<number> {
  if (!reading.locked) await tx.execute(sql`select ${seatHistoryLock(reading.companyId)}`);
  return recordSeatChangesOf(tx, [reading]);
}

/**
 * `recordSeatChanges` for several companies at once (one company each, all asking for the same
 * fields), in one read and one write; the transaction holds each company's `seatHistoryLock`.
 */
export async function recordSeatChangesOf(
  tx: Database,
  readings: readonly SeatReading[],
): Promise<number> {
  if (readings.length === 0) return 0;
  const fields = [...new Set(readings.flatMap((r) => r.fields))];
  const h = seatHistory;
  const last = await tx
    .selectDistinctOn([h.companyId, h.productKey, h.field], {
      companyId: h.companyId,
      productKey: h.productKey,
      skuId: h.skuId,
      productName: h.productName,
      field: h.field,
      value: h.toValue,
    })
    .from(h)
    .where(
      and(
        inArray(
          h.companyId,
          readings.map((r) => r.companyId),
        ),
        inArray(h.field, fields),
      ),
    )
    .orderBy(h.companyId, h.productKey, h.field, desc(h.id));
  const lastOf = new Map<string, SeatValue[]>();
  for (const { companyId, ...value } of last) {
    lastOf.set(companyId, [...(lastOf.get(companyId) ?? []), value]);
  }
  const rows = readings.flatMap((reading) => {
    const wanted = new Set<SeatField>(reading.fields);
    const previous = (lastOf.get(reading.companyId) ?? []).filter((v) => wanted.has(v.field));
    const unknown = new Set(reading.unknown ?? []);
    const known = previous.filter((v) => !unknown.has(v.productKey));
    return diffSeats(known, reading.next, previous.length === 0).map((c) => ({
      companyId: reading.companyId,
      runId: reading.runId,
      productKey: c.productKey,
      skuId: c.skuId,
      productName: c.productName,
      field: c.field,
      fromValue: c.from,
      toValue: c.to,
      initial: c.initial,
    }));
  });
  // 500 rows of 9 columns each stay far below PostgreSQL's 65,535 parameters a statement.
  for (let i = 0; i < rows.length; i += 500) {
    await tx.insert(seatHistory).values(rows.slice(i, i + 500));
  }
  return rows.length;
}

/**
 * A Microsoft row is stored under its SKU's part number and read under Microsoft's product
 * name (the SKU reference), so a reference update renames the whole history. A PSA row keeps
 * the name it was billed under.
 */
const named = (rows: SeatHistoryRow[]): SeatHistoryRow[] =>
  rows.map((r) =>
    r.skuId && r.field !== 'psaBilled'
      ? { ...r, productName: skuProduct(r.skuId, r.productName).productName }
      : r,
  );

/** A company's seat history, read. */
export class SeatHistoryStore {
  constructor(private readonly db: Database) {}

  /** The company's changes, newest first (at most `seatHistoryLimit`). */
  async forCompany(companyId: string): Promise<SeatHistoryRow[]> {
    return named(
      await this.db
        .select()
        .from(seatHistory)
        .where(eq(seatHistory.companyId, companyId))
        .orderBy(desc(seatHistory.at), desc(seatHistory.id))
        .limit(seatHistoryLimit),
    );
  }

  /**
   * The changes a chart of the window needs: those since `since`, and the last one before it
   * per product and field (the value the window starts with).
   */
  async forChart(companyId: string, since: Date): Promise<SeatHistoryRow[]> {
    const h = seatHistory;
    const [before, within] = await Promise.all([
      this.db
        .selectDistinctOn([h.productKey, h.field])
        .from(h)
        .where(and(eq(h.companyId, companyId), lt(h.at, since)))
        .orderBy(h.productKey, h.field, desc(h.id)),
      this.db
        .select()
        .from(h)
        .where(and(eq(h.companyId, companyId), gte(h.at, since)))
        .orderBy(h.id),
    ]);
    return named([...before, ...within]);
  }
}
