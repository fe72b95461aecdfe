import { and, eq, gte, isNull, lt, lte, notExists, or, sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { raiseAlert } from './alert-outbox.js';
import type { Database } from './database.js';
import { delegatedAdmins, partners, refreshRuns } from './schema.js';

/**
 * A run of the partner that answers the refresh scheduled at `scheduledAt`: one started since,
 * or one open then (the schedule joins an open run rather than starting another).
 */
const runAnswering = (partnerId: PgColumn | string, scheduledAt: Date): SQL =>
  and(
    eq(refreshRuns.partnerId, partnerId),
    or(
      gte(refreshRuns.startedAt, scheduledAt),
      and(
        lte(refreshRuns.openedAt, scheduledAt),
        or(isNull(refreshRuns.finishedAt), gte(refreshRuns.finishedAt, scheduledAt)),
      ),
    ),
  )!;

/** A Partner Center consent in use that was granted by `at`: the schedule was due to refresh. */
const consentedBy = (at: Date): SQL =>
  and(
    eq(delegatedAdmins.kind, 'sam'),
    eq(delegatedAdmins.status, 'active'),
    lte(sql`coalesce(${delegatedAdmins.consentedAt}, ${delegatedAdmins.createdAt})`, at),
  )!;

/**
 * The reconciler's passes over refresh runs that are late: a scheduled refresh that did not
 * start, a run that does not end. Each alert is resolved by the transaction that starts or ends
 * a run (RefreshRunStore); these raise them, each in a transaction that a run's start or end
 * waits for, so none is raised for a run that has just answered it.
 */
export class LateRunStore {
  constructor(private readonly db: Database) {}

  /**
   * Raises runNotStarted (keyed by the day) for each partner whose Partner Center consent in use
   * was granted by `scheduledAt` and no run of which answers that scheduled refresh. A partner
   * consented after it (a new deployment, a new partner) was not due. Answers the deliveries.
   */
  async alertNotStarted(scheduledAt: Date): Promise<string[]> {
    const missed = await this.db
      .selectDistinct({ partnerId: delegatedAdmins.partnerId })
      .from(delegatedAdmins)
      .where(
        and(
          consentedBy(scheduledAt),
          notExists(
            this.db
              .select({ one: sql`1` })
              .from(refreshRuns)
              .where(runAnswering(delegatedAdmins.partnerId, scheduledAt)),
          ),
        ),
      );
    const deliveries: string[] = [];
    for (const { partnerId } of missed) {
      deliveries.push(...(await this.raiseNotStarted(partnerId, scheduledAt)));
    }
    return deliveries;
  }

  /**
   * Raises runNotFinished for each run still open that was opened before `openedBefore`, keyed by
   * the run. Answers the deliveries.
   */
  async alertNotFinished(openedBefore: Date): Promise<string[]> {
    const late = await this.db
      .select({ id: refreshRuns.id })
      .from(refreshRuns)
      .where(and(eq(refreshRuns.status, 'running'), lt(refreshRuns.openedAt, openedBefore)));
    const deliveries: string[] = [];
    for (const { id } of late) deliveries.push(...(await this.raiseNotFinished(id, openedBefore)));
    return deliveries;
  }

  private raiseNotStarted(partnerId: string, scheduledAt: Date): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      // A run's insert takes a key-share lock on its partner (the foreign key): holding the
      // partner's row, a run starting now waits for this commit (then resolves the alert), or
      // committed before, and the check below sees it.
      await tx
        .select({ id: partners.id })
        .from(partners)
        .where(eq(partners.id, partnerId))
        .for('update');
      const [answered] = await tx
        .select({ id: refreshRuns.id })
        .from(refreshRuns)
        .where(runAnswering(partnerId, scheduledAt))
        .limit(1);
      if (answered) return [];
      return raiseAlert(tx, {
        event: 'runNotStarted',
        partnerId,
        details: { scheduledAt: scheduledAt.toISOString() },
      });
    });
  }

  private raiseNotFinished(runId: string, openedBefore: Date): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      // Holding the run's row: the transaction ending it waits for this commit (then resolves
      // the alert), or committed before, and the run is no longer found running.
      const [run] = await tx
        .select({
          id: refreshRuns.id,
          partnerId: refreshRuns.partnerId,
          openedAt: refreshRuns.openedAt,
        })
        .from(refreshRuns)
        .where(
          and(
            eq(refreshRuns.id, runId),
            eq(refreshRuns.status, 'running'),
            lt(refreshRuns.openedAt, openedBefore),
          ),
        )
        .for('share');
      if (!run) return [];
      return raiseAlert(tx, {
        event: 'runNotFinished',
        partnerId: run.partnerId,
        details: { runId: run.id, startedAt: run.openedAt.toISOString() },
      });
    });
  }
}
