import {
  and,
  desc,
  eq,
  getTableColumns,
  gt,
  inArray,
  isNotNull,
  isNull,
  notInArray,
  sql,
} from 'drizzle-orm';
import { alertKeys } from '../domain/alert-events.js';
import type { PlannedChange, ProrationPolicy, ReconciliationRow } from '../domain/billing.js';
import type { PsaKind } from '../psa/client.js';
import { keepAlert, raiseAlert, resolveAlert } from './alert-outbox.js';
import { recordAudit } from './audit.js';
import type { Database } from './database.js';
import { recordSeatChanges } from './seat-history.js';
import {
  psaConnections,
  psaProductMappings,
  psaSyncChanges,
  psaSyncLedger,
  reconciliationRows,
  refreshRuns,
} from './schema.js';

export type StoredReconciliationRow = typeof reconciliationRows.$inferSelect;
export type SyncChange = typeof psaSyncChanges.$inferSelect;
export type LedgerEntry = typeof psaSyncLedger.$inferSelect;
/** A ledger entry as it is shown. */
export type LedgerRecord = LedgerEntry & {
  /**
   * What the PSA billed when the change was planned (null once its change is gone). For a write
   * found already applied, `before` is the PSA's quantity read at the time, which was already
   * `after`: this is the quantity the write moved from, as known.
   */
  plannedBefore: number | null;
};

/** Reconciliation rows, the sync plan's changes and the ledger of what was written. */
export class PsaSyncStore {
  constructor(private readonly db: Database) {}

