import { and, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
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
export const seatHistoryLock = (companyId: string) =>
  sql<string>`pg_advisory_xact_lock(hashtext(${`seat-history:${companyId}`}))::text`;

/**
 * Records the changes from the company's last recorded values of `fields` to `next`, inside
 * the caller's transaction (the one that records the reading itself), under the company's
 * `seatHistoryLock`: taken here unless `locked` says the transaction already holds it.
 */
export async function recordSeatChanges(
  tx: Database,
  reading: {
    companyId: string;
    runId: string | null;
    fields: readonly SeatField[];
    next: readonly SeatValue[];
    /** Products whose value this reading could not tell: neither changed nor gone. */
    unknown?: readonly string[];
    locked?: boolean;
  },
): Promise<number> {
  const { companyId, runId, fields } = reading;
  if (!reading.locked) await tx.execute(sql`select ${seatHistoryLock(companyId)}`);
  const h = seatHistory;
  const last = await tx
    .selectDistinctOn([h.productKey, h.field], {
      productKey: h.productKey,
      skuId: h.skuId,
      productName: h.productName,
      field: h.field,
      value: h.toValue,
    })
    .from(h)
    .where(and(eq(h.companyId, companyId), inArray(h.field, [...fields])))
    .orderBy(h.productKey, h.field, desc(h.id));
  const unknown = new Set(reading.unknown ?? []);
  const known = last.filter((v) => !unknown.has(v.productKey));
  const changes = diffSeats(known, reading.next, last.length === 0);
  if (changes.length === 0) return 0;
  await tx.insert(seatHistory).values(
    changes.map((c) => ({
      companyId,
      runId,
      productKey: c.productKey,
      skuId: c.skuId,
      productName: c.productName,
      field: c.field,
      fromValue: c.from,
      toValue: c.to,
      initial: c.initial,
    })),
  );
  return changes.length;
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
