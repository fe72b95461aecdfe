// Benchmark 7, storage: what a year of daily runs leaves in PostgreSQL, measured from real rows.
// One partner's customers are refreshed K times, a share of them changing seats in the
// emulator each day; each growing table's size (pg_total_relation_size, after a plain VACUUM
// as autovacuum would run) and row count are taken after the warm-up run and after the last.
// The old layout (a license_snapshots row per customer and SKU per run) is kept beside, in a
// table of its own fed with exactly the rows each run would have written, to measure its bytes.
import { sql } from 'drizzle-orm';
import { prng } from '../emulator/generated-tenants.js';
import { changeSeats } from '../scripts/demo-days.js';
import type { Database } from '../src/store/database.js';
import { startHarness } from '../test/support/harness.js';
import type { BenchOutcome } from './results.js';
import { benchScenario, completedWithoutFailures, consentBenchPartner } from './stack.js';

export type StorageInputs = {
  customers: number;
  runs: number;
  /** Share of customers whose seats change each day. */
  changingShare: number;
  retentionDays: number;
};

interface TableGrowth {
  table: string;
  rowsBefore: number;
  rowsAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Bytes per customer per run: (after − before) / customers / runs. */
  bytesPerCustomerPerRun: number;
  /** Bytes per customer after a year of daily runs (see `bytesPerCustomerPerYear`). */
  bytesPerCustomerPerYear: number;
}

export interface StorageFigures {
  /** SKUs per customer, on average, in the last run. */
  skusPerCustomer: number;
  /** Seat history rows written per run, on average. */
  seatChangesPerRun: number;
  tables: TableGrowth[];
  /** The sum over the tables. */
  totalBytesPerCustomerPerYear: number;
  /** The old layout: its table's bytes per row, measured, and its bytes per customer per year. */
  oldLayout: { rows: number; bytesPerRow: number; bytesPerCustomerPerYear: number };
}

/** Tables a run writes to. */
const growing = [
  'customer_licenses',
  'customer_license_reads',
  'seat_history',
  'refresh_runs',
  'refresh_results',
  'customer_subscriptions',
  'custom_license_counts',
] as const;
/** Kept in place: their rows do not grow with runs, only churn that VACUUM makes reusable. */
const keptInPlace = new Set([
  'customer_licenses',
  'customer_license_reads',
  'customer_subscriptions',
]);
const boundedByRetention = new Set(['refresh_runs', 'refresh_results']);

/**
 * A table's bytes per customer after a year of daily runs: a table kept in place holds its
 * size after the runs; a ledger its growth per run × 365; a run table its growth per run × the
 * retention's days of runs.
 */
export function bytesPerCustomerPerYear(
  t: { table: string; bytesBefore: number; bytesAfter: number },
  inputs: StorageInputs,
): number {
  if (keptInPlace.has(t.table)) return Math.round(t.bytesAfter / inputs.customers);
  const perRun = (t.bytesAfter - t.bytesBefore) / inputs.customers / inputs.runs;
  const runsKept = boundedByRetention.has(t.table) ? Math.min(365, inputs.retentionDays) : 365;
  return Math.max(0, Math.round(perRun * runsKept));
}

const oldLayout = 'bench_license_snapshots_old_layout';

async function rowsOf<T>(db: Database, query: ReturnType<typeof sql>): Promise<T[]> {
  // node-postgres answers `{ rows }`; the database's type leaves it open.
  const result: unknown = await db.execute(query);
  return (result as { rows: T[] }).rows;
}

async function measure(db: Database): Promise<Map<string, { rows: number; bytes: number }>> {
  await db.execute(sql.raw(`vacuum ${[...growing, oldLayout].join(', ')}`));
  const sizes = new Map<string, { rows: number; bytes: number }>();
  for (const table of [...growing, oldLayout]) {
    const [row] = await rowsOf<{ rows: string; bytes: string }>(
      db,
      sql.raw(
        `select (select count(*) from ${table}) as rows, pg_total_relation_size('${table}') as bytes`,
      ),
    );
    sizes.set(table, { rows: Number(row!.rows), bytes: Number(row!.bytes) });
  }
  return sizes;
}

