import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { LicenseSnapshot } from '../domain/licenses.js';
import { microsoftSeatValues } from '../domain/seat-history.js';
import type { MicrosoftFailure } from '../microsoft/error-table.js';
import { alertKeys } from '../domain/alert-events.js';
import { keepAlert, raiseAlert, resolveAlert } from './alert-outbox.js';
import { insertCustomLicenseCounts, type CustomLicenseCountInput } from './custom-licenses.js';
import {
  replaceCustomerSubscriptions,
  type CustomerSubscriptionInput,
} from './customer-subscriptions.js';
import type { Database } from './database.js';
import { currentLicenses, heldSkus, recordLicenseState } from './license-state.js';
import { companies, refreshResults, refreshRuns, type RefreshRunTrigger } from './schema.js';
import { recordSeatChanges } from './seat-history.js';

export type RefreshRun = typeof refreshRuns.$inferSelect;

/**
 * Refresh runs and their per-tenant results: the source of truth the queues are built from.
 * Their times are the database's (`now()`, as `startedAt`'s default): one clock for a run.
 */
export class RefreshRunStore {
  /**
   * The reads every customer job makes, built once and named, so neither drizzle builds them
   * nor PostgreSQL parses them again on each call: building a query cost more CPU than its
   * answer.
   */
  private readonly byId;
  private readonly resultOf;

  constructor(private readonly db: Database) {
    this.byId = db
      .select()
      .from(refreshRuns)
      .where(eq(refreshRuns.id, sql.placeholder('id')))
      .prepare('refresh_run_by_id');
    this.resultOf = db
      .select()
      .from(refreshResults)
      .where(
        and(
          eq(refreshResults.runId, sql.placeholder('runId')),
          eq(refreshResults.customerTenantId, sql.placeholder('customerTenantId')),
        ),
      )
      .prepare('refresh_result_of_tenant');
  }

  /**
   * Opens a run, or returns the open one (one per partner, enforced by a unique index). A run
   * opened resolves, in its transaction, the partner's alerts of scheduled refreshes that had not
   * started; answers their deliveries to queue.
   */
  async start(
    partnerId: string,
    trigger: RefreshRunTrigger,
  ): Promise<{ run: RefreshRun; deduplicated: boolean; deliveries: string[] }> {
    const opened = await this.db.transaction(async (tx) => {
      const [run] = await tx
        .insert(refreshRuns)
        .values({ partnerId, trigger })
        .onConflictDoNothing()
        .returning();
      if (!run) return undefined;
      return { run, deliveries: await keepAlert(tx, partnerId, 'runNotStarted', null) };
    });
    if (opened) return { ...opened, deduplicated: false };
    const [open] = await this.db
      .select()
      .from(refreshRuns)
      .where(and(eq(refreshRuns.partnerId, partnerId), eq(refreshRuns.status, 'running')));
    return { run: open!, deduplicated: true, deliveries: [] };
  }

  async get(id: string): Promise<RefreshRun | undefined> {
    const [run] = await this.byId.execute({ id });
    return run;
  }

  /** Runs still open, oldest first (the reconciler rebuilds their queue work). */
  open(): Promise<RefreshRun[]> {
    return this.db
      .select()
      .from(refreshRuns)
      .where(eq(refreshRuns.status, 'running'))
      .orderBy(refreshRuns.startedAt)
      .limit(1000);
  }

  async latest(partnerId: string): Promise<RefreshRun | undefined> {
    const [run] = await this.db
      .select()
      .from(refreshRuns)
      .where(eq(refreshRuns.partnerId, partnerId))
      .orderBy(desc(refreshRuns.startedAt))
      .limit(1);
    return run;
  }

  /** The partner's latest run that completed (whatever its failures); counts older are stale. */
  async latestCompleted(partnerId: string): Promise<RefreshRun | undefined> {
    const [run] = await this.db
      .select()
      .from(refreshRuns)
      .where(and(eq(refreshRuns.partnerId, partnerId), eq(refreshRuns.status, 'completed')))
      .orderBy(desc(refreshRuns.startedAt))
      .limit(1);
    return run;
  }