  /**
   * Replaces one company's rows with a new reconciliation, and records what changed in what
   * the PSA bills. A difference keeps the time it first appeared until it is gone; rows for
   * products no longer counted nor billed go.
   */
  async saveReconciliation(
    partnerId: string,
    companyId: string,
    rows: ReconciliationRow[],
    /** Whether the PSA's lines were read: without them, what it bills is unknown. */
    psaRead = false,
  ): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      // What the PSA bills goes into the seat history; a row it was not read for tells nothing.
      if (psaRead)
        await recordSeatChanges(tx, {
          companyId,
          runId: null,
          fields: ['psaBilled'],
          next: rows.flatMap((r) =>
            r.psaBilled === null
              ? []
              : [
                  {
                    productKey: r.sourceKey,
                    skuId: r.skuId,
                    productName: r.productName,
                    field: 'psaBilled' as const,
                    value: r.psaBilled,
                  },
                ],
          ),
          unknown: rows.filter((r) => r.psaBilled === null).map((r) => r.sourceKey),
        });
      const keys = rows.map((r) => r.sourceKey);
      await tx
        .delete(reconciliationRows)
        .where(
          and(
            eq(reconciliationRows.companyId, companyId),
            keys.length > 0 ? notInArray(reconciliationRows.sourceKey, keys) : undefined,
          ),
        );
      if (rows.length > 0) await upsertRows(tx, partnerId, companyId, rows);
      return keepUnmappedAlert(tx, partnerId);
    });
  }

  reconciliation(partnerId: string): Promise<StoredReconciliationRow[]> {
    return this.db
      .select()
      .from(reconciliationRows)
      .where(eq(reconciliationRows.partnerId, partnerId))
      .orderBy(reconciliationRows.companyId, reconciliationRows.productName);
  }

  /**
   * Replaces the company's planned changes with a new plan, keeping those it repeats. Changes
   * approved or being applied stay: a person decided on them, and one may be half-written.
   * Returns the plan's planned changes, kept and new.
   */
  async replacePlan(
    partnerId: string,
    companyId: string,
    plan: {
      changes: PlannedChange[];
      containerId: string;
      effectiveDate: string;
      /** Default: prorate */
      proration?: ProrationPolicy;
    },
  ): Promise<SyncChange[]> {
    return this.db.transaction(async (tx) => {
      // Two reconciliations of one company (a run's, a person's) plan one after the other.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`psa-plan:${companyId}`}))`);
      // The plan was made from mappings read before this transaction: a change whose mapping
      // now bills another product (or is gone) is left out. Locked, so a mapping changed now
      // waits for this plan and then closes its changes.
      const keys = plan.changes.map((c) => c.sourceKey);
      const mapped =
        keys.length === 0
          ? []
          : await tx
              .select({
                sourceKey: psaProductMappings.sourceKey,
                psaProductId: psaProductMappings.psaProductId,
              })
              .from(psaProductMappings)
              .where(
                and(
                  eq(psaProductMappings.partnerId, partnerId),
                  inArray(psaProductMappings.sourceKey, keys),
                ),
              )
              .for('share');
      const productOf = new Map(mapped.map((m) => [m.sourceKey, m.psaProductId]));
      const changes = plan.changes.filter((c) => productOf.get(c.sourceKey) === c.psaProductId);
      const current = await tx
        .select()
        .from(psaSyncChanges)
        .where(
          and(
            eq(psaSyncChanges.companyId, companyId),
            inArray(psaSyncChanges.status, ['planned', 'approved', 'applying']),
          ),
        );
      // A planned change the new plan repeats keeps its id: a page showing it can still
      // approve it. Approved or applying ones stay whatever the plan says.
      const same = (c: SyncChange, p: PlannedChange) =>
        c.status === 'planned' &&
        c.sourceKey === p.sourceKey &&
        c.action === p.action &&
        c.psaProductId === p.psaProductId &&
        c.target === p.target &&
        c.before === p.before &&
        c.psaLineId === p.psaLineId &&
        c.containerId === plan.containerId &&
        c.effectiveDate === plan.effectiveDate &&
        c.proration === (plan.proration ?? 'prorate');
      const kept = current.filter((c) => changes.some((p) => same(c, p)));
      const stale = current.filter((c) => c.status === 'planned' && !kept.includes(c));
      if (stale.length > 0)
        await tx
          .update(psaSyncChanges)
          .set({ status: 'discarded', updatedAt: sql`now()` })
          .where(
            inArray(
              psaSyncChanges.id,
              stale.map((c) => c.id),
            ),
          );
      const taken = new Set(
        current.filter((c) => c.status !== 'planned' || kept.includes(c)).map((c) => c.sourceKey),
      );
      const fresh = changes.filter((c) => !taken.has(c.sourceKey));
      if (fresh.length === 0) return kept;
      const inserted = await tx
        .insert(psaSyncChanges)
        .values(
          fresh.map((c) => ({
            partnerId,
            companyId,
            sourceKey: c.sourceKey,
            productName: c.productName,
            action: c.action,
            containerId: plan.containerId,
            psaProductId: c.psaProductId,
            psaLineId: c.psaLineId,
            before: c.before,
            target: c.target,
            effectiveDate: plan.effectiveDate,
            proration: plan.proration ?? 'prorate',
            status: 'planned' as const,
          })),
        )
        .returning();
      return [...kept, ...inserted];
    });
  }

  changes(partnerId: string, statuses?: SyncChange['status'][]): Promise<SyncChange[]> {
    return this.db
      .select()
      .from(psaSyncChanges)
      .where(
        and(
          eq(psaSyncChanges.partnerId, partnerId),
          statuses ? inArray(psaSyncChanges.status, statuses) : undefined,
        ),
      )
      .orderBy(desc(psaSyncChanges.createdAt));
  }

  /** Approves planned changes (all of the partner's, or the ids given); returns them. */
  async approve(partnerId: string, actor: string, ids?: string[]): Promise<SyncChange[]> {
    return this.db.transaction(async (tx) => {
      const approved = await tx
        .update(psaSyncChanges)
        .set({
          status: 'approved',
          approvedBy: actor,
          approvedAt: sql`now()`,
          updatedAt: sql`now()`,
        })
        .where(
          and(
            eq(psaSyncChanges.partnerId, partnerId),
            eq(psaSyncChanges.status, 'planned'),
            ids ? inArray(psaSyncChanges.id, ids) : undefined,
          ),
        )
        .returning();
      if (approved.length > 0)
        await recordAudit(tx, {
          partnerId,
          actor,
          action: 'psa_sync.approved',
          subjectType: 'psa_sync_changes',
          details: { changes: approved.map((c) => c.id) },
        });
      return approved;
    });
  }

  /**
   * Moves a company's approved changes to applying, and returns those applying (including any
   * left applying by a worker that died: the write must be checked, never simply repeated).
   */
  async claim(companyId: string): Promise<SyncChange[]> {
    await this.db
      .update(psaSyncChanges)
      .set({ status: 'applying', updatedAt: sql`now()` })
      .where(and(eq(psaSyncChanges.companyId, companyId), eq(psaSyncChanges.status, 'approved')));
    return this.db
      .select()
      .from(psaSyncChanges)
      .where(and(eq(psaSyncChanges.companyId, companyId), eq(psaSyncChanges.status, 'applying')))
      .orderBy(psaSyncChanges.createdAt);
  }

  /** Records a write in the ledger and ends its change, in one transaction. */
  async applied(
    change: SyncChange,
    write: {
      psaKind: PsaKind;
      lineId: string;
      before: number;
      after: number;
      responseId: string;
      alreadyApplied: boolean;
    },
  ): Promise<LedgerEntry> {
    return this.db.transaction(async (tx) => {
      const [entry] = await tx
        .insert(psaSyncLedger)
        .values({
          partnerId: change.partnerId,
          companyId: change.companyId,
          changeId: change.id,
          psaKind: write.psaKind,
          productName: change.productName,
          action: change.action,
          containerId: change.containerId,
          psaLineId: write.lineId,
          before: write.before,
          after: write.after,
          effectiveDate: change.effectiveDate,
          proration: change.proration,
          psaResponseId: write.responseId,
          alreadyApplied: write.alreadyApplied,
          approvedBy: change.approvedBy ?? 'automatic',
        })
        .returning();
      await tx
        .update(psaSyncChanges)
        .set({ status: 'applied', error: null, updatedAt: sql`now()` })
        .where(eq(psaSyncChanges.id, change.id));
      // The row shows the PSA's new quantity at once, not at the next reconciliation. It is
      // set, not moved by after − before: a write found already applied (a retry after a
      // crash) moved nothing this time, yet the row still shows the quantity before it.
      const r = reconciliationRows;
      const moved = sql`(${write.after}::integer - ${r.psaBilled})`;
      await tx
        .update(r)
        .set({
          psaBilled: write.after,
          difference: sql`${r.difference} - ${moved}`,
          differenceSince: sql`case when ${r.difference} - ${moved} = 0 then null else ${r.differenceSince} end`,
          psaLineId: write.lineId,
        })
        .where(
          and(
            eq(r.companyId, change.companyId),
            eq(r.sourceKey, change.sourceKey),
            isNotNull(r.psaBilled),
            isNotNull(r.difference),
          ),
        );
      // A write the PSA took: the billing sync works again.
      await resolveAlert(tx, change.partnerId, alertKeys.billingSyncFailed);
      return entry!;
    });
  }

  /**
   * The PSA refused a change: it ends failed with the PSA's words, and the billing-sync-failed
   * alert is raised with them in the same transaction. Answers the deliveries to queue.
   */
  async failed(changeId: string, error: string): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const [change] = await tx
        .update(psaSyncChanges)
        .set({ status: 'failed', error, updatedAt: sql`now()` })
        .where(eq(psaSyncChanges.id, changeId))
        .returning({
          partnerId: psaSyncChanges.partnerId,
          productName: psaSyncChanges.productName,
        });
      if (!change) return [];
      return raiseAlert(tx, {
        event: 'billingSyncFailed',
        partnerId: change.partnerId,
        details: {
          reason: `The PSA refused the change to ${change.productName}: ${error}`.slice(0, 500),
        },
      });
    });
  }

  /**
   * Completed runs of partners with a PSA whose reconciliation was never queued (the last
   * two days': an older one is superseded by the next run anyway); `runId`: that run only.
   */
  async runsAwaitingReconciliation(
    runId?: string,
  ): Promise<{ runId: string; partnerId: string }[]> {
    return this.db
      .select({ runId: refreshRuns.id, partnerId: refreshRuns.partnerId })
      .from(refreshRuns)
      .innerJoin(psaConnections, eq(psaConnections.partnerId, refreshRuns.partnerId))
      .where(
        and(
          runId === undefined ? undefined : eq(refreshRuns.id, runId),
          eq(refreshRuns.status, 'completed'),
          isNull(refreshRuns.billingQueuedAt),
          gt(refreshRuns.finishedAt, sql`now() - interval '2 days'`),
        ),
      );
  }

  async markReconciliationQueued(runId: string): Promise<void> {
    await this.db
      .update(refreshRuns)
      .set({ billingQueuedAt: sql`now()` })
      .where(eq(refreshRuns.id, runId));
  }

  /** Companies with changes approved or being written: their apply job must exist. */
  async companiesToApply(): Promise<{ partnerId: string; companyId: string }[]> {
    return this.db
      .selectDistinct({ partnerId: psaSyncChanges.partnerId, companyId: psaSyncChanges.companyId })
      .from(psaSyncChanges)
      .where(inArray(psaSyncChanges.status, ['approved', 'applying']));
  }

  /** The ledger, newest first: the partner's, or one company's. */
  ledger(partnerId: string, companyId?: string): Promise<LedgerRecord[]> {
    return this.db
      .select({ ...getTableColumns(psaSyncLedger), plannedBefore: psaSyncChanges.before })
      .from(psaSyncLedger)
      .leftJoin(psaSyncChanges, eq(psaSyncChanges.id, psaSyncLedger.changeId))
      .where(
        and(
          eq(psaSyncLedger.partnerId, partnerId),
          companyId ? eq(psaSyncLedger.companyId, companyId) : undefined,
        ),
      )
      .orderBy(desc(psaSyncLedger.appliedAt), desc(psaSyncLedger.id));
  }
}

