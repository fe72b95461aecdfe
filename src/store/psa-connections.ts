import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type {
  ApplyMode,
  CountBasis,
  EffectiveDatePolicy,
  ProrationPolicy,
} from '../domain/billing.js';
import type { PsaKind } from '../psa/client.js';
import { psaSite } from '../psa/site.js';
import { recordAudit } from './audit.js';
import { keepConnectionAlert } from './psa-connection-alerts.js';
import type { Database } from './database.js';
import type { KeyRing } from './encryption.js';
import {
  psaCompanyLinks,
  psaConnections,
  psaProductMappings,
  psaSyncChanges,
  reconciliationRows,
} from './schema.js';

type PsaConnectionRow = typeof psaConnections.$inferSelect;
/** A connection as shown: never its sealed credentials. */
export type PsaConnectionView = Omit<PsaConnectionRow, 'credentialsEnc'>;
export type PsaCompanyLink = typeof psaCompanyLinks.$inferSelect;
export type PsaProductMapping = typeof psaProductMappings.$inferSelect;

/** The seal context of a PSA connection's credentials. */
export const psaCredentialsContext = (connectionId: string) =>
  `psa_connection:${connectionId}:credentials`;

const view = ({ credentialsEnc: _sealed, ...rest }: PsaConnectionRow): PsaConnectionView => rest;

/**
 * Ends open sync changes whose PSA ids no longer hold: the partner left its PSA, or a company
 * is billed elsewhere. One being applied may have been written there, so it fails visibly.
 */
async function closeOpenChanges(
  tx: Database,
  scope: { partnerId: string; sourceKey?: string } | { companyId: string },
  why: string,
): Promise<void> {
  const inScope =
    'partnerId' in scope
      ? and(
          eq(psaSyncChanges.partnerId, scope.partnerId),
          scope.sourceKey === undefined ? undefined : eq(psaSyncChanges.sourceKey, scope.sourceKey),
        )
      : eq(psaSyncChanges.companyId, scope.companyId);
  await tx
    .update(psaSyncChanges)
    .set({ status: 'discarded', updatedAt: sql`now()` })
    .where(and(inScope, inArray(psaSyncChanges.status, ['planned', 'approved'])));
  await tx
    .update(psaSyncChanges)
    .set({
      status: 'failed',
      error: `${why} before this write was confirmed; check the PSA.`,
      updatedAt: sql`now()`,
    })
    .where(and(inScope, eq(psaSyncChanges.status, 'applying')));
}

/** A partner's PSA connection, its company links and its product mappings. */
export class PsaConnectionStore {
  constructor(
    private readonly db: Database,
    private readonly keyRing: KeyRing,
  ) {}

  async get(partnerId: string): Promise<PsaConnectionView | undefined> {
    const [row] = await this.db
      .select()
      .from(psaConnections)
      .where(eq(psaConnections.partnerId, partnerId));
    return row && view(row);
  }

  /** The connection with its credentials opened, for a client; in memory only. */
  async open(
    partnerId: string,
  ): Promise<{ connection: PsaConnectionView; secrets: Record<string, string> } | undefined> {
    const [row] = await this.db
      .select()
      .from(psaConnections)
      .where(eq(psaConnections.partnerId, partnerId));
    if (!row) return undefined;
    const secrets = JSON.parse(
      this.keyRing.decrypt(row.credentialsEnc, psaCredentialsContext(row.id)).toString('utf8'),
    ) as Record<string, string>;
    return { connection: view(row), secrets };
  }

