import { and, eq, inArray, ne } from 'drizzle-orm';
import { alertKeys } from '../domain/alert-events.js';
import { domainOf } from '../domain/domain-match.js';
import { resolveAlert } from './alert-outbox.js';
import { recordAudit } from './audit.js';
import type { ConsentAttempt } from './consent-attempts.js';
import { tokenInvalidAlert } from './custom-licenses.js';
import type { Database } from './database.js';
import { bindHomeTenant, tenantTaken, type DelegatedAdmin } from './partners.js';
import { replaceLegacyAdminsByDomain, type ReplacementResult } from './replacement.js';
import { consentAttempts, delegatedAdmins, tokenCachePartitions } from './schema.js';
import type { TokenCacheStore } from './token-cache.js';

/** The tokens of a code just redeemed, for the pending consent that holds them. */
export interface RedeemedCode {
  username: string;
  tenantId: string;
  oid: string | undefined;
  /** The serialized MSAL cache holding the tokens. */
  cache: string;
}

/**
 * Completing a consent also binds its partner to the consent's tenant. `partner_bound`: the
 * partner is bound to another tenant; `tenant_taken`: another partner holds this one (the
 * unique index).
 */
export type BindOutcome<T> = { completed: T } | { refused: 'partner_bound' | 'tenant_taken' };

/** A consent's way from a redeemed code to the partner's consent in use, in transactions. */
export class ConsentStore {
  constructor(
    private readonly db: Database,
    private readonly tokenCache: TokenCacheStore,
  ) {}

  /** The consent (any kind, any status). */
  async get(id: string): Promise<DelegatedAdmin | undefined> {
    const [consent] = await this.db
      .select()
      .from(delegatedAdmins)
      .where(eq(delegatedAdmins.id, id));
    return consent;
  }

  /**
   * Right after the code is redeemed: a pending consent row with the tokens in its sealed
   * partition, and the code, verifier and nonce wiped from the attempt — in one transaction.
   */
  async holdPending(attempt: ConsentAttempt, redeemed: RedeemedCode): Promise<ConsentAttempt> {
    const consentId = crypto.randomUUID();
    const username = redeemed.username.toLowerCase();
    const custom = attempt.kind === 'custom_license';
    return this.db.transaction(async (tx) => {
      await tx.insert(delegatedAdmins).values({
        id: consentId,
        partnerId: attempt.partnerId,
        kind: custom ? 'custom_license' : 'sam',
        status: 'pending',
        username,
        domain: domainOf(username) ?? '',
        tenantId: redeemed.tenantId || null,
        userObjectId: redeemed.oid ?? null,
        createdBy: username,
      });
      await this.tokenCache.save(
        {
          partnerId: attempt.partnerId,
          delegatedAdminId: consentId,
          purpose: custom ? 'custom_license' : 'partner_center',
        },
        redeemed.cache,
        'new',
        tx,
      );
      const [updated] = await tx
        .update(consentAttempts)
        .set({ delegatedAdminId: consentId, codeEnc: null, pkceVerifierEnc: null, nonceEnc: null })
        .where(eq(consentAttempts.id, attempt.id))
        .returning();
      return updated!;
    });
  }

  /**
   * The Partner Center consent checked (MFA, Admin Agent): it becomes active, audited, and the
   * partner's consent-needed alert is resolved. Completes with the alert deliveries to queue.
   */
  complete(
    attempt: ConsentAttempt,
    consentId: string,
    tenantId: string,
    upn: string,
  ): Promise<BindOutcome<string[]>> {
    return this.bindAndComplete(attempt.partnerId, tenantId, async (tx) => {
      const now = new Date();
      await tx
        .update(delegatedAdmins)
        .set({
          status: 'active',
          mfaVerified: true,
          adminAgent: true,
          consentedAt: now,
          tenantId,
          lastError: null,
          nextAction: null,
          updatedAt: now,
        })
        .where(eq(delegatedAdmins.id, consentId));
      await completeAttempt(tx, attempt.id, now);
      await recordAudit(tx, {
        partnerId: attempt.partnerId,
        actor: upn,
        action: 'consent.granted',
        subjectType: 'delegated_admin',
        subjectId: consentId,
        details: { upn, tenantId, mfa: true, adminAgent: true },
      });
      return resolveAlert(tx, attempt.partnerId, alertKeys.consentNeeded);
    });
  }

