import { and, eq, inArray, lt, ne, or } from 'drizzle-orm';
import { sameDomain } from '../domain/domain-match.js';
import { recordAudit } from './audit.js';
import type { Database } from './database.js';
import {
  companies,
  delegatedAdmins,
  tokenCachePartitions,
  type DelegatedAdminKind,
} from './schema.js';

export interface ReplacementResult {
  partnerId: string | undefined;
  replaced: { id: string; username: string; kind: DelegatedAdminKind; companiesMoved: number }[];
  companiesMoved: number;
}

/**
 * The help page's rule, in one transaction: every active legacy account of the partner with
 * the consent's domain (and any older consent of that domain, a re-grant) is marked replaced
 * by the consent, its password or tokens wiped, its companies moved to the consent, and each
 * change audited. Re-running finds nothing left to move.
 */
export async function replaceLegacyAdminsByDomain(
  db: Database,
  consentId: string,
  actor = 'system',
): Promise<ReplacementResult> {
  return db.transaction(async (tx) => {
    const [consent] = await tx
      .select()
      .from(delegatedAdmins)
      .where(and(eq(delegatedAdmins.id, consentId), eq(delegatedAdmins.kind, 'sam')))
      .for('update');
    if (!consent || consent.status !== 'active') {
      return { partnerId: consent?.partnerId, replaced: [], companiesMoved: 0 };
    }
    const candidates = await tx
      .select()
      .from(delegatedAdmins)
      .where(
        and(
          eq(delegatedAdmins.partnerId, consent.partnerId),
          ne(delegatedAdmins.id, consent.id),
          inArray(delegatedAdmins.status, ['active', 'needs_reconsent']),
          // Accounts Partner Center refreshes run as; a custom-license token is not one.
          inArray(delegatedAdmins.kind, ['legacy', 'sam']),
          or(
            eq(delegatedAdmins.kind, 'legacy'),
            lt(delegatedAdmins.consentedAt, consent.consentedAt ?? new Date()),
          ),
        ),
      )
      .for('update');
    // The domain rule is `sameDomain` on the usernames, not SQL equality on the stored column:
    // one rule, the tested one, under which an account without a domain matches nothing.
    const matching = candidates.filter((old) => sameDomain(consent.username, old.username));
    const now = new Date();
    const replaced: ReplacementResult['replaced'] = [];
    for (const old of matching) {
      await tx
        .update(delegatedAdmins)
        .set({
          status: 'replaced',
          replacedBy: consent.id,
          replacedAt: now,
          passwordEnc: null,
          updatedAt: now,
        })
        .where(eq(delegatedAdmins.id, old.id));
      const moved = await tx
        .update(companies)
        .set({ delegatedAdminId: consent.id, updatedAt: now })
        .where(eq(companies.delegatedAdminId, old.id))
        .returning({ id: companies.id });
      if (old.kind === 'sam') {
        await tx
          .delete(tokenCachePartitions)
          .where(eq(tokenCachePartitions.delegatedAdminId, old.id));
      }
      replaced.push({
        id: old.id,
        username: old.username,
        kind: old.kind,
        companiesMoved: moved.length,
      });
    }
    await recordAudit(
      tx,
      ...replaced.map((r) => ({
        partnerId: consent.partnerId,
        actor,
        action: 'delegated_admin.replaced',
        subjectType: 'delegated_admin',
        subjectId: r.id,
        details: {
          username: r.username,
          kind: r.kind,
          replacedBy: consent.id,
          replacedByUsername: consent.username,
          companiesMoved: r.companiesMoved,
        },
      })),
    );
    await tx
      .update(delegatedAdmins)
      .set({ replacementCheckedAt: now, updatedAt: now })
      .where(eq(delegatedAdmins.id, consent.id));
    return {
      partnerId: consent.partnerId,
      replaced,
      companiesMoved: replaced.reduce((n, r) => n + r.companiesMoved, 0),
    };
  });
}
