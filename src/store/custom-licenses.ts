import { and, countDistinct, desc, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import { alertKeys } from '../domain/alert-events.js';
import {
  customLicenseTokenState,
  tokenExpiresAt,
  type CustomLicenseSpec,
} from '../domain/custom-licenses.js';
import { keepAlert, raiseAlert, resolveAlert } from './alert-outbox.js';
import { recordAudit } from './audit.js';
import type { Database } from './database.js';
import {
  alerts,
  customLicenseCounts,
  customLicenseDefinitions,
  delegatedAdmins,
  type CustomLicenseCountState,
} from './schema.js';

export type CustomLicenseDefinition = typeof customLicenseDefinitions.$inferSelect;
export type CustomLicenseToken = typeof delegatedAdmins.$inferSelect;

export interface CustomLicenseCountInput {
  definitionId: string;
  state: CustomLicenseCountState;
  quantity: number | null;
  message: string | null;
}

export interface DefinitionInput {
  name: string;
  /** null: every company. */
  companyIds: string[] | null;
  spec: CustomLicenseSpec;
}

/** A custom-license token that counts or says why it cannot (not pending, not replaced). */
/** Raises the custom-license-token-invalid alert in `tx`, with the validation's sentence. */
export const tokenInvalidAlert = (tx: Database, partnerId: string, reason: string | null) =>
  raiseAlert(tx, {
    event: 'customLicenseTokenInvalid',
    partnerId,
    details: { reason: (reason ?? 'The custom-license token does not work.').slice(0, 500) },
  });

const tokenInUse = and(
  eq(delegatedAdmins.kind, 'custom_license'),
  inArray(delegatedAdmins.status, ['active', 'needs_reconsent']),
);

/** One of the partner's definitions, not deleted. */
const liveDefinition = (partnerId: string, id: string) =>
  and(
    eq(customLicenseDefinitions.id, id),
    eq(customLicenseDefinitions.partnerId, partnerId),
    isNull(customLicenseDefinitions.deletedAt),
  );

const paramsOf = ({ kind: _kind, ...params }: CustomLicenseSpec) => params;

/** The custom-license token of each partner, the definitions, and their counts. */
export class CustomLicenseStore {
  /** Read by every customer job: built once and named (see RefreshRunStore). */
  private readonly definitionsOf;

  constructor(private readonly db: Database) {
    this.definitionsOf = db
      .select()
      .from(customLicenseDefinitions)
      .where(
        and(
          eq(customLicenseDefinitions.partnerId, sql.placeholder('partnerId')),
          isNull(customLicenseDefinitions.deletedAt),
        ),
      )
      .orderBy(customLicenseDefinitions.createdAt)
      .prepare('custom_license_definitions_of_partner');
  }

  /** The partner's custom-license token in use (the newest one), if any. */
  async currentToken(partnerId: string): Promise<CustomLicenseToken | undefined> {
    const [token] = await this.db
      .select()
      .from(delegatedAdmins)
      .where(and(eq(delegatedAdmins.partnerId, partnerId), tokenInUse))
      .orderBy(desc(delegatedAdmins.consentedAt))
      .limit(1);
    return token;
  }

  /** Partners with a custom-license token, for the daily validation. */
  async partnersWithToken(): Promise<string[]> {
    const rows = await this.db
      .selectDistinct({ partnerId: delegatedAdmins.partnerId })
      .from(delegatedAdmins)
      .where(tokenInUse);
    return rows.map((r) => r.partnerId);
  }

  /**
   * The periodic pass over the inactivity limit: raises the custom-license-token-expiring alert
   * of each partner whose token in use is within 14 days of it, and resolves the open ones of
   * partners whose token was used since (or replaced). Answers the deliveries to queue.
   */
  async keepExpiringAlerts(now: Date): Promise<string[]> {
    const open = await this.db
      .selectDistinct({ partnerId: alerts.partnerId })
      .from(alerts)
      .where(and(eq(alerts.event, 'customLicenseTokenExpiring'), isNull(alerts.resolvedAt)));
    const partners = new Set([
      ...(await this.partnersWithToken()),
      ...open.map((o) => o.partnerId),
    ]);
    const deliveries: string[] = [];
    for (const partnerId of partners) {
      const ids = await this.db.transaction(async (tx) => {
        const [token] = await tx
          .select()
          .from(delegatedAdmins)
          .where(and(eq(delegatedAdmins.partnerId, partnerId), tokenInUse))
          .orderBy(desc(delegatedAdmins.consentedAt))
          .limit(1);
        const expiring =
          token?.lastUsedAt && customLicenseTokenState(token, now).status === 'expiring';
        return keepAlert(
          tx,
          partnerId,
          'customLicenseTokenExpiring',
          expiring ? { expiresAt: tokenExpiresAt(token.lastUsedAt!).toISOString() } : null,
        );
      });
      deliveries.push(...ids);
    }
    return deliveries;
  }

  /**
   * A validation's outcome; `used` when the refresh token was redeemed on the way. For the
   * token in use, the custom-license-token-invalid alert is raised or resolved with it; answers
   * the alert deliveries to queue.
   */
  async recordValidation(
    tokenId: string,
    outcome: {
      validation: 'valid' | 'invalid';
      reason: string | null;
      used: boolean;
      grantedScopes?: string[];
      mfa?: boolean;
    },
  ): Promise<string[]> {
    const now = new Date();
    return this.db.transaction(async (tx) => {
      const [token] = await tx
        .update(delegatedAdmins)
        .set({
          validation: outcome.validation,
          validationReason: outcome.reason,
          lastValidatedAt: now,
          lastError: outcome.reason,
          ...(outcome.used ? { lastUsedAt: now } : {}),
          ...(outcome.grantedScopes ? { grantedScopes: outcome.grantedScopes } : {}),
          ...(outcome.mfa !== undefined ? { mfaVerified: outcome.mfa } : {}),
          updatedAt: now,
        })
        .where(eq(delegatedAdmins.id, tokenId))
        .returning({ partnerId: delegatedAdmins.partnerId, status: delegatedAdmins.status });
      if (token?.status !== 'active') return [];
      return outcome.validation === 'valid'
        ? resolveAlert(tx, token.partnerId, alertKeys.customLicenseTokenInvalid)
        : tokenInvalidAlert(tx, token.partnerId, outcome.reason);
    });
  }

  /** The refresh token was redeemed: its 90-day inactivity clock restarts. */
  async markUsed(tokenId: string): Promise<void> {
    await this.db
      .update(delegatedAdmins)
      .set({ lastUsedAt: new Date() })
      .where(eq(delegatedAdmins.id, tokenId));
  }

  /**
   * Microsoft refused the token while counting: invalid until it is generated again. Raises the
   * custom-license-token-invalid alert with it; answers the deliveries to queue.
   */
  async markInvalid(tokenId: string, reason: string): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const [token] = await tx
        .update(delegatedAdmins)
        .set({ validation: 'invalid', validationReason: reason, lastError: reason })
        .where(eq(delegatedAdmins.id, tokenId))
        .returning({ partnerId: delegatedAdmins.partnerId, status: delegatedAdmins.status });
      return token?.status === 'active' ? tokenInvalidAlert(tx, token.partnerId, reason) : [];
    });
  }

  definitions(partnerId: string): Promise<CustomLicenseDefinition[]> {
    return this.definitionsOf.execute({ partnerId });
  }

  /** The definitions that count for one company. */
  async definitionsFor(partnerId: string, companyId: string): Promise<CustomLicenseDefinition[]> {
    return (await this.definitions(partnerId)).filter(
      (d) => d.companyIds === null || d.companyIds.includes(companyId),
    );
  }

  async definition(partnerId: string, id: string): Promise<CustomLicenseDefinition | undefined> {
    const [row] = await this.db
      .select()
      .from(customLicenseDefinitions)
      .where(liveDefinition(partnerId, id));
    return row;
  }

  async createDefinition(
    partnerId: string,
    input: DefinitionInput,
    actor: string,
  ): Promise<CustomLicenseDefinition> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(customLicenseDefinitions)
        .values({
          partnerId,
          name: input.name,
          kind: input.spec.kind,
          params: paramsOf(input.spec),
          companyIds: input.companyIds,
        })
        .returning();
      await recordAudit(tx, {
        partnerId,
        actor,
        action: 'custom_license.created',
        subjectType: 'custom_license',
        subjectId: row!.id,
        details: { name: input.name, kind: input.spec.kind },
      });
      return row!;
    });
  }

  async updateDefinition(
    partnerId: string,
    id: string,
    input: DefinitionInput,
    actor: string,
  ): Promise<CustomLicenseDefinition | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(customLicenseDefinitions)
        .set({
          name: input.name,
          params: paramsOf(input.spec),
          companyIds: input.companyIds,
          updatedAt: new Date(),
        })
        .where(liveDefinition(partnerId, id))
        .returning();
      if (row) {
        await recordAudit(tx, {
          partnerId,
          actor,
          action: 'custom_license.updated',
          subjectType: 'custom_license',
          subjectId: id,
          details: { name: input.name },
        });
      }
      return row;
    });
  }

  /** Soft delete: the counts already taken stay in the history. */
  async deleteDefinition(partnerId: string, id: string, actor: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx
        .update(customLicenseDefinitions)
        .set({ deletedAt: new Date() })
        .where(liveDefinition(partnerId, id))
        .returning({ id: customLicenseDefinitions.id });
      if (rows.length > 0) {
        await recordAudit(tx, {
          partnerId,
          actor,
          action: 'custom_license.deleted',
          subjectType: 'custom_license',
          subjectId: id,
        });
      }
      return rows.length > 0;
    });
  }

  /** Companies of a run with a custom license it could not count (failed, or will fail). */
  async companiesNotCounted(runId: string): Promise<number> {
    const c = customLicenseCounts;
    const [row] = await this.db
      .select({ companies: countDistinct(c.companyId) })
      .from(c)
      .where(and(eq(c.runId, runId), ne(c.state, 'counted')));
    return row?.companies ?? 0;
  }

  /** Each company's latest count of each (live) definition. */
  async latestCounts(companyIds: string[]) {
    if (companyIds.length === 0) return [];
    const c = customLicenseCounts;
    const rows = await this.db
      .selectDistinctOn([c.companyId, c.definitionId], {
        companyId: c.companyId,
        definitionId: c.definitionId,
        name: customLicenseDefinitions.name,
        kind: customLicenseDefinitions.kind,
        state: c.state,
        quantity: c.quantity,
        message: c.message,
        countedAt: c.countedAt,
        runId: c.runId,
      })
      .from(c)
      .innerJoin(customLicenseDefinitions, eq(customLicenseDefinitions.id, c.definitionId))
      .where(and(inArray(c.companyId, companyIds), isNull(customLicenseDefinitions.deletedAt)))
      .orderBy(c.companyId, c.definitionId, desc(c.countedAt), desc(c.id));
    // When the latest did not count, billing still wants the last quantity that did.
    const counted = await this.db
      .selectDistinctOn([c.companyId, c.definitionId], {
        companyId: c.companyId,
        definitionId: c.definitionId,
        quantity: c.quantity,
        countedAt: c.countedAt,
      })
      .from(c)
      .where(and(inArray(c.companyId, companyIds), eq(c.state, 'counted')))
      .orderBy(c.companyId, c.definitionId, desc(c.countedAt), desc(c.id));
    const lastCounted = new Map(counted.map((r) => [`${r.companyId}|${r.definitionId}`, r]));
    return rows.map((row) => {
      const last = lastCounted.get(`${row.companyId}|${row.definitionId}`);
      return {
        ...row,
        lastCounted: last ? { quantity: last.quantity, countedAt: last.countedAt } : null,
      };
    });
  }

  /** The counts of one definition, newest first (its history). */
  history(definitionId: string, limit = 100) {
    return this.db
      .select()
      .from(customLicenseCounts)
      .where(eq(customLicenseCounts.definitionId, definitionId))
      .orderBy(desc(customLicenseCounts.countedAt))
      .limit(limit);
  }
}

/**
 * Inside the transaction that records customers' refreshes: once per (run, company,
 * definition).
 */
export async function insertCustomLicenseCountsOf(
  tx: Database,
  counts: (CustomLicenseCountInput & { runId: string; companyId: string })[],
): Promise<void> {
  for (let i = 0; i < counts.length; i += 1000) {
    await tx
      .insert(customLicenseCounts)
      .values(counts.slice(i, i + 1000))
      .onConflictDoNothing();
  }
}
