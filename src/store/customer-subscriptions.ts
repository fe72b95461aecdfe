import { and, eq, gt, inArray, lte, notInArray, sql, type SQL } from 'drizzle-orm';
import { alertEvents } from '../domain/alert-events.js';
import {
  renewalAlertHorizonDays,
  renewalWindowAlerts,
  type RenewalWindowAlert,
} from '../domain/renewals.js';
import { keepAlerts, openAlertsOf } from './alert-outbox.js';
import type { Database } from './database.js';
import { inUuidList } from './uuid-list.js';
import { companies, customerSubscriptions } from './schema.js';

const dayMs = 86_400_000;

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
  await upsertOf(db, [{ partnerId, customerTenantId, runId, rows }]);
}

/**
 * `upsert` for several customers' rows together, in one statement: a row whose terms are
 * unchanged is not written (its run and time stay those of its last change).
 */
async function upsertOf(db: Database, listings: readonly SubscriptionListing[]): Promise<void> {
  if (listings.every((l) => l.rows.length === 0)) return;
  await db.execute(sql`with ${subscriptionWrites(listings)} select count(*) from upserted`);
}

/**
 * The upsert of `upsertOf` as a common table expression, `upserted`, for a larger statement;
 * `only` (a condition on the listed row `r`) keeps the rows to write.
 */
export function subscriptionWrites(
  listings: readonly SubscriptionListing[],
  only: SQL = sql`true`,
): SQL {
  const rows = listings.flatMap(({ partnerId, customerTenantId, runId, rows }) =>
    rows.map((r) => ({
      partner_id: partnerId,
      customer_tenant_id: customerTenantId,
      run_id: runId,
      subscription_id: r.subscriptionId.toLowerCase(),
      offer_id: r.offerId,
      offer_name: r.offerName,
      sku_id: r.skuId,
      quantity: r.quantity,
      status: r.status,
      term_duration: r.termDuration,
      billing_cycle: r.billingCycle,
      commitment_end_date: r.commitmentEndDate,
      cancellation_allowed_until_date: r.cancellationAllowedUntilDate,
      auto_renew_enabled: r.autoRenewEnabled,
      product_type: r.productType,
      is_trial: r.isTrial,
    })),
  );
  // JSON rather than a parameter per value: one parameter, however many rows.
  return sql`upserted as (
    insert into customer_subscriptions as t (partner_id, customer_tenant_id, run_id,
      subscription_id, offer_id, offer_name, sku_id, quantity, status, term_duration,
      billing_cycle, commitment_end_date, cancellation_allowed_until_date, auto_renew_enabled,
      product_type, is_trial)
    select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(partner_id uuid,
      customer_tenant_id uuid, run_id uuid, subscription_id text, offer_id text,
      offer_name text, sku_id uuid, quantity int, status text, term_duration text,
      billing_cycle text, commitment_end_date timestamptz,
      cancellation_allowed_until_date timestamptz, auto_renew_enabled boolean,
      product_type text, is_trial boolean)
    where ${only}
    on conflict (partner_id, customer_tenant_id, subscription_id) do update set
      offer_id = excluded.offer_id, offer_name = excluded.offer_name,
      sku_id = coalesce(excluded.sku_id, t.sku_id), quantity = excluded.quantity,
      status = excluded.status, term_duration = excluded.term_duration,
      billing_cycle = excluded.billing_cycle, commitment_end_date = excluded.commitment_end_date,
      cancellation_allowed_until_date = excluded.cancellation_allowed_until_date,
      auto_renew_enabled = excluded.auto_renew_enabled, product_type = excluded.product_type,
      is_trial = excluded.is_trial, run_id = excluded.run_id, updated_at = now()
    where (t.offer_id, t.offer_name, t.sku_id, t.quantity, t.status, t.term_duration,
        t.billing_cycle, t.commitment_end_date, t.cancellation_allowed_until_date,
        t.auto_renew_enabled, t.product_type, t.is_trial)
      is distinct from (excluded.offer_id, excluded.offer_name,
        coalesce(excluded.sku_id, t.sku_id), excluded.quantity, excluded.status,
        excluded.term_duration, excluded.billing_cycle, excluded.commitment_end_date,
        excluded.cancellation_allowed_until_date, excluded.auto_renew_enabled,
        excluded.product_type, excluded.is_trial)
    returning 1
  )`;
}

/** One customer's subscriptions as one run listed them. */
export interface SubscriptionListing {
  partnerId: string;
  customerTenantId: string;
  runId: string;
  rows: CustomerSubscriptionInput[];
  /** The subscription ids recorded before the job called Microsoft. */
  recorded?: readonly string[];
}