  /**
   * The validated custom-license token becomes the partner's current one; the ones before it
   * are replaced and their tokens deleted. Its validation raises or resolves the
   * custom-license-token-invalid alert. Resolves with the token's username and the deliveries.
   */
  completeCustomLicenseToken(
    attempt: ConsentAttempt,
    tokenId: string,
    tenantId: string,
    /** The validation's status, for the audit. */
    status: string,
  ): Promise<BindOutcome<{ upn: string; deliveries: string[] }>> {
    return this.bindAndComplete(attempt.partnerId, tenantId, async (tx) => {
      const now = new Date();
      const [token] = await tx
        .update(delegatedAdmins)
        .set({ status: 'active', consentedAt: now, updatedAt: now })
        .where(eq(delegatedAdmins.id, tokenId))
        .returning();
      const older = await tx
        .update(delegatedAdmins)
        .set({ status: 'replaced', replacedBy: tokenId, replacedAt: now, updatedAt: now })
        .where(
          and(
            eq(delegatedAdmins.partnerId, attempt.partnerId),
            eq(delegatedAdmins.kind, 'custom_license'),
            ne(delegatedAdmins.id, tokenId),
            inArray(delegatedAdmins.status, ['active', 'needs_reconsent']),
          ),
        )
        .returning({ id: delegatedAdmins.id });
      if (older.length > 0) {
        await tx.delete(tokenCachePartitions).where(
          inArray(
            tokenCachePartitions.delegatedAdminId,
            older.map((o) => o.id),
          ),
        );
      }
      await completeAttempt(tx, attempt.id, now);
      await recordAudit(tx, {
        partnerId: attempt.partnerId,
        actor: token!.username,
        action: 'custom_license_token.generated',
        subjectType: 'delegated_admin',
        subjectId: tokenId,
        details: { upn: token!.username, status, replaced: older.map((o) => o.id) },
      });
      const deliveries =
        token!.validation === 'valid'
          ? await resolveAlert(tx, attempt.partnerId, alertKeys.customLicenseTokenInvalid)
          : await tokenInvalidAlert(tx, attempt.partnerId, token!.validationReason);
      return { upn: token!.username, deliveries };
    });
  }

  /** The domain-matched replacement of the accounts an active consent supersedes. */
  replaceByDomain(consentId: string): Promise<ReplacementResult> {
    return replaceLegacyAdminsByDomain(this.db, consentId);
  }

  /**
   * Binds the partner to the tenant and, in the same transaction, completes the consent. A
   * partner bound meanwhile to another tenant, or a tenant taken meanwhile by another partner,
   * completes nothing.
   */
  private async bindAndComplete<T>(
    partnerId: string,
    tenantId: string,
    complete: (tx: Database) => Promise<T>,
  ): Promise<BindOutcome<T>> {
    let bound;
    try {
      bound = await this.db.transaction(async (tx) =>
        (await bindHomeTenant(tx, partnerId, tenantId))
          ? { completed: await complete(tx) }
          : undefined,
      );
    } catch (error) {
      if (!tenantTaken(error)) throw error;
      return { refused: 'tenant_taken' };
    }
    return bound ?? { refused: 'partner_bound' };
  }
}

async function completeAttempt(tx: Database, attemptId: string, now: Date): Promise<void> {
  await tx
    .update(consentAttempts)
    .set({ status: 'completed', completedAt: now, error: null })
    .where(eq(consentAttempts.id, attemptId));
}
