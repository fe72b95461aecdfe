import { sql } from 'drizzle-orm';
import type { Database } from './database.js';

/** What one pass of run retention deleted. */
export interface ExpiredRunsDeleted {
  runs: number;
  results: number;
}

/** Runs looked at per pass, and per-customer results deleted per statement. */
const defaultBudget = { runs: 100, results: 5_000, statements: 20 };

/** Keeps refresh runs bounded: the reconciler's pass over expired ones. */
export class RunRetentionStore {
  constructor(private readonly db: Database) {}

  deleteExpired(retentionDays: number): Promise<ExpiredRunsDeleted> {
    return deleteExpiredRuns(this.db, retentionDays);
  }
}

/**
 * Deletes refresh runs that finished more than `retentionDays` ago, with their per-customer
 * results, in bounded batches: results first (a big partner's run has one per customer), then
 * the runs left without any. A partner's latest run and its latest completed run are kept
 * whatever their age (the pages read them), and a running one always. What survives a run:
 * seat history and the current licenses (no foreign key), subscriptions and custom-license
 * counts (their run becomes null). A later pass continues where the budget stopped.
 */
export async function deleteExpiredRuns(
  db: Database,
  retentionDays: number,
  budget: { runs: number; results: number; statements: number } = defaultBudget,
): Promise<ExpiredRunsDeleted> {
  const expired = sql`
    select r.id from refresh_runs r
    where r.status <> 'running'
      and coalesce(r.finished_at, r.started_at) < now() - make_interval(days => ${retentionDays}::int)
      and r.id is distinct from (
        select l.id from refresh_runs l where l.partner_id = r.partner_id
        order by l.started_at desc limit 1)
      and r.id is distinct from (
        select l.id from refresh_runs l
        where l.partner_id = r.partner_id and l.status = 'completed'
        order by l.started_at desc limit 1)
    order by r.started_at
    limit ${budget.runs}`;
  let results = 0;
  for (let i = 0; i < budget.statements; i += 1) {
    const deleted = await db.execute(sql`
      delete from refresh_results where id in (
        select id from refresh_results where run_id in (${expired}) limit ${budget.results})`);
    const count = rowCount(deleted);
    results += count;
    if (count < budget.results) break;
  }
  const runs = await db.execute(sql`
    delete from refresh_runs where id in (${expired})
      and not exists (select 1 from refresh_results x where x.run_id = refresh_runs.id)`);
  return { runs: rowCount(runs), results };
}

/** Rows a statement touched: node-postgres says `rowCount`, PGlite `affectedRows`. */
function rowCount(result: unknown): number {
  const r = result as { rowCount?: number | null; affectedRows?: number };
  return r.rowCount ?? r.affectedRows ?? 0;
}