/** Writes a company's reconciliation rows, keeping when each difference began. */
async function upsertRows(
  tx: Database,
  partnerId: string,
  companyId: string,
  rows: ReconciliationRow[],
): Promise<void> {
  await tx
    .insert(reconciliationRows)
    .values(
      rows.map((r) => ({
        companyId,
        partnerId,
        sourceKey: r.sourceKey,
        mappingId: r.mapping?.id ?? null,
        productName: r.productName,
        skuId: r.skuId,
        skuPartNumber: r.skuPartNumber,
        microsoftPurchased: r.microsoftPurchased,
        microsoftAssigned: r.microsoftAssigned,
        customCount: r.customCount,
        psaBilled: r.psaBilled,
        psaLineId: r.psaLineId,
        difference: r.difference,
        differenceSince: r.difference ? sql`now()` : null,
      })),
    )
    .onConflictDoUpdate({
      target: [reconciliationRows.companyId, reconciliationRows.sourceKey],
      set: {
        mappingId: sql`excluded.mapping_id`,
        productName: sql`excluded.product_name`,
        skuId: sql`excluded.sku_id`,
        skuPartNumber: sql`excluded.sku_part_number`,
        microsoftPurchased: sql`excluded.microsoft_purchased`,
        microsoftAssigned: sql`excluded.microsoft_assigned`,
        customCount: sql`excluded.custom_count`,
        psaBilled: sql`excluded.psa_billed`,
        psaLineId: sql`excluded.psa_line_id`,
        difference: sql`excluded.difference`,
        differenceSince: sql`case
              when excluded.difference is null or excluded.difference = 0 then null
              when ${reconciliationRows.difference} is null or ${reconciliationRows.difference} = 0
                then now()
              else ${reconciliationRows.differenceSince} end`,
        checkedAt: sql`now()`,
      },
    });
}

/**
 * Raises the unmapped-products alert while the partner's reconciliation shows products with
 * seats that no PSA product is mapped to, and resolves it once none is left.
 */
async function keepUnmappedAlert(tx: Database, partnerId: string): Promise<string[]> {
  const r = reconciliationRows;
  const [row] = await tx
    .select({ products: sql<number>`count(distinct ${r.sourceKey})::integer` })
    .from(r)
    .where(
      and(
        eq(r.partnerId, partnerId),
        isNull(r.mappingId),
        sql`(coalesce(${r.microsoftPurchased}, 0) > 0 or coalesce(${r.customCount}, 0) > 0)`,
      ),
    );
  const products = row?.products ?? 0;
  return keepAlert(tx, partnerId, 'unmappedProducts', products > 0 ? { products } : null);
}