/**
 * Removes the subscriptions each listing no longer holds, inside the transaction that records
 * the customers (whose listed rows `subscriptionWrites` upserts): each customer's subscriptions
 * then become exactly its `rows`. `recorded`, the ids the job read before it called Microsoft:
 * when each is listed still, there is nothing to remove (the only other writer keeps SKUs of
 * the same listing).
 */
export async function removeUnlisted(
  tx: Database,
  listings: readonly SubscriptionListing[],
): Promise<void> {
  const t = customerSubscriptions;
  for (const { partnerId, customerTenantId, rows, recorded } of listings) {
    const ids = rows.map((r) => r.subscriptionId.toLowerCase());
    const listed = new Set(ids);
    if (recorded && recorded.every((id) => listed.has(id))) continue;
    await tx
      .delete(t)
      .where(
        and(
          eq(t.partnerId, partnerId),
          eq(t.customerTenantId, customerTenantId),
          ids.length > 0 ? notInArray(t.subscriptionId, ids) : undefined,
        ),
      );
  }
}

/** Customer subscriptions: their terms, and the SKU cache that spares Partner Center calls. */
export class CustomerSubscriptionStore {
  constructor(private readonly db: Database) {}

  /** The tenants among `tenantIds` whose subscriptions were recorded before. */
  async knownTenants(partnerId: string, tenantIds: string[]): Promise<Set<string>> {
    if (tenantIds.length === 0) return new Set();
    const t = customerSubscriptions;
    const rows = await this.db
      .selectDistinct({ tenant: t.customerTenantId })
      .from(t)
      .where(and(eq(t.partnerId, partnerId), inUuidList(t.customerTenantId, tenantIds)));
    return new Set(rows.map((r) => r.tenant));
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

  /**
   * The periodic pass over cancellation windows: keeps each partner's renewal-window alerts in
   * step with its companies' subscriptions (those the Renewals page shows), one per day on which
   * open windows close within the horizon. A day whose windows have all closed, or whose
   * subscriptions are gone, is resolved. Partners whose alerts already match are not written
   * to. Answers the deliveries to queue.
   */
  async keepRenewalWindowAlerts(now: Date): Promise<string[]> {
    const wanted = await this.renewalWindowsByPartner(now);
    const open = new Map<string, Set<string>>();
    for (const o of await openAlertsOf(this.db, 'renewalWindow')) {
      open.set(o.partnerId, (open.get(o.partnerId) ?? new Set()).add(o.key));
    }
    const deliveries: string[] = [];
    for (const partnerId of new Set([...wanted.keys(), ...open.keys()])) {
      const windows = wanted.get(partnerId) ?? [];
      const keys = windows.map((w) => alertEvents.renewalWindow.key(w));
      const openKeys = open.get(partnerId) ?? new Set();
      if (keys.length === openKeys.size && keys.every((k) => openKeys.has(k))) continue;
      deliveries.push(
        ...(await this.db.transaction((tx) => keepAlerts(tx, partnerId, 'renewalWindow', windows))),
      );
    }
    return deliveries;
  }

  /** Each partner's renewal-window alerts, from its companies' subscriptions. */
  private async renewalWindowsByPartner(now: Date): Promise<Map<string, RenewalWindowAlert[]>> {
    const t = customerSubscriptions;
    // The range the partial index serves; renewalWindowAlerts applies the rule itself.
    const rows = await this.db
      .select({
        partnerId: t.partnerId,
        status: t.status,
        cancellationAllowedUntilDate: t.cancellationAllowedUntilDate,
      })
      .from(t)
      .innerJoin(
        companies,
        and(
          eq(companies.partnerId, t.partnerId),
          eq(companies.customerTenantId, t.customerTenantId),
        ),
      )
      .where(
        and(
          eq(t.status, 'active'),
          gt(t.cancellationAllowedUntilDate, now),
          lte(
            t.cancellationAllowedUntilDate,
            new Date(now.getTime() + renewalAlertHorizonDays * dayMs),
          ),
        ),
      );
    const byPartner = new Map<string, typeof rows>();
    for (const row of rows) {
      const list = byPartner.get(row.partnerId) ?? [];
      list.push(row);
      byPartner.set(row.partnerId, list);
    }
    return new Map(
      [...byPartner].map(([partnerId, subs]) => [partnerId, renewalWindowAlerts(subs, now)]),
    );
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