  /** Every tenant's result in a run: its outcome and, when it failed, why. */
  resultsOf(runId: string) {
    return this.db
      .select({
        companyId: refreshResults.companyId,
        customerTenantId: refreshResults.customerTenantId,
        status: refreshResults.status,
        attempts: refreshResults.attempts,
        errorCode: refreshResults.errorCode,
        errorMessage: refreshResults.errorMessage,
        finishedAt: refreshResults.finishedAt,
      })
      .from(refreshResults)
      .where(eq(refreshResults.runId, runId));
  }

  /** Records the tenants the run covers (idempotent) and sets its total. */
  async addTenants(
    runId: string,
    tenants: { customerTenantId: string; companyId: string }[],
    notYetAdded: RefreshRun['notYetAdded'] = [],
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < tenants.length; i += 500) {
        await tx
          .insert(refreshResults)
          .values(tenants.slice(i, i + 500).map((t) => ({ runId, ...t })))
          .onConflictDoNothing();
      }
      await tx
        .update(refreshRuns)
        .set({
          notYetAdded,
          total: sql`(select count(*) from ${refreshResults} where ${refreshResults.runId} = ${runId})`,
        })
        .where(eq(refreshRuns.id, runId));
      await finishIfDone(tx, runId);
    });
  }

  /**
   * Tenants still to refresh, with the attempts earlier rounds (retries) made and their
   * company's name (null once the company is deleted).
   */
  pendingTenants(
    runId: string,
  ): Promise<{ tenant: string; attempts: number; companyName: string | null }[]> {
    return this.db
      .select({
        tenant: refreshResults.customerTenantId,
        attempts: refreshResults.attempts,
        companyName: companies.name,
      })
      .from(refreshResults)
      .leftJoin(companies, eq(companies.id, refreshResults.companyId))
      .where(and(eq(refreshResults.runId, runId), eq(refreshResults.status, 'pending')));
  }

  async result(runId: string, customerTenantId: string) {
    const [row] = await this.resultOf.execute({ runId, customerTenantId });
    return row;
  }

  /**
   * The tenant's licenses, its subscriptions, its custom-license counts, the changes of
   * its seat counts since the last reading, and its success, once per (run, tenant) whatever
   * the retries: only a pending result moves, and unique keys absorb a repeat.
   */
  async succeed(
    runId: string,
    customerTenantId: string,
    companyId: string | null,
    snapshots: LicenseSnapshot[],
    attempts: number,
    customCounts: CustomLicenseCountInput[] = [],
    subscriptions?: { partnerId: string; rows: CustomerSubscriptionInput[] },
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const moved = await tx
        .update(refreshResults)
        .set({
          status: 'succeeded',
          attempts,
          finishedAt: sql`now()`,
          classification: null,
          errorCode: null,
          errorMessage: null,
        })
        .where(
          and(
            eq(refreshResults.runId, runId),
            eq(refreshResults.customerTenantId, customerTenantId),
            eq(refreshResults.status, 'pending'),
          ),
        )
        .returning({ id: refreshResults.id });
      if (moved.length === 0) return false;
      await recordLicenseState(tx, { runId, customerTenantId, companyId, licenses: snapshots });
      if (subscriptions) {
        await replaceCustomerSubscriptions(
          tx,
          subscriptions.partnerId,
          customerTenantId,
          runId,
          subscriptions.rows,
        );
      }
      if (companyId) {
        await insertCustomLicenseCounts(tx, runId, companyId, customCounts);
        await recordSeatChanges(tx, {
          companyId,
          runId,
          fields: ['purchased', 'assigned', 'billed'],
          next: microsoftSeatValues(snapshots),
        });
      }
      await countOutcomes(tx, runId, { succeeded: 1 });
      return true;
    });
  }

  async fail(
    runId: string,
    customerTenantIds: string[],
    failure: MicrosoftFailure,
    attempts: number,
  ): Promise<number> {
    if (customerTenantIds.length === 0) return 0;
    return this.db.transaction(async (tx) => {
      const moved = await tx
        .update(refreshResults)
        .set({
          status: 'failed',
          attempts,
          finishedAt: sql`now()`,
          classification: failure.kind,
          errorCode: failure.code,
          errorMessage: failure.message,
        })
        .where(
          and(
            eq(refreshResults.runId, runId),
            inArray(refreshResults.customerTenantId, customerTenantIds),
            eq(refreshResults.status, 'pending'),
          ),
        )
        .returning({ id: refreshResults.id });
      await countOutcomes(tx, runId, { failed: moved.length });
      return moved.length;
    });
  }

  /**
   * Tenants the partner cannot reach (GDAP, the app's consent), each with the code met and
   * what to do: out of pending, counted apart from failures, never in the retry list.
   */
  async noAccess(
    runId: string,
    tenants: { customerTenantId: string; code: string; message: string }[],
    attempts: number,
  ): Promise<number> {
    if (tenants.length === 0) return 0;
    return this.db.transaction(async (tx) => {
      let moved = 0;
      for (const t of tenants) {
        const rows = await tx
          .update(refreshResults)
          .set({
            status: 'no_access',
            attempts,
            finishedAt: sql`now()`,
            classification: 'no_access',
            errorCode: t.code,
            errorMessage: t.message,
          })
          .where(
            and(
              eq(refreshResults.runId, runId),
              eq(refreshResults.customerTenantId, t.customerTenantId),
              eq(refreshResults.status, 'pending'),
            ),
          )
          .returning({ id: refreshResults.id });
        moved += rows.length;
      }
      await countOutcomes(tx, runId, { noAccess: moved });
      return moved;
    });
  }

  /** The latest run's customers without access: tenant, code and what to do. */
  async noAccessOf(runId: string) {
    return this.db
      .select()
      .from(refreshResults)
      .where(and(eq(refreshResults.runId, runId), eq(refreshResults.status, 'no_access')))
      .orderBy(refreshResults.customerTenantId);
  }

  /** The failed tenants of the partner's latest run, for the failures list and retries. */
  async failures(partnerId: string) {
    const run = await this.latest(partnerId);
    if (!run) return { run: undefined, failures: [] };
    const failures = await this.db
      .select()
      .from(refreshResults)
      .where(and(eq(refreshResults.runId, run.id), eq(refreshResults.status, 'failed')))
      .orderBy(refreshResults.customerTenantId);
    return { run, failures };
  }

  /**
   * Puts failed tenants of a finished run back to pending and reopens it; undefined when
   * another run is open (it covers those tenants anyway). Returns the tenants reopened.
   */
  async reopenFailed(
    runId: string,
    customerTenantIds: string[] | undefined,
  ): Promise<string[] | undefined> {
    try {
      return await this.db.transaction(async (tx) => {
        const reopened = await tx
          .update(refreshResults)
          .set({ status: 'pending', finishedAt: null })
          .where(
            and(
              eq(refreshResults.runId, runId),
              eq(refreshResults.status, 'failed'),
              customerTenantIds
                ? inArray(refreshResults.customerTenantId, customerTenantIds)
                : undefined,
            ),
          )
          .returning({ tenant: refreshResults.customerTenantId });
        if (reopened.length > 0) {
          await tx
            .update(refreshRuns)
            .set({
              status: 'running',
              openedAt: sql`now()`,
              finishedAt: null,
              error: null,
              failed: sql`${refreshRuns.failed} - ${reopened.length}`,
            })
            .where(eq(refreshRuns.id, runId));
        }
        return reopened.map((r) => r.tenant);
      });
    } catch (error) {
      // The one-open-run-per-partner index: a newer run is open.
      if (/unique|duplicate/i.test(String((error as { cause?: unknown }).cause ?? error)))
        return undefined;
      throw error;
    }
  }

  /**
   * Each company's latest licenses (its tenant's last successful refresh), of the tenant it is
   * linked to now.
   */
  latestLicenses(companyIds: string[]) {
    return currentLicenses(this.db, companyIds);
  }

  /** Every SKU customers hold now: id, part number, companies holding it, last read. */
  seenSkus() {
    return heldSkus(this.db);
  }

  /**
   * Ends a run early (no consent, consent needs renewing) with a sentence for the partner, and
   * resolves its not-finished alert; answers that alert's deliveries to queue.
   */
  async stop(runId: string, message: string): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const [run] = await tx
        .update(refreshRuns)
        .set({ status: 'stopped', error: message, finishedAt: sql`now()` })
        .where(and(eq(refreshRuns.id, runId), eq(refreshRuns.status, 'running')))
        .returning({ partnerId: refreshRuns.partnerId });
      return run ? resolveAlert(tx, run.partnerId, alertKeys.runNotFinished(runId)) : [];
    });
  }
}