/** The rows the old code wrote for a run: each customer read in it, every SKU it held. */
async function keepOldLayoutRows(db: Database, runId: string): Promise<void> {
  await db.execute(sql`
    insert into ${sql.raw(oldLayout)} (run_id, company_id, customer_tenant_id, sku_id,
      sku_part_number, active_units, consumed_units, suspended_units, warning_units,
      billed_quantity, captured_at)
    select r.run_id, l.company_id, l.customer_tenant_id, l.sku_id, l.sku_part_number,
      l.active_units, l.consumed_units, l.suspended_units, l.warning_units, l.billed_quantity,
      r.read_at
    from customer_license_reads r
    join customer_licenses l
      on l.partner_id = r.partner_id and l.customer_tenant_id = r.customer_tenant_id
    where r.run_id = ${runId}`);
}

export async function storageBench(
  options: { customers?: number; runs?: number } = {},
): Promise<BenchOutcome<StorageFigures, StorageInputs>> {
  const { customers = 500, runs = 30 } = options;
  const changingShare = 0.05;
  const h = await startHarness(
    benchScenario([{ name: 'Partner 1', customers, limit: 100_000 }], 0),
    { PARTNER_CENTER_REQUESTS_PER_SECOND: '1000', GRAPH_REQUESTS_PER_SECOND: '1000' },
    { logLevel: 'warn' },
  );
  try {
    const db = h.runtime.store.db;
    const retentionDays = h.runtime.config.runRetentionDays;
    // The license_snapshots table as migration 0015 found it (its columns and unique index).
    await db.execute(
      sql.raw(`create table ${oldLayout} (
        id bigserial primary key, run_id uuid not null, company_id uuid,
        customer_tenant_id uuid not null, sku_id uuid not null, sku_part_number text not null,
        active_units integer not null, consumed_units integer not null,
        suspended_units integer not null default 0, warning_units integer not null default 0,
        billed_quantity integer not null, captured_at timestamptz not null default now());
      create unique index ${oldLayout}_uq on ${oldLayout} (run_id, customer_tenant_id, sku_id)`),
    );
    const { partnerId, runId } = await consentBenchPartner(h, 0, false);
    await completedWithoutFailures(h, runId);
    await keepOldLayoutRows(db, runId);
    const before = await measure(db);
    const directory = h.emulator.state.directory;
    const tenants = directory.partner('dddddddd-0000-4000-8000-000000000001')!.customers;
    const random = prng(7);
    for (let day = 0; day < runs; day++) {
      for (const customer of tenants) {
        if (random() < changingShare) changeSeats(directory.detail(customer), random);
      }
      const res = await h.api('post', `/partners/${partnerId}/refresh`);
      const id = (res.body as { runId: string }).runId;
      await completedWithoutFailures(h, id);
      await keepOldLayoutRows(db, id);
    }
    const after = await measure(db);
    const perCustomerPerRun = (table: string) =>
      (after.get(table)!.bytes - before.get(table)!.bytes) / customers / runs;
    const inputs = { customers, runs, changingShare, retentionDays };
    const tables = growing.map((table) => {
      const measured = {
        table,
        rowsBefore: before.get(table)!.rows,
        rowsAfter: after.get(table)!.rows,
        bytesBefore: before.get(table)!.bytes,
        bytesAfter: after.get(table)!.bytes,
        bytesPerCustomerPerRun: Math.round(perCustomerPerRun(table)),
      };
      return { ...measured, bytesPerCustomerPerYear: bytesPerCustomerPerYear(measured, inputs) };
    });
    const old = after.get(oldLayout)!;
    const bytesPerRow = old.bytes / old.rows;
    const skusPerCustomer = old.rows / customers / (runs + 1);
    const [changes] = await rowsOf<{ n: string }>(
      db,
      sql`select count(*) as n from seat_history where run_id in
        (select id from refresh_runs where partner_id = ${partnerId})
        and not initial`,
    );
    return {
      inputs,
      figures: {
        skusPerCustomer: Math.round(skusPerCustomer * 100) / 100,
        seatChangesPerRun: Math.round((Number(changes!.n) / runs) * 10) / 10,
        tables,
        totalBytesPerCustomerPerYear: tables.reduce((s, t) => s + t.bytesPerCustomerPerYear, 0),
        oldLayout: {
          rows: old.rows,
          bytesPerRow: Math.round(bytesPerRow),
          bytesPerCustomerPerYear: Math.round(bytesPerRow * skusPerCustomer * 365),
        },
      },
    };
  } finally {
    await h.close(false);
  }
}
