import { and, asc, desc, eq, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import { domainOf } from '../domain/domain-match.js';
import { raiseAlert } from './alert-outbox.js';
import { recordAudit } from './audit.js';
import { errorChain } from './availability.js';
import type { Database } from './database.js';
import { inUuidList } from './uuid-list.js';
import type { KeyRing } from './encryption.js';
import { companies, delegatedAdmins, partners } from './schema.js';

export type Partner = typeof partners.$inferSelect;
export type Company = typeof companies.$inferSelect;
export type DelegatedAdmin = typeof delegatedAdmins.$inferSelect;

/** The seal context of a legacy account's password. */
export const legacyPasswordContext = (delegatedAdminId: string) =>
  `delegated_admin:${delegatedAdminId}:password`;

/** The unique index that keeps one Microsoft tenant to one partner (schema.ts). */
const homeTenantIndex = 'partners_home_tenant_uq';

/**
 * Binds a partner to its Microsoft tenant, or confirms it: false when the partner has another
 * tenant already. A tenant another partner holds fails with a unique violation (tenantTaken).
 */
export async function bindHomeTenant(
  db: Database,
  partnerId: string,
  tenantId: string,
): Promise<boolean> {
  const bound = await db
    .update(partners)
    .set({ homeTenantId: tenantId, updatedAt: new Date() })
    .where(
      and(
        eq(partners.id, partnerId),
        or(isNull(partners.homeTenantId), eq(partners.homeTenantId, tenantId)),
      ),
    )
    .returning({ id: partners.id });
  return bound.length > 0;
}

/** Whether the error is the unique index refusing a tenant that another partner holds. */
export function tenantTaken(error: unknown): boolean {
  for (const e of errorChain(error)) {
    if (e.code === '23505' && (e as { constraint?: unknown }).constraint === homeTenantIndex) {
      return true;
    }
  }
  return false;
}

/** The unique index that keeps a customer tenant to one company of a partner (schema.ts). */
const companyTenantIndex = 'companies_partner_tenant_uq';

/** Whether the error is the unique index refusing a customer tenant another company has. */
export function companyTenantTaken(error: unknown): boolean {
  for (const e of errorChain(error)) {
    if (e.code === '23505' && (e as { constraint?: unknown }).constraint === companyTenantIndex) {
      return true;
    }
  }
  return false;
}

/**
 * A company's fields as an update writes them: null clears one; a delegatedAdminId left
 * undefined keeps the account the company has.
 */
export interface CompanyFields {
  name: string;
  domain: string | null;
  customerTenantId: string | null;
  delegatedAdminId?: string | null;
}

/** Partners, their legacy delegated admins and their companies. */
export class PartnerStore {
  /** Read by every customer job: built once and named (see RefreshRunStore). */
  private readonly activeConsentOf;

  constructor(
    private readonly db: Database,
    private readonly keyRing: KeyRing,
  ) {
    this.activeConsentOf = db
      .select()
      .from(delegatedAdmins)
      .where(
        and(
          eq(delegatedAdmins.partnerId, sql.placeholder('partnerId')),
          eq(delegatedAdmins.kind, 'sam'),
          eq(delegatedAdmins.status, 'active'),
        ),
      )
      .orderBy(desc(delegatedAdmins.consentedAt))
      .limit(1)
      .prepare('active_consent_of_partner');
  }

  async create(name: string, actor: string): Promise<Partner> {
    return this.db.transaction(async (tx) => {
      const [partner] = await tx.insert(partners).values({ name }).returning();
      await recordAudit(tx, {
        partnerId: partner!.id,
        actor,
        action: 'partner.created',
        subjectType: 'partner',
        subjectId: partner!.id,
      });
      return partner!;
    });
  }

  list(): Promise<Partner[]> {
    return this.db.select().from(partners).orderBy(asc(partners.createdAt));
  }

  async get(id: string): Promise<Partner | undefined> {
    const [partner] = await this.db.select().from(partners).where(eq(partners.id, id));
    return partner;
  }

  /** The partner's own Partner Center pace, null when it has none (or no such partner). */
  async partnerCenterPace(id: string): Promise<number | null> {
    const [partner] = await this.db
      .select({ rate: partners.partnerCenterRequestsPerSecond })
      .from(partners)
      .where(eq(partners.id, id));
    return partner?.rate ?? null;
  }

  /** Changes a partner's name or settings, audited; undefined when there is no such partner. */
  async update(
    id: string,
    changes: {
      name?: string | undefined;
      includeFreeSkusInTotals?: boolean | undefined;
      partnerCenterRequestsPerSecond?: number | null | undefined;
    },
    actor: string,
  ): Promise<Partner | undefined> {
    return this.db.transaction(async (tx) => {
      const [partner] = await tx
        .update(partners)
        .set({ ...changes, updatedAt: new Date() })
        .where(eq(partners.id, id))
        .returning();
      if (!partner) return undefined;
      await recordAudit(tx, {
        partnerId: id,
        actor,
        action: 'partner.updated',
        subjectType: 'partner',
        subjectId: id,
        details: changes,
      });
      return partner;
    });
  }

  /** Whether a partner other than `partnerId` holds this Microsoft tenant. */
  async tenantHeldByAnother(tenantId: string, partnerId: string): Promise<boolean> {
    const rows = await this.db
      .select({ id: partners.id })
      .from(partners)
      .where(and(eq(partners.homeTenantId, tenantId), ne(partners.id, partnerId)));
    return rows.length > 0;
  }

  /** A legacy username/password account; the password is sealed, never returned. */
  async addLegacyAdmin(
    partnerId: string,
    username: string,
    password: string,
    actor: string,
  ): Promise<DelegatedAdmin> {
    const id = crypto.randomUUID();
    return this.db.transaction(async (tx) => {
      const [admin] = await tx
        .insert(delegatedAdmins)
        .values({
          id,
          partnerId,
          kind: 'legacy',
          username: username.toLowerCase(),
          domain: domainOf(username)!,
          passwordEnc: this.keyRing.encrypt(password, legacyPasswordContext(id)),
          createdBy: actor,
        })
        .returning();
      await recordAudit(tx, {
        partnerId,
        actor,
        action: 'delegated_admin.legacy_added',
        subjectType: 'delegated_admin',
        subjectId: id,
        details: { username: admin!.username },
      });
      return admin!;
    });
  }

  admins(partnerId: string): Promise<DelegatedAdmin[]> {
    return this.db
      .select()
      .from(delegatedAdmins)
      .where(eq(delegatedAdmins.partnerId, partnerId))
      .orderBy(desc(delegatedAdmins.createdAt));
  }

  async addCompany(
    partnerId: string,
    company: {
      name: string;
      customerTenantId?: string | undefined;
      domain?: string | undefined;
      delegatedAdminId?: string | undefined;
    },
    actor: string,
  ): Promise<Company> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(companies)
        .values({
          partnerId,
          name: company.name,
          customerTenantId: company.customerTenantId?.toLowerCase() ?? null,
          domain: company.domain?.toLowerCase() ?? null,
          delegatedAdminId: company.delegatedAdminId ?? null,
        })
        .returning();
      await recordAudit(tx, {
        partnerId,
        actor,
        action: 'company.added',
        subjectType: 'company',
        subjectId: row!.id,
        details: { name: row!.name },
      });
      return row!;
    });
  }

  /**
   * Changes a company, audited; undefined when the partner has no company of that id. `change`
   * gets the row locked for the update, so a change made of some fields keeps the others as
   * they are at that moment; what it throws rolls the change back. A new tenant makes the
   * company's visibility unknown until the next listing; a tenant another company of the
   * partner has fails with a unique violation (companyTenantTaken).
   */
  async updateCompany(
    partnerId: string,
    companyId: string,
    change: (before: Company) => CompanyFields,
    actor: string,
  ): Promise<Company | undefined> {
    return this.db.transaction(async (tx) => {
      const [before] = await tx
        .select()
        .from(companies)
        .where(and(eq(companies.partnerId, partnerId), eq(companies.id, companyId)))
        .for('update');
      if (!before) return undefined;
      const changes = change(before);
      const tenant = changes.customerTenantId?.toLowerCase() ?? null;
      const [row] = await tx
        .update(companies)
        .set({
          name: changes.name,
          domain: changes.domain?.toLowerCase() ?? null,
          customerTenantId: tenant,
          ...(changes.delegatedAdminId === undefined
            ? {}
            : { delegatedAdminId: changes.delegatedAdminId }),
          ...(tenant === before.customerTenantId ? {} : { visibility: 'unknown' as const }),
          updatedAt: new Date(),
        })
        .where(eq(companies.id, companyId))
        .returning();
      await recordAudit(tx, {
        partnerId,
        actor,
        action: 'company.updated',
        subjectType: 'company',
        subjectId: companyId,
        details: {
          name: row!.name,
          domain: row!.domain,
          customerTenantId: row!.customerTenantId,
          delegatedAdminId: row!.delegatedAdminId,
          ...(before.customerTenantId === row!.customerTenantId
            ? {}
            : { previousCustomerTenantId: before.customerTenantId }),
        },
      });
      return row!;
    });
  }

  /** One company of the partner; undefined when the partner has none of that id. */
  async company(partnerId: string, companyId: string): Promise<Company | undefined> {
    const [row] = await this.db
      .select()
      .from(companies)
      .where(and(eq(companies.partnerId, partnerId), eq(companies.id, companyId)));
    return row;
  }

  companies(partnerId: string): Promise<Company[]> {
    return this.db
      .select()
      .from(companies)
      .where(eq(companies.partnerId, partnerId))
      .orderBy(asc(companies.name));
  }

  /** The partner's consent in use, if any. */
  async activeConsent(partnerId: string): Promise<DelegatedAdmin | undefined> {
    const [consent] = await this.activeConsentOf.execute({ partnerId });
    return consent;
  }

  /** Partners a refresh can run for: those with an active consent. */
  async withActiveConsent(): Promise<string[]> {
    const rows = await this.db
      .selectDistinct({ partnerId: delegatedAdmins.partnerId })
      .from(delegatedAdmins)
      .where(and(eq(delegatedAdmins.kind, 'sam'), eq(delegatedAdmins.status, 'active')));
    return rows.map((r) => r.partnerId);
  }

  /**
   * The consent stopped working: the partner must grant it again. The consent-needed alert is
   * raised in the same transaction; answers its deliveries to queue (none when the consent was
   * no longer active, so a repeat raises nothing).
   */
  async needsReconsent(consentId: string, reason: string): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const [consent] = await tx
        .update(delegatedAdmins)
        .set({
          status: 'needs_reconsent',
          lastError: reason,
          nextAction: reason,
          updatedAt: new Date(),
        })
        .where(and(eq(delegatedAdmins.id, consentId), eq(delegatedAdmins.status, 'active')))
        .returning({ partnerId: delegatedAdmins.partnerId });
      if (!consent) return [];
      return raiseAlert(tx, {
        event: 'consentNeeded',
        partnerId: consent.partnerId,
        details: { reason: reason.slice(0, 500) },
      });
    });
  }

  async setCompanyTenant(
    companyId: string,
    customerTenantId: string,
    visibility: Company['visibility'],
  ): Promise<void> {
    await this.db
      .update(companies)
      .set({ customerTenantId, visibility, updatedAt: new Date() })
      .where(eq(companies.id, companyId));
  }

  async setVisibility(companyIds: string[], visibility: Company['visibility']): Promise<void> {
    if (companyIds.length === 0) return;
    // Every company of a partner, each run: a company already so is not written again.
    await this.db
      .update(companies)
      .set({ visibility })
      .where(and(inUuidList(companies.id, companyIds), ne(companies.visibility, visibility)));
  }

  /** Whether a company may be attached to this account: one of the partner's, in use. */
  async adminBelongsTo(partnerId: string, adminId: string): Promise<boolean> {
    const rows = await this.db
      .select({ id: delegatedAdmins.id })
      .from(delegatedAdmins)
      .where(
        and(
          eq(delegatedAdmins.partnerId, partnerId),
          eq(delegatedAdmins.id, adminId),
          inArray(delegatedAdmins.kind, ['legacy', 'sam']),
          eq(delegatedAdmins.status, 'active'),
        ),
      );
    return rows.length === 1;
  }
}