/**
 * Adds outcomes to the run's counters and completes it when none is left, in one statement:
 * the run's row is locked from here to commit, and every customer job of the run passes here.
 */
async function countOutcomes(
  tx: Database,
  runId: string,
  outcomes: { succeeded?: number; failed?: number; noAccess?: number },
): Promise<void> {
  const succeeded = outcomes.succeeded ?? 0;
  const failed = outcomes.failed ?? 0;
  const noAccess = outcomes.noAccess ?? 0;
  const done = sql`${refreshRuns.status} = 'running' and ${refreshRuns.succeeded} + ${refreshRuns.failed} + ${refreshRuns.noAccess} + ${succeeded + failed + noAccess} >= ${refreshRuns.total}`;
  const [run] = await tx
    .update(refreshRuns)
    .set({
      succeeded: sql`${refreshRuns.succeeded} + ${succeeded}`,
      failed: sql`${refreshRuns.failed} + ${failed}`,
      noAccess: sql`${refreshRuns.noAccess} + ${noAccess}`,
      status: sql`case when ${done} then 'completed' else ${refreshRuns.status} end`,
      finishedAt: sql`case when ${done} then now() else ${refreshRuns.finishedAt} end`,
    })
    .where(eq(refreshRuns.id, runId))
    .returning(completion);
  if (run?.justCompleted) await alertOnCompletion(tx, run);
}

