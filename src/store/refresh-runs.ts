import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { LicenseSnapshot } from '../domain/licenses.js';
import { microsoftSeatFields, microsoftSeatValues } from '../domain/seat-history.js';
import type { MicrosoftFailure } from '../microsoft/error-table.js';
import { alertKeys } from '../domain/alert-events.js';
import { keepAlert, raiseAlert, resolveAlert } from './alert-outbox.js';
import { insertCustomLicenseCountsOf, type CustomLicenseCountInput } from './custom-licenses.js';
import {
  removeUnlisted,
  subscriptionWrites,
  type CustomerSubscriptionInput,
} from './customer-subscriptions.js';
import type { Database } from './database.js';
import { currentLicenses, heldSkus, licenseStateWrites } from './license-state.js';
import { companies, refreshResults, refreshRuns, type RefreshRunTrigger } from './schema.js';
import { groupCommit } from './group-commit.js';
import { recordSeatChangesOf, seatHistoryLockOf } from './seat-history.js';

export type RefreshRun = typeof refreshRuns.$inferSelect;

/** What a customer job needs before it calls Microsoft, read in one statement. */
export interface CustomerJobStart {
  run: Pick<RefreshRun, 'partnerId' | 'status' | 'error'>;
  result: { status: string; attempts: number; companyId: string | null };
  /** The partner's active consent, if any. */
  consentId: string | null;
  /**
   * The customer's recorded subscriptions: their ids (lower-case), the Entra SKU id of each
   * one resolved, and whether any was recorded at all.
   */
  known: { ids: string[]; skus: Map<string, string>; recorded: boolean };
  /** Whether the partner counts any custom license at all. */
  countsCustomLicenses: boolean;
  /** The app's consent in the customer tenant as last recorded; null without a row. */
  appConsent: string | null;
  /**
   * Whether this execution holds the customer now: its claim taken (the result pending, the
   * run running), or how long another's claim still holds.
   */
  claim: { claimed: true } | { claimed: false; heldForMs: number };
}

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
  private readonly releaseOf;

  private readonly succeedGrouped: (item: CustomerSuccess) => Promise<boolean>;
  private readonly startGrouped: (start: StartRequest) => Promise<CustomerJobStart | undefined>;
  private readonly settleGrouped: (
    runId: string,
  ) => Promise<{ partnerId: string; status: RefreshRun['status'] } | undefined>;

  constructor(private readonly db: Database) {
    this.succeedGrouped = groupCommit((items) => this.succeedBatch(items));
    this.settleGrouped = groupCommit((runIds) => this.settleBatch(runIds));
    this.startGrouped = groupCommit((starts) => this.startBatch(starts));
    this.byId = db
      .select()
      .from(refreshRuns)
      .where(eq(refreshRuns.id, sql.placeholder('id')))
      .prepare('refresh_run_by_id');
    const r = refreshResults;
    const sameResult = and(
      eq(r.runId, sql.placeholder('runId')),
      eq(r.customerTenantId, sql.placeholder('customerTenantId')),
      eq(r.status, 'pending'),
    );
    this.releaseOf = db
      .update(r)
      .set({ claimedUntil: null })
      .where(and(sameResult, eq(r.claim, sql`${sql.placeholder('claim')}::uuid`)))
      .prepare('release_refresh_result');
  }

  /** Gives a claim up (its execution ends without an outcome), so a retry need not wait. */
  async release(runId: string, customerTenantId: string, claim: string): Promise<void> {
    await this.releaseOf.execute({ runId, customerTenantId, claim });
  }

  /**
   * The run, the customer's result, the partner's consent, the customer's known subscriptions
   * and app consent, and whether custom licenses count: one round trip per customer job. It
   * also claims the pending customer of a running run for this job execution (`claim`) for
   * `leaseMs`, before the job asks Microsoft: another copy of the job (one the reconciler
   * re-added after Redis lost the first) then waits instead of asking too.
   */
  async customerJobStart(
    runId: string,
    customerTenantId: string,
    { claim, leaseMs }: { claim: string; leaseMs: number },
  ): Promise<CustomerJobStart | undefined> {
    return this.startGrouped({ runId, customerTenantId, claim, leaseMs });
  }

  /** `customerJobStart` of the jobs starting together, in one statement. */
  private async startBatch(
    starts: readonly StartRequest[],
  ): Promise<(CustomerJobStart | undefined)[]> {
    const requests = JSON.stringify(
      starts.map((s) => ({
        run_id: s.runId,
        customer_tenant_id: s.customerTenantId,
        claim: s.claim,
        lease_ms: s.leaseMs,
      })),
    );
    // The claims are taken in the same statement as the reads: the select sees each result
    // as it was before (its status, and the claim of another execution it may hold). Two
    // copies of one job in a batch: one claim is written, and only that copy holds it.
    const result = await this.db.execute(sql`
      with request as (
        select * from jsonb_to_recordset(${requests}::jsonb) as k(run_id uuid,
          customer_tenant_id uuid, claim uuid, lease_ms int)
      ), claimed as (
        update refresh_results r set claim = k.claim,
          claimed_until = now() + k.lease_ms * interval '1 millisecond'
        from request k
        where r.run_id = k.run_id and r.customer_tenant_id = k.customer_tenant_id
          and r.status = 'pending'
          and (r.claimed_until is null or r.claimed_until <= now() or r.claim = k.claim)
          and exists (select 1 from refresh_runs claiming
            where claiming.id = k.run_id and claiming.status = 'running')
        returning r.id, r.claim
      )
      select k.claim, run.partner_id, run.status as run_status,
        run.error as run_error, r.status, r.attempts, r.company_id,
        (select d.id from delegated_admins d
          where d.partner_id = run.partner_id and d.kind = 'sam' and d.status = 'active'
          order by d.consented_at desc limit 1) as consent_id,
        (select coalesce(json_agg(json_build_array(s.subscription_id, s.sku_id)), '[]'::json)
          from customer_subscriptions s
          where s.partner_id = run.partner_id
            and s.customer_tenant_id = r.customer_tenant_id) as known_skus,
        exists (select 1 from custom_license_definitions c
          where c.partner_id = run.partner_id and c.deleted_at is null)
          as counts_custom_licenses,
        (select a.app_consent from customer_access a
          where a.partner_id = run.partner_id
            and a.customer_tenant_id = r.customer_tenant_id) as app_consent,
        exists (select 1 from claimed c where c.id = r.id and c.claim = k.claim) as claimed,
        greatest(0, extract(epoch from r.claimed_until - now()) * 1000)::int as held_for_ms
      from request k
      join refresh_results r
        on r.run_id = k.run_id and r.customer_tenant_id = k.customer_tenant_id
      join refresh_runs run on run.id = r.run_id
    `);
    const rows = (result as { rows: StartRow[] }).rows;
    return starts.map((s) => {
      // Each request's claim is its own: two copies of one job each find their row.
      const row = rows.find((r) => r.claim === s.claim);
      if (!row) return undefined;
      const known = row.known_skus;
      return {
        run: { partnerId: row.partner_id, status: row.run_status, error: row.run_error },
        result: { status: row.status, attempts: row.attempts, companyId: row.company_id },
        consentId: row.consent_id,
        known: {
          ids: known.map(([id]) => id),
          skus: new Map(known.flatMap(([id, sku]) => (sku ? [[id, sku] as const] : []))),
          recorded: known.length > 0,
        },
        countsCustomLicenses: row.counts_custom_licenses,
        appConsent: row.app_consent,
        claim: row.claimed ? { claimed: true } : { claimed: false, heldForMs: row.held_for_ms },
      };
    });
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

  /**
   * After a customer's outcome committed: completes the run when no customer is left pending.
   * Read after the commit, every outcome's transaction included, so the last of two finishing
   * together sees the other's. Answers the run's partner and status (undefined when missing).
   */
  async settle(
    runId: string,
  ): Promise<{ partnerId: string; status: RefreshRun['status'] } | undefined> {
    return this.settleGrouped(runId);
  }

  /** `settle` of the runs jobs finishing together asked for: their states in one read. */
  private async settleBatch(
    runIds: readonly string[],
  ): Promise<({ partnerId: string; status: RefreshRun['status'] } | undefined | Error)[]> {
    const states = new Map<string, { partnerId: string; status: RefreshRun['status'] }>();
    const rows = await this.db
      .select({
        id: refreshRuns.id,
        partnerId: refreshRuns.partnerId,
        status: refreshRuns.status,
        pending: sql<boolean>`exists (select 1 from refresh_results pending
          where pending.run_id = "refresh_runs"."id" and pending.status = 'pending')`,
      })
      .from(refreshRuns)
      .where(inArray(refreshRuns.id, [...new Set(runIds)]));
    for (const state of rows) {
      const { id, partnerId, status, pending } = state;
      if (status !== 'running' || pending) {
        states.set(id, { partnerId, status });
        continue;
      }
      const completed = await this.db.transaction((tx) => completeIfNonePending(tx, id));
      if (completed) {
        states.set(id, { partnerId, status: 'completed' });
        continue;
      }
      // Completed (or reopened) by another transaction meanwhile: as it is now.
      const [now] = await this.byId.execute({ id });
      if (now) states.set(id, { partnerId: now.partnerId, status: now.status });
    }
    return runIds.map((id) => states.get(id));
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

  /** The partner's latest run, with its counts so far. */
  async latest(partnerId: string): Promise<RefreshRun | undefined> {
    const [run] = await this.db
      .select()
      .from(refreshRuns)
      .where(eq(refreshRuns.partnerId, partnerId))
      .orderBy(desc(refreshRuns.startedAt))
      .limit(1);
    return run && this.withCounts(run);
  }

  /**
   * A run with its counts so far. The count columns are set when a run completes; a running
   * run's customers move without touching its row, and a stopped run's fail after the stop.
   */
  async progress(id: string): Promise<RefreshRun | undefined> {
    const run = await this.get(id);
    return run && this.withCounts(run);
  }

  private async withCounts(run: RefreshRun): Promise<RefreshRun> {
    if (run.status === 'completed') return run;
    const [counts] = await this.db
      .select(outcomeCounts(run.id))
      .from(refreshRuns)
      .where(eq(refreshRuns.id, run.id));
    return { ...run, ...counts };
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
      // A thousand customers a statement, as one JSON parameter: nothing for drizzle to build.
      for (let i = 0; i < tenants.length; i += 1000) {
        const rows = JSON.stringify(
          tenants.slice(i, i + 1000).map((t) => ({
            customer_tenant_id: t.customerTenantId,
            company_id: t.companyId,
          })),
        );
        await tx.execute(sql`
          insert into refresh_results (run_id, customer_tenant_id, company_id)
          select ${runId}, t.customer_tenant_id, t.company_id
          from jsonb_to_recordset(${rows}::jsonb) as t(customer_tenant_id uuid, company_id uuid)
          on conflict do nothing
        `);
      }
      await tx
        .update(refreshRuns)
        .set({
          notYetAdded,
          total: sql`(select count(*) from ${refreshResults} where ${refreshResults.runId} = ${runId})`,
        })
        .where(eq(refreshRuns.id, runId));
      await completeIfNonePending(tx, runId);
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

  /**
   * The tenant's licenses, its subscriptions, its custom-license counts, the changes of
   * its seat counts since the last reading, and its success, once per (run, tenant) whatever
   * the retries: only a pending result moves, and unique keys absorb a repeat. Answers whether
   * it moved. Successes recorded at the same moment by this process share a transaction
   * (`groupCommit`).
   */
  async succeed(
    runId: string,
    customerTenantId: string,
    companyId: string | null,
    snapshots: LicenseSnapshot[],
    attempts: number,
    customCounts: CustomLicenseCountInput[] = [],
    subscriptions?: {
      partnerId: string;
      rows: CustomerSubscriptionInput[];
      /** The subscription ids recorded before the job called Microsoft. */
      recorded?: readonly string[];
    },
  ): Promise<boolean> {
    return this.succeedGrouped({
      runId,
      customerTenantId,
      companyId,
      snapshots,
      attempts,
      customCounts,
      subscriptions,
    });
  }

  /**
   * Successes in one transaction; when it fails, each one again in a transaction of its own,
   * so one bad item (or a deadlock between batches) fails only what it must.
   */
  private async succeedBatch(items: readonly CustomerSuccess[]): Promise<(boolean | Error)[]> {
    const keyOf = (i: CustomerSuccess) => `${i.runId}:${i.customerTenantId}`;
    const keys = items.map(keyOf);
    // Two copies of one job in one batch would write one row twice in a statement.
    const once = items.length > 1 && new Set(keys).size === items.length;
    if (once) {
      try {
        const moved = await this.db.transaction((tx) => recordSuccesses(tx, items));
        return keys.map((k) => moved.has(k));
      } catch {
        // Each alone below: the batch's error is the failing item's, or none's.
      }
    }
    const answers: (boolean | Error)[] = [];
    for (const item of items) {
      try {
        const moved = await this.db.transaction((tx) => recordSuccesses(tx, [item]));
        answers.push(moved.has(keyOf(item)));
      } catch (error) {
        answers.push(error instanceof Error ? error : new Error(String(error)));
      }
    }
    return answers;
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

/** The run's outcome counts, from its results (set when the run completes, read live before). */
const outcomeCounts = (runId: string) => {
  const count = (status: string) =>
    sql<number>`(select count(*)::int from ${refreshResults} where ${refreshResults.runId} = ${runId} and ${refreshResults.status} = ${status})`;
  return { succeeded: count('succeeded'), failed: count('failed'), noAccess: count('no_access') };
};

const nonePending = (runId: string) =>
  sql`not exists (select 1 from ${refreshResults} where ${refreshResults.runId} = ${runId} and ${refreshResults.status} = 'pending')`;

/**
 * Completes a running run none of whose customers is pending, with its counts, and raises or
 * resolves its alerts; true when this transaction completed it. Only a run that is done is
 * locked: the customer jobs of a run share no row.
 */
async function completeIfNonePending(tx: Database, runId: string): Promise<boolean> {
  const [run] = await tx
    .update(refreshRuns)
    .set({ status: 'completed', finishedAt: sql`now()`, ...outcomeCounts(runId) })
    .where(and(eq(refreshRuns.id, runId), eq(refreshRuns.status, 'running'), nonePending(runId)))
    .returning({
      id: refreshRuns.id,
      partnerId: refreshRuns.partnerId,
      total: refreshRuns.total,
      failed: refreshRuns.failed,
      noAccess: refreshRuns.noAccess,
    });
  if (run) await alertOnCompletion(tx, run);
  return run !== undefined;
}

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

const seatFieldList = sql`(${sql.join(
  microsoftSeatFields.map((f) => sql`${f}`),
  sql`, `,
)})`;

/** One customer's successful refresh, as `RefreshRunStore.succeed` records it. */
interface CustomerSuccess {
  runId: string;
  customerTenantId: string;
  companyId: string | null;
  snapshots: LicenseSnapshot[];
  attempts: number;
  customCounts: CustomLicenseCountInput[];
  subscriptions?: {
    partnerId: string;
    rows: CustomerSubscriptionInput[];
    recorded?: readonly string[];
  };
}

/**
 * Records successes (each customer once) in the caller's transaction: the results still
 * pending move, each taking its company's seat-history lock with the move, and only theirs
 * are recorded: licenses and subscriptions in the same statement as the move, then the
 * changes of their seats under the locks, for those whose licenses changed (or whose company
 * has no seat history yet). Answers the `runId:customerTenantId` of those that moved.
 */
async function recordSuccesses(
  tx: Database,
  items: readonly CustomerSuccess[],
): Promise<Set<string>> {
  const outcomes = JSON.stringify(
    items.map((i) => ({
      run_id: i.runId,
      customer_tenant_id: i.customerTenantId,
      company_id: i.companyId,
      attempts: i.attempts,
    })),
  );
  const listings = items.flatMap((i) =>
    i.subscriptions
      ? [{ ...i.subscriptions, customerTenantId: i.customerTenantId, runId: i.runId }]
      : [],
  );
  // The lock of each company is taken with the move rather than in a round trip of its own:
  // held from here to the commit. Every part of a statement reads the tables as they were
  // before it (PostgreSQL runs each data-modifying part once, read or not): the writes below
  // the move are kept to the customers it moved through `reader`.
  const result = await tx.execute(sql`
    with outcome as (
      select * from jsonb_to_recordset(${outcomes}::jsonb) as o(run_id uuid,
        customer_tenant_id uuid, company_id uuid, attempts int)
    ), moved as (
      update refresh_results r set status = 'succeeded', attempts = o.attempts,
        finished_at = now(), classification = null, error_code = null, error_message = null
      from outcome o
      where r.run_id = o.run_id and r.customer_tenant_id = o.customer_tenant_id
        and r.status = 'pending'
      returning r.run_id, r.customer_tenant_id,
        case when o.company_id is not null then ${seatHistoryLockOf(sql`o.company_id`)} end
          as lock
    ), reader as (
      select o.run_id, o.customer_tenant_id, o.company_id, run.partner_id
      from outcome o
      join moved m on m.run_id = o.run_id and m.customer_tenant_id = o.customer_tenant_id
      join refresh_runs run on run.id = o.run_id
    ), ${licenseStateWrites(
      items.map((i) => ({
        runId: i.runId,
        customerTenantId: i.customerTenantId,
        companyId: i.companyId,
        licenses: i.snapshots,
      })),
    )}, ${subscriptionWrites(
      listings,
      sql`exists (select 1 from reader c
        where c.run_id = r.run_id and c.customer_tenant_id = r.customer_tenant_id)`,
    )}
    select c.run_id::text || ':' || c.customer_tenant_id::text as key,
      c.company_id is not null and (
        exists (select 1 from changed x
          where x.partner_id = c.partner_id and x.customer_tenant_id = c.customer_tenant_id)
        or exists (select 1 from removed x
          where x.partner_id = c.partner_id and x.customer_tenant_id = c.customer_tenant_id)
        or not exists (select 1 from seat_history h
          where h.company_id = c.company_id and h.field in ${seatFieldList})
      ) as seats_may_change
    from reader c
  `);
  const rows = (result as { rows: { key: string; seats_may_change: boolean }[] }).rows;
  const moved = new Set(rows.map((r) => r.key));
  // Seats follow the licenses: a customer whose licenses the statement left as they were has
  // the seats its company's history ends with, so that history is not read (only one with none
  // yet, whose first reading it records).
  const seatsMayChange = new Set(rows.filter((r) => r.seats_may_change).map((r) => r.key));
  const recorded = items.filter((i) => moved.has(`${i.runId}:${i.customerTenantId}`));
  if (recorded.length === 0) return moved;
  await removeUnlisted(
    tx,
    listings.filter((l) => moved.has(`${l.runId}:${l.customerTenantId}`)),
  );
  const withCompany = recorded.filter((i) => i.companyId !== null);
  await insertCustomLicenseCountsOf(
    tx,
    withCompany.flatMap((i) =>
      i.customCounts.map((c) => ({ runId: i.runId, companyId: i.companyId!, ...c })),
    ),
  );
  await recordSeatChangesOf(
    tx,
    withCompany
      .filter((i) => seatsMayChange.has(`${i.runId}:${i.customerTenantId}`))
      .map((i) => ({
        companyId: i.companyId!,
        runId: i.runId,
        fields: [...microsoftSeatFields],
        next: microsoftSeatValues(i.snapshots),
      })),
  );
  return moved;
}

/** A customer job's start: its customer, and the claim its execution takes for `leaseMs`. */
interface StartRequest {
  runId: string;
  customerTenantId: string;
  claim: string;
  leaseMs: number;
}

/** A row of the start read, as PostgreSQL names its columns. */
interface StartRow {
  claim: string;
  partner_id: string;
  run_status: RefreshRun['status'];
  run_error: string | null;
  status: string;
  attempts: number;
  company_id: string | null;
  consent_id: string | null;
  known_skus: [string, string | null][];
  counts_custom_licenses: boolean;
  app_consent: string | null;
  claimed: boolean;
  held_for_ms: number;
}
