import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../src/store/database.js';
import { customerLicenseReads, customerLicenses } from '../../src/store/schema.js';

const l = customerLicenses;
const r = customerLicenseReads;
const read = and(eq(r.partnerId, l.partnerId), eq(r.customerTenantId, l.customerTenantId));

/** A customer's current licenses, when its latest read was in `runId` (else none). */
export function licensesReadIn(db: Database, runId: string, customerTenantId: string) {
  return db
    .select({
      skuId: l.skuId,
      skuPartNumber: l.skuPartNumber,
      activeUnits: l.activeUnits,
      suspendedUnits: l.suspendedUnits,
      warningUnits: l.warningUnits,
      consumedUnits: l.consumedUnits,
      billedQuantity: l.billedQuantity,
    })
    .from(l)
    .innerJoin(r, read)
    .where(and(eq(r.runId, runId), eq(l.customerTenantId, customerTenantId)));
}

/** Per customer whose latest read was in `runId`: how many SKUs it holds now. */
export function skusPerTenantReadIn(db: Database, runId: string) {
  return db
    .select({
      tenant: r.customerTenantId,
      n: sql<number>`count(${l.skuId})`.mapWith(Number),
    })
    .from(r)
    .leftJoin(l, read)
    .where(eq(r.runId, runId))
    .groupBy(r.customerTenantId);
}
