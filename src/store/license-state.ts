import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { LicenseSnapshot } from '../domain/licenses.js';
import type { Database } from './database.js';
import { companies, customerLicenseReads, customerLicenses } from './schema.js';

/** What one reading changed: SKU rows written, SKU rows removed, whether the read was recorded. */
export interface LicenseStateChange {
  changed: number;
  removed: number;
  confirmed: boolean;
}

/** One customer's reading of its licenses in a run. */
export interface LicenseReading {
  runId: string;
  customerTenantId: string;
  companyId: string | null;
  licenses: readonly LicenseSnapshot[];
}

/**
 * Records a customer's reading in the caller's transaction, in one statement: SKUs whose
 * counts (or company, or part number) differ are written, SKUs the reading no longer lists are
 * removed, and the customer's read row names the run. An unchanged SKU writes nothing, and
 * the same run recorded again changes nothing. The partner is the run's.
 */
export async function recordLicenseState(
  tx: Database,
  reading: LicenseReading,
): Promise<LicenseStateChange> {
  return recordLicenseStates(tx, [reading]);
}

/** `recordLicenseState` for several customers in one statement (each customer once). */
async function recordLicenseStates(
  tx: Database,
  readings: readonly LicenseReading[],
): Promise<LicenseStateChange> {
  if (readings.length === 0) return { changed: 0, removed: 0, confirmed: false };
  const customers = JSON.stringify(
    readings.map((r) => ({
      run_id: r.runId,
      customer_tenant_id: r.customerTenantId,
      company_id: r.companyId,
    })),
  );
  const result = await tx.execute(sql`
    with reader as (
      select c.run_id, c.customer_tenant_id, c.company_id, run.partner_id
      from jsonb_to_recordset(${customers}::jsonb) as c(run_id uuid, customer_tenant_id uuid,
        company_id uuid)
      join refresh_runs run on run.id = c.run_id
    ), ${licenseStateWrites(readings)}
    select (select count(*) from changed)::int as changed,
      (select count(*) from removed)::int as removed,
      (select count(*) from confirmed)::int as confirmed
  `);
  // node-postgres and PGlite both answer `{ rows }`; the database's type leaves it open.
  const [counts] = (result as { rows: { changed: number; removed: number; confirmed: number }[] })
    .rows;
  return {
    changed: counts?.changed ?? 0,
    removed: counts?.removed ?? 0,
    confirmed: (counts?.confirmed ?? 0) > 0,
  };
}

/**
 * The writes of `recordLicenseStates` as common table expressions (`changed` and `removed`,
 * each returning the partner_id and customer_tenant_id of every row written; `confirmed`, a
 * row per customer) of a statement that names its customers in a `reader` (run_id,
 * customer_tenant_id, company_id, partner_id): only theirs are written.
 */
