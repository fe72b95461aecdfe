import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { CustomerAccess, RelationshipAccess } from '../domain/access.js';
import { accessAlertDetails, alertedAccessStates } from '../domain/access-alerts.js';
import { keepAlert } from './alert-outbox.js';
import type { Database } from './database.js';
import {
  accessActions,
  customerAccess,
  type AccessActionKind,
  type AccessActionOutcome,
} from './schema.js';

export type CustomerAccessRow = typeof customerAccess.$inferSelect;
export type AccessAction = typeof accessActions.$inferSelect;

/** One customer's access as read from its relationships. */
export interface AccessRead extends CustomerAccess {
  customerTenantId: string;
  customerName: string | null;
  relationships: RelationshipAccess[];
}

/**
 * Raises or resolves the partner's GDAP alerts from its stored access, in the transaction that
 * stored it. Returns the new deliveries' ids, to queue after the commit.
 */
async function keepAccessAlerts(tx: Database, partnerId: string): Promise<string[]> {
  // Only customers in a state an alert counts, and the relationships of those whose end is
  // near: a partner with thousands of customers in good order reads nothing back.
  const rows = await tx
    .select({
      state: customerAccess.state,
      relationships: sql<RelationshipAccess[]>`case when ${customerAccess.state} = 'expiring'
        then ${customerAccess.relationships} else '[]'::jsonb end`,
    })
    .from(customerAccess)
    .where(
      and(
        eq(customerAccess.partnerId, partnerId),
        inArray(customerAccess.state, alertedAccessStates),
      ),
    );
  const details = accessAlertDetails(rows, new Date());
  return [
    ...(await keepAlert(tx, partnerId, 'gdapEnded', details.gdapEnded)),
    ...(await keepAlert(tx, partnerId, 'gdapEnding7Days', details.gdapEnding7Days)),
    ...(await keepAlert(tx, partnerId, 'gdapEnding30Days', details.gdapEnding30Days)),
    ...(await keepAlert(tx, partnerId, 'appConsentMissing', details.appConsentMissing)),
  ];
}

/** GDAP access per (partner, customer tenant), and the audit of the fixes asked for it. */
export class CustomerAccessStore {
  /** Read by every customer job: built once and named (see RefreshRunStore). */
  private readonly accessOf;

  constructor(private readonly db: Database) {
    this.accessOf = db
      .select()
      .from(customerAccess)
      .where(
        and(
          eq(customerAccess.partnerId, sql.placeholder('partnerId')),
          eq(customerAccess.customerTenantId, sql.placeholder('customerTenantId')),
        ),
      )
      .prepare('customer_access_of_tenant');
  }

  forPartner(partnerId: string): Promise<CustomerAccessRow[]> {
    return this.db
      .select()
      .from(customerAccess)
      .where(eq(customerAccess.partnerId, partnerId))
      .orderBy(customerAccess.customerName, customerAccess.customerTenantId);
  }

  async get(partnerId: string, customerTenantId: string): Promise<CustomerAccessRow | undefined> {
    const [row] = await this.accessOf.execute({ partnerId, customerTenantId });
    return row;
  }

  /**
   * Records a read of the partner's relationships: every customer's row, app consent kept, and
   * the GDAP alerts it shows. Returns the alerts' new deliveries.
   */
  async saveRead(partnerId: string, reads: AccessRead[]): Promise<string[]> {
    if (reads.length === 0) return [];
    return this.db.transaction(async (tx) => {
      // The rows as one JSON parameter per thousand customers: one statement, and no query
      // for drizzle to build from thousands of values.
      for (let i = 0; i < reads.length; i += 1000) {
        const rows = JSON.stringify(
          reads.slice(i, i + 1000).map((r) => ({
            customer_tenant_id: r.customerTenantId,
            customer_name: r.customerName,
            state: r.state,
            relationships: r.relationships,
            features: r.features,
            reason: r.reason ?? null,
          })),
        );
        await tx.execute(sql`
          insert into customer_access as a (partner_id, customer_tenant_id, customer_name, state,
            relationships, features, reason, checked_at)
          select ${partnerId}, r.customer_tenant_id, r.customer_name, r.state, r.relationships,
            r.features, r.reason, now()
          from jsonb_to_recordset(${rows}::jsonb) as r(customer_tenant_id uuid,
            customer_name text, state text, relationships jsonb, features jsonb, reason text)
          on conflict (partner_id, customer_tenant_id) do update set
            customer_name = coalesce(excluded.customer_name, a.customer_name),
            state = excluded.state, relationships = excluded.relationships,
            features = excluded.features, reason = excluded.reason, checked_at = now()
        `);
      }
      return keepAccessAlerts(tx, partnerId);
    });
  }

  /** Records what the last sign-in to the customer tenant showed of the app's consent. */
  async saveAppConsent(
    partnerId: string,
    customerTenantId: string,
    consented: boolean,
    access: CustomerAccess,
  ): Promise<string[]> {
    const values = {
      state: access.state,
      features: access.features,
      reason: access.reason ?? null,
      appConsent: consented ? ('consented' as const) : ('not_consented' as const),
      appConsentCheckedAt: sql`now()`,
    };
    return this.db.transaction(async (tx) => {
      await tx
        .insert(customerAccess)
        .values({ partnerId, customerTenantId, ...values })
        .onConflictDoUpdate({
          target: [customerAccess.partnerId, customerAccess.customerTenantId],
          set: values,
        });
      return keepAccessAlerts(tx, partnerId);
    });
  }

  /** Records one relationship as changed (auto-extend), with the access that follows. */
  async saveRelationships(
    partnerId: string,
    customerTenantId: string,
    relationships: RelationshipAccess[],
    access: CustomerAccess,
  ): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      await tx
        .update(customerAccess)
        .set({
          relationships,
          state: access.state,
          features: access.features,
          reason: access.reason ?? null,
        })
        .where(
          and(
            eq(customerAccess.partnerId, partnerId),
            eq(customerAccess.customerTenantId, customerTenantId),
          ),
        );
      return keepAccessAlerts(tx, partnerId);
    });
  }

  /** Drops a customer's row (one holding only an app consent now known to be given). */
  async forget(partnerId: string, customerTenantId: string): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      await tx
        .delete(customerAccess)
        .where(
          and(
            eq(customerAccess.partnerId, partnerId),
            eq(customerAccess.customerTenantId, customerTenantId),
          ),
        );
      return keepAccessAlerts(tx, partnerId);
    });
  }

  async recordAction(action: {
    partnerId: string;
    actor: string;
    action: AccessActionKind;
    customerTenantId: string;
    relationshipId?: string;
    outcome: AccessActionOutcome;
    message?: string;
  }): Promise<void> {
    await this.db.insert(accessActions).values({
      ...action,
      relationshipId: action.relationshipId ?? null,
      message: action.message ?? null,
    });
  }

  /** The partner's latest fixes, newest first. */
  actions(partnerId: string, limit = 100): Promise<AccessAction[]> {
    return this.db
      .select()
      .from(accessActions)
      .where(eq(accessActions.partnerId, partnerId))
      .orderBy(desc(accessActions.id))
      .limit(limit);
  }
}