  /** Saves the partner's one connection (replacing any other), untested until checked. */
  async save(
    partnerId: string,
    input: {
      kind: PsaKind;
      settings: Record<string, unknown>;
      secrets: Record<string, string>;
      effectiveDatePolicy: EffectiveDatePolicy;
      /** Default: prorate */
      proration?: ProrationPolicy;
    },
    actor: string,
  ): Promise<PsaConnectionView> {
    return this.db.transaction(async (tx) => {
      const [existing] = await tx
        .select({
          id: psaConnections.id,
          kind: psaConnections.kind,
          settings: psaConnections.settings,
        })
        .from(psaConnections)
        .where(eq(psaConnections.partnerId, partnerId))
        .for('update');
      const id = existing?.id ?? randomUUID();
      const values = {
        kind: input.kind,
        settings: input.settings,
        credentialsEnc: this.keyRing.encrypt(
          JSON.stringify(input.secrets),
          psaCredentialsContext(id),
        ),
        effectiveDatePolicy: input.effectiveDatePolicy,
        proration: input.proration ?? 'prorate',
        status: 'untested' as const,
        lastError: null,
        lastTestedAt: null,
        updatedAt: sql`now()`,
      };
      const [row] = existing
        ? await tx.update(psaConnections).set(values).where(eq(psaConnections.id, id)).returning()
        : await tx
            .insert(psaConnections)
            .values({ id, partnerId, createdBy: actor, ...values })
            .returning();
      // Links, mappings, plans and reconciliation rows name another PSA's (or another site's)
      // ids: they cannot outlive a move. The same site saved again (a new key) keeps them;
      // the ledger, what was written, stays whatever happens.
      const moved =
        existing &&
        psaSite(existing.kind, existing.settings) !== psaSite(input.kind, input.settings);
      if (moved) {
        await tx.delete(psaCompanyLinks).where(eq(psaCompanyLinks.partnerId, partnerId));
        await tx.delete(psaProductMappings).where(eq(psaProductMappings.partnerId, partnerId));
        await tx.delete(reconciliationRows).where(eq(reconciliationRows.partnerId, partnerId));
        await closeOpenChanges(tx, { partnerId }, 'The PSA connection changed');
      }
      await recordAudit(tx, {
        partnerId,
        actor,
        action: existing ? 'psa_connection.replaced' : 'psa_connection.created',
        subjectType: 'psa_connection',
        subjectId: id,
        details: { kind: input.kind, settings: input.settings },
      });
      return view(row!);
    });
  }

