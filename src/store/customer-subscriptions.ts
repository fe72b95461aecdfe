import { and, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { Database } from './database.js';
import { companies, customerSubscriptions } from './schema.js';

/** One subscription as Partner Center listed it, with its SKU when known. */
export interface CustomerSubscriptionInput {
  subscriptionId: string;
  offerId: string;
  offerName: string | null;
  skuId: string | null;
  quantity: number;
  status: string;
  termDuration: string | null;
  billingCycle: string | null;
  commitmentEndDate: Date | null;
  cancellationAllowedUntilDate: Date | null;
  autoRenewEnabled: boolean | null;
  productType: string | null;
  isTrial: boolean;
}

export type CustomerSubscription = typeof customerSubscriptions.$inferSelect;

/** Upserts rows; a known SKU is never replaced by an unknown one. */
async function upsert(
  db: Database,
  partnerId: string,
  customerTenantId: string,
  runId: string,
  rows: CustomerSubscriptionInput[],
): Promise<void> {
  const t = customerSubscriptions;
  for (let i = 0; i < rows.length; i += 500) {
    await db
      .insert(t)
      .values(
        rows.slice(i, i + 500).map((r) => ({
          partnerId,
          customerTenantId,
          runId,
          ...r,
          subscriptionId: r.subscriptionId.toLowerCase(),
        })),
      )
      .onConflictDoUpdate({
        target: [t.partnerId, t.customerTenantId, t.subscriptionId],
        set: {
          offerId: sql`excluded.offer_id`,
          offerName: sql`excluded.offer_name`,
          skuId: sql`coalesce(excluded.sku_id, ${t.skuId})`,
          quantity: sql`excluded.quantity`,
          status: sql`excluded.status`,
          termDuration: sql`excluded.term_duration`,
          billingCycle: sql`excluded.billing_cycle`,
          commitmentEndDate: sql`excluded.commitment_end_date`,
          cancellationAllowedUntilDate: sql`excluded.cancellation_allowed_until_date`,
          autoRenewEnabled: sql`excluded.auto_renew_enabled`,
          productType: sql`excluded.product_type`,
          isTrial: sql`excluded.is_trial`,
          runId: sql`excluded.run_id`,
          updatedAt: sql`now()`,
        },
      });
  }
}

/**
 * The customer's subscriptions become exactly `rows`: listed ones are upserted, the ones Partner
 * Center no longer lists are removed. Runs inside the transaction that records the customer.
 */
export async function replaceCustomerSubscriptions(
  tx: Database,
  partnerId: string,
  customerTenantId: string,
  runId: string,
  rows: CustomerSubscriptionInput[],
): Promise<void> {
  const t = customerSubscriptions;
  const ids = rows.map((r) => r.subscriptionId.toLowerCase());
  await tx
    .delete(t)
    .where(
      and(
        eq(t.partnerId, partnerId),
        eq(t.customerTenantId, customerTenantId),
        ids.length > 0 ? notInArray(t.subscriptionId, ids) : undefined,
      ),
    );
  await upsert(tx, partnerId, customerTenantId, runId, rows);
}

/** Customer subscriptions: their terms, and the SKU cache that spares Partner Center calls. */
export class CustomerSubscriptionStore {
  /** Read by every customer job: built once and named (see RefreshRunStore). */
  private readonly knownSkusOf;

  constructor(private readonly db: Database) {
    const t = customerSubscriptions;
    this.knownSkusOf = db
      .select({ id: t.subscriptionId, skuId: t.skuId })
      .from(t)
      .where(
        and(
          eq(t.partnerId, sql.placeholder('partnerId')),
          eq(t.customerTenantId, sql.placeholder('customerTenantId')),
        ),
      )
      .prepare('known_skus_of_customer');
  }

  /**
   * Subscription id (lower-case) → Entra SKU id for the subscriptions already resolved, and
   * whether the customer's subscriptions were recorded before at all.
   */
  async knownSkus(
    partnerId: string,
    customerTenantId: string,
  ): Promise<{ skus: Map<string, string>; recorded: boolean }> {
    const rows = await this.knownSkusOf.execute({ partnerId, customerTenantId });
    return {
      skus: new Map(rows.flatMap((r) => (r.skuId ? [[r.id, r.skuId] as const] : []))),
      recorded: rows.length > 0,
    };
  }

  /** The tenants among `tenantIds` whose subscriptions were recorded before. */
  async knownTenants(partnerId: string, tenantIds: string[]): Promise<Set<string>> {
    if (tenantIds.length === 0) return new Set();
    const t = customerSubscriptions;
    const found = new Set<string>();
    for (let i = 0; i < tenantIds.length; i += 1000) {
      const rows = await this.db
        .selectDistinct({ tenant: t.customerTenantId })
        .from(t)
        .where(
          and(
            eq(t.partnerId, partnerId),
            inArray(t.customerTenantId, tenantIds.slice(i, i + 1000)),
          ),
        );
      for (const r of rows) found.add(r.tenant);
    }
    return found;
  }

  /**
   * Keeps SKUs resolved by a refresh that must wait before it can finish, so its next start
   * does not ask for them again. Only rows: the customer's result is recorded on success.
   */
  async rememberSkus(
    partnerId: string,
    customerTenantId: string,
    runId: string,
    rows: CustomerSubscriptionInput[],
  ): Promise<void> {
    if (rows.length > 0) await upsert(this.db, partnerId, customerTenantId, runId, rows);
  }

  /** The subscriptions of these companies' tenants, by tenant. */
  async forCompanies(companyIds: string[]): Promise<Map<string, CustomerSubscription[]>> {
    const byTenant = new Map<string, CustomerSubscription[]>();
    if (companyIds.length === 0) return byTenant;
    const t = customerSubscriptions;
    const rows = await this.db
      .select({ s: t })
      .from(t)
      .innerJoin(
        companies,
        and(
          eq(companies.partnerId, t.partnerId),
          eq(companies.customerTenantId, t.customerTenantId),
        ),
      )
      .where(inArray(companies.id, companyIds))
      .orderBy(t.customerTenantId, t.offerName, t.termDuration);
    for (const { s } of rows) {
      const list = byTenant.get(s.customerTenantId) ?? [];
      list.push(s);
      byTenant.set(s.customerTenantId, list);
    }
    return byTenant;
  }
}