async function finishIfDone(tx: Database, runId: string): Promise<void> {
  const [run] = await tx
    .update(refreshRuns)
    .set({ status: 'completed', finishedAt: sql`now()` })
    .where(
      and(
        eq(refreshRuns.id, runId),
        eq(refreshRuns.status, 'running'),
        sql`${refreshRuns.succeeded} + ${refreshRuns.failed} + ${refreshRuns.noAccess} >= ${refreshRuns.total}`,
      ),
    )
    .returning(completion);
  if (run) await alertOnCompletion(tx, run);
}

/** What a completed run's alert needs; `justCompleted`: completed by this very transaction. */
const completion = {
  id: refreshRuns.id,
  partnerId: refreshRuns.partnerId,
  total: refreshRuns.total,
  failed: refreshRuns.failed,
  noAccess: refreshRuns.noAccess,
  // RETURNING sees the new row: finished now, in this transaction, means completed here.
  justCompleted: sql<boolean>`${refreshRuns.status} = 'completed' and ${refreshRuns.finishedAt} = now()`,
};

/**
 * In the transaction that completes a run: its not-finished alert is resolved; a run with failed
 * or unreachable customers raises the run-failures alert (with its most common reasons); a run
 * without resolves it.
 */
async function alertOnCompletion(
  tx: Database,
  run: { id: string; partnerId: string; total: number; failed: number; noAccess: number },
): Promise<void> {
  await resolveAlert(tx, run.partnerId, alertKeys.runNotFinished(run.id));
  if (run.failed + run.noAccess === 0) {
    await resolveAlert(tx, run.partnerId, alertKeys.runFailures);
    return;
  }
  const reasons = await tx
    .select({
      reason: sql<string>`coalesce(${refreshResults.errorMessage}, 'No reason recorded.')`,
      customers: sql<number>`count(*)::int`,
    })
    .from(refreshResults)
    .where(
      and(
        eq(refreshResults.runId, run.id),
        inArray(refreshResults.status, ['failed', 'no_access']),
      ),
    )
    .groupBy(refreshResults.errorMessage)
    .orderBy(sql`count(*) desc`)
    .limit(3);
  await raiseAlert(tx, {
    event: 'runFinishedWithFailures',
    partnerId: run.partnerId,
    details: {
      runId: run.id,
      total: run.total,
      failed: run.failed,
      noAccess: run.noAccess,
      reasons: reasons.map((r) => ({ reason: r.reason.slice(0, 500), customers: r.customers })),
    },
  });
}