export function licenseStateWrites(readings: readonly LicenseReading[]): SQL {
  const rows = JSON.stringify(
    readings.flatMap((r) =>
      r.licenses.map((l) => ({
        customer_tenant_id: r.customerTenantId,
        sku_id: l.skuId,
        sku_part_number: l.skuPartNumber,
        active_units: l.activeUnits,
        consumed_units: l.consumedUnits,
        suspended_units: l.suspendedUnits,
        warning_units: l.warningUnits,
        billed_quantity: l.billedQuantity,
      })),
    ),
  );
  // JSON rather than array parameters: node-postgres and PGlite serialize it the same way.
  return sql`reading as (
      select * from jsonb_to_recordset(${rows}::jsonb) as r(customer_tenant_id uuid,
        sku_id uuid, sku_part_number text, active_units int, consumed_units int,
        suspended_units int, warning_units int, billed_quantity int)
    ), changed as (
      insert into customer_licenses as l (partner_id, customer_tenant_id, sku_id, company_id,
        sku_part_number, active_units, consumed_units, suspended_units, warning_units,
        billed_quantity, changed_run_id, changed_at)
      select c.partner_id, c.customer_tenant_id, r.sku_id, c.company_id,
        r.sku_part_number, r.active_units, r.consumed_units, r.suspended_units,
        r.warning_units, r.billed_quantity, c.run_id, now()
      from reading r join reader c on c.customer_tenant_id = r.customer_tenant_id
      on conflict (partner_id, customer_tenant_id, sku_id) do update set
        company_id = excluded.company_id, sku_part_number = excluded.sku_part_number,
        active_units = excluded.active_units, consumed_units = excluded.consumed_units,
        suspended_units = excluded.suspended_units, warning_units = excluded.warning_units,
        billed_quantity = excluded.billed_quantity, changed_run_id = excluded.changed_run_id,
        changed_at = excluded.changed_at
      where (l.company_id, l.sku_part_number, l.active_units, l.consumed_units,
          l.suspended_units, l.warning_units, l.billed_quantity)
        is distinct from (excluded.company_id, excluded.sku_part_number, excluded.active_units,
          excluded.consumed_units, excluded.suspended_units, excluded.warning_units,
          excluded.billed_quantity)
      returning l.partner_id, l.customer_tenant_id
    ), removed as (
      delete from customer_licenses l using reader c
      where l.partner_id = c.partner_id and l.customer_tenant_id = c.customer_tenant_id
        and not exists (select 1 from reading r
          where r.customer_tenant_id = c.customer_tenant_id and r.sku_id = l.sku_id)
      returning l.partner_id, l.customer_tenant_id
    ), confirmed as (
      insert into customer_license_reads as c (partner_id, customer_tenant_id, company_id,
        run_id, read_at)
      select partner_id, customer_tenant_id, company_id, run_id, now() from reader
      on conflict (partner_id, customer_tenant_id) do update set
        company_id = excluded.company_id, run_id = excluded.run_id, read_at = excluded.read_at
      where c.run_id <> excluded.run_id or c.company_id is distinct from excluded.company_id
      returning 1
    )`;
}

/** A company's license counts of one SKU, as its latest successful refresh left them. */
export interface CurrentLicense extends LicenseSnapshot {
  companyId: string | null;
  customerTenantId: string;
  /** When the latest successful refresh read them (changed or not). */
  capturedAt: Date;
  /** The run of that refresh. */
  runId: string;
}

/**
 * Each company's current licenses, of the tenant it is linked to now: a company moved to
 * another customer, or unlinked, does not keep showing the licenses of the one before.
 */
export async function currentLicenses(
  db: Database,
  companyIds: string[],
): Promise<CurrentLicense[]> {
  if (companyIds.length === 0) return [];
  const l = customerLicenses;
  const r = customerLicenseReads;
  return db
    .select({
      companyId: l.companyId,
      customerTenantId: l.customerTenantId,
      skuId: l.skuId,
      skuPartNumber: l.skuPartNumber,
      activeUnits: l.activeUnits,
      consumedUnits: l.consumedUnits,
      suspendedUnits: l.suspendedUnits,
      warningUnits: l.warningUnits,
      billedQuantity: l.billedQuantity,
      capturedAt: r.readAt,
      runId: r.runId,
    })
    .from(l)
    .innerJoin(
      companies,
      and(
        eq(companies.id, l.companyId),
        eq(companies.partnerId, l.partnerId),
        eq(companies.customerTenantId, l.customerTenantId),
      ),
    )
    .innerJoin(r, and(eq(r.partnerId, l.partnerId), eq(r.customerTenantId, l.customerTenantId)))
    .where(inArray(l.companyId, companyIds))
    .orderBy(asc(l.skuPartNumber));
}

/** Every SKU customers hold now: id, part number, companies holding it, last read. */
export function heldSkus(db: Database) {
  const l = customerLicenses;
  const r = customerLicenseReads;
  return db
    .select({
      skuId: l.skuId,
      skuPartNumber: l.skuPartNumber,
      companies: sql<number>`count(distinct ${l.companyId})::int`,
      lastSeenAt: sql<Date>`max(${r.readAt})`.mapWith(r.readAt),
    })
    .from(l)
    .innerJoin(r, and(eq(r.partnerId, l.partnerId), eq(r.customerTenantId, l.customerTenantId)))
    .groupBy(l.skuId, l.skuPartNumber)
    .orderBy(l.skuPartNumber);
}