  /**
   * Records the outcome of a call made with the connection (a test or a sync), and keeps the
   * billing-sync-failed alert in step in the same transaction. Answers the deliveries to queue.
   */
  async markTested(
    partnerId: string,
    outcome: { status: 'ok' } | { status: 'broken'; error: string },
  ): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const marked = await tx
        .update(psaConnections)
        .set({
          status: outcome.status,
          lastError: outcome.status === 'broken' ? outcome.error : null,
          lastTestedAt: sql`now()`,
          updatedAt: sql`now()`,
        })
        .where(eq(psaConnections.partnerId, partnerId))
        .returning({ id: psaConnections.id });
      if (marked.length === 0) return [];
      return keepConnectionAlert(tx, partnerId, outcome);
    });
  }

  async remove(partnerId: string, actor: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const removed = await tx
        .delete(psaConnections)
        .where(eq(psaConnections.partnerId, partnerId))
        .returning({ id: psaConnections.id });
      if (removed.length === 0) return false;
      await tx.delete(psaCompanyLinks).where(eq(psaCompanyLinks.partnerId, partnerId));
      await tx.delete(psaProductMappings).where(eq(psaProductMappings.partnerId, partnerId));
      await closeOpenChanges(tx, { partnerId }, 'The PSA connection was removed');
      await recordAudit(tx, {
        partnerId,
        actor,
        action: 'psa_connection.removed',
        subjectType: 'psa_connection',
        subjectId: removed[0]!.id,
      });
      return true;
    });
  }

  async linkOf(partnerId: string, companyId: string): Promise<PsaCompanyLink | undefined> {
    const [row] = await this.db
      .select()
      .from(psaCompanyLinks)
      .where(
        and(eq(psaCompanyLinks.partnerId, partnerId), eq(psaCompanyLinks.companyId, companyId)),
      );
    return row;
  }

  links(partnerId: string): Promise<PsaCompanyLink[]> {
    return this.db.select().from(psaCompanyLinks).where(eq(psaCompanyLinks.partnerId, partnerId));
  }

  /** Links a company to its PSA company (a person's confirmation), or changes the link. */
  async link(
    partnerId: string,
    link: Omit<PsaCompanyLink, 'partnerId' | 'confirmedBy' | 'confirmedAt'>,
    actor: string,
  ): Promise<PsaCompanyLink> {
    return this.db.transaction(async (tx) => {
      const [before] = await tx
        .select()
        .from(psaCompanyLinks)
        .where(eq(psaCompanyLinks.companyId, link.companyId))
        .for('update');
      // Changes planned for another PSA company or container would bill the wrong one.
      if (
        before &&
        (before.psaCompanyId !== link.psaCompanyId || before.containerId !== link.containerId)
      )
        await closeOpenChanges(tx, { companyId: link.companyId }, 'The company was linked anew');
      const values = { ...link, partnerId, confirmedBy: actor, confirmedAt: new Date() };
      const [row] = await tx
        .insert(psaCompanyLinks)
        .values(values)
        .onConflictDoUpdate({ target: psaCompanyLinks.companyId, set: values })
        .returning();
      await recordAudit(tx, {
        partnerId,
        actor,
        action: 'psa_company.linked',
        subjectType: 'company',
        subjectId: link.companyId,
        details: { psaCompanyId: link.psaCompanyId, containerId: link.containerId },
      });
      return row!;
    });
  }

  async unlink(partnerId: string, companyId: string, actor: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const removed = await tx
        .delete(psaCompanyLinks)
        .where(
          and(eq(psaCompanyLinks.partnerId, partnerId), eq(psaCompanyLinks.companyId, companyId)),
        )
        .returning({ id: psaCompanyLinks.companyId });
      if (removed.length === 0) return false;
      await closeOpenChanges(tx, { companyId }, 'The company was unlinked');
      await recordAudit(tx, {
        partnerId,
        actor,
        action: 'psa_company.unlinked',
        subjectType: 'company',
        subjectId: companyId,
      });
      return true;
    });
  }

  mappings(partnerId: string): Promise<PsaProductMapping[]> {
    return this.db
      .select()
      .from(psaProductMappings)
      .where(eq(psaProductMappings.partnerId, partnerId))
      .orderBy(psaProductMappings.psaProductName);
  }

  /**
   * Maps a Microsoft product to a PSA product, or changes how it is billed. Open changes
   * planned under the mapping as it was go when it bills another PSA product or another
   * count: they would write to the old product, or the old count; the next reconciliation
   * plans anew.
   */
  async saveMapping(
    partnerId: string,
    mapping: {
      sourceKey: string;
      psaProductId: string;
      psaProductName: string;
      countBasis: CountBasis;
      applyMode: ApplyMode;
    },
    actor: string,
  ): Promise<PsaProductMapping> {
    return this.db.transaction(async (tx) => {
      const [before] = await tx
        .select()
        .from(psaProductMappings)
        .where(
          and(
            eq(psaProductMappings.partnerId, partnerId),
            eq(psaProductMappings.sourceKey, mapping.sourceKey),
          ),
        )
        .for('update');
      if (
        before &&
        (before.psaProductId !== mapping.psaProductId || before.countBasis !== mapping.countBasis)
      )
        await closeOpenChanges(
          tx,
          { partnerId, sourceKey: mapping.sourceKey },
          'The product mapping changed',
        );
      const [row] = await tx
        .insert(psaProductMappings)
        .values({ ...mapping, partnerId, createdBy: actor })
        .onConflictDoUpdate({
          target: [psaProductMappings.partnerId, psaProductMappings.sourceKey],
          set: { ...mapping, updatedAt: sql`now()` },
        })
        .returning();
      await recordAudit(tx, {
        partnerId,
        actor,
        action: 'psa_product.mapped',
        subjectType: 'psa_product_mapping',
        subjectId: row!.id,
        details: { ...mapping },
      });
      return row!;
    });
  }

  /** Removes a mapping, and the open changes planned under it: nothing bills it any more. */
  async removeMapping(partnerId: string, id: string, actor: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [removed] = await tx
        .delete(psaProductMappings)
        .where(and(eq(psaProductMappings.partnerId, partnerId), eq(psaProductMappings.id, id)))
        .returning({ sourceKey: psaProductMappings.sourceKey });
      if (!removed) return false;
      await closeOpenChanges(
        tx,
        { partnerId, sourceKey: removed.sourceKey },
        'The product mapping was removed',
      );
      await recordAudit(tx, {
        partnerId,
        actor,
        action: 'psa_product.unmapped',
        subjectType: 'psa_product_mapping',
        subjectId: id,
      });
      return true;
    });
  }
}
