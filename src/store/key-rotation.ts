import { and, asc, count, eq, gt, isNotNull, ne, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { codeContext, sealContext } from './consent-attempts.js';
import type { Database } from './database.js';
import { DecryptionError, type KeyRing } from './encryption.js';
import { channelSecretContext, channelUrlContext } from './notification-channels.js';
import { legacyPasswordContext } from './partners.js';
import { psaCredentialsContext } from './psa-connections.js';
import {
  consentAttempts,
  delegatedAdmins,
  notificationChannels,
  psaConnections,
  tokenCachePartitions,
} from './schema.js';
import { tokenCacheContext } from './token-cache.js';

type Row = Record<string, string>;

/**
 * One column of values sealed by the key ring, with what its seal's context is made of. The
 * contexts must be those the writer used, or a resealed value would no longer open there.
 */
interface SealedColumn {
  /** table.column, as the database names it. */
  name: string;
  table: PgTable;
  id: PgColumn;
  sealed: PgColumn;
  /** The columns the context is built from. */
  parts: Record<string, PgColumn>;
  /** The contexts a value may be sealed with, the one writers use now first. */
  contexts(row: Row): string[];
  /** Writes `next` where the value still is `current`; false when it changed meanwhile. */
  replace(db: Database, id: string, current: string, next: string): Promise<boolean>;
}

/** Every sealed column of the schema (a unit test checks that none is missing). */
export const sealedColumns: SealedColumn[] = [
  {
    name: 'delegated_admins.password_enc',
    table: delegatedAdmins,
    id: delegatedAdmins.id,
    sealed: delegatedAdmins.passwordEnc,
    parts: {},
    contexts: (row) => [legacyPasswordContext(row.id!)],
    replace: async (db, id, current, next) =>
      (
        await db
          .update(delegatedAdmins)
          .set({ passwordEnc: next })
          .where(and(eq(delegatedAdmins.id, id), eq(delegatedAdmins.passwordEnc, current)))
          .returning({ id: delegatedAdmins.id })
      ).length > 0,
  },
  {
    name: 'consent_attempts.pkce_verifier_enc',
    table: consentAttempts,
    id: consentAttempts.id,
    sealed: consentAttempts.pkceVerifierEnc,
    parts: {},
    contexts: (row) => [sealContext(row.id!, 'verifier')],
    replace: async (db, id, current, next) =>
      (
        await db
          .update(consentAttempts)
          .set({ pkceVerifierEnc: next })
          .where(and(eq(consentAttempts.id, id), eq(consentAttempts.pkceVerifierEnc, current)))
          .returning({ id: consentAttempts.id })
      ).length > 0,
  },
  {
    name: 'consent_attempts.nonce_enc',
    table: consentAttempts,
    id: consentAttempts.id,
    sealed: consentAttempts.nonceEnc,
    parts: {},
    contexts: (row) => [sealContext(row.id!, 'nonce')],
    replace: async (db, id, current, next) =>
      (
        await db
          .update(consentAttempts)
          .set({ nonceEnc: next })
          .where(and(eq(consentAttempts.id, id), eq(consentAttempts.nonceEnc, current)))
          .returning({ id: consentAttempts.id })
      ).length > 0,
  },
  {
    name: 'consent_attempts.code_enc',
    table: consentAttempts,
    id: consentAttempts.id,
    sealed: consentAttempts.codeEnc,
    parts: { stateHash: consentAttempts.stateHash },
    // Codes received before the state-hash context are sealed by attempt id.
    contexts: (row) => [codeContext(row.stateHash!), sealContext(row.id!, 'code')],
    replace: async (db, id, current, next) =>
      (
        await db
          .update(consentAttempts)
          .set({ codeEnc: next })
          .where(and(eq(consentAttempts.id, id), eq(consentAttempts.codeEnc, current)))
          .returning({ id: consentAttempts.id })
      ).length > 0,
  },
  {
    name: 'token_cache_partitions.cache_enc',
    table: tokenCachePartitions,
    id: tokenCachePartitions.id,
    sealed: tokenCachePartitions.cacheEnc,
    parts: {
      partnerId: tokenCachePartitions.partnerId,
      delegatedAdminId: tokenCachePartitions.delegatedAdminId,
      purpose: tokenCachePartitions.purpose,
    },
    contexts: (row) => [
      tokenCacheContext({
        partnerId: row.partnerId!,
        delegatedAdminId: row.delegatedAdminId!,
        purpose: row.purpose as 'partner_center' | 'custom_license',
      }),
    ],
    // The version is left alone: the cache did not change, and a writer comparing versions
    // must not lose its write to a reseal.
    replace: async (db, id, current, next) =>
      (
        await db
          .update(tokenCachePartitions)
          .set({ cacheEnc: next })
          .where(and(eq(tokenCachePartitions.id, id), eq(tokenCachePartitions.cacheEnc, current)))
          .returning({ id: tokenCachePartitions.id })
      ).length > 0,
  },
  {
    name: 'psa_connections.credentials_enc',
    table: psaConnections,
    id: psaConnections.id,
    sealed: psaConnections.credentialsEnc,
    parts: {},
    contexts: (row) => [psaCredentialsContext(row.id!)],
    replace: async (db, id, current, next) =>
      (
        await db
          .update(psaConnections)
          .set({ credentialsEnc: next })
          .where(and(eq(psaConnections.id, id), eq(psaConnections.credentialsEnc, current)))
          .returning({ id: psaConnections.id })
      ).length > 0,
  },
  {
    name: 'notification_channels.url_enc',
    table: notificationChannels,
    id: notificationChannels.id,
    sealed: notificationChannels.urlEnc,
    parts: {},
    contexts: (row) => [channelUrlContext(row.id!)],
    replace: async (db, id, current, next) =>
      (
        await db
          .update(notificationChannels)
          .set({ urlEnc: next })
          .where(and(eq(notificationChannels.id, id), eq(notificationChannels.urlEnc, current)))
          .returning({ id: notificationChannels.id })
      ).length > 0,
  },
  {
    name: 'notification_channels.signing_secret_enc',
    table: notificationChannels,
    id: notificationChannels.id,
    sealed: notificationChannels.signingSecretEnc,
    parts: {},
    contexts: (row) => [channelSecretContext(row.id!)],
    replace: async (db, id, current, next) =>
      (
        await db
          .update(notificationChannels)
          .set({ signingSecretEnc: next })
          .where(
            and(
              eq(notificationChannels.id, id),
              eq(notificationChannels.signingSecretEnc, current),
            ),
          )
          .returning({ id: notificationChannels.id })
      ).length > 0,
  },
];

/** The key id a sealed value names (v1.<kid>.…), in SQL. */
const keyIdOf = (column: PgColumn): SQL<string> => sql<string>`split_part(${column}, '.', 2)`;

export interface SealedCount {
  column: string;
  keyId: string;
  values: number;
}

/** How many values each key id seals, per column. Columns with no value are left out. */
export async function countSealedValues(db: Database): Promise<SealedCount[]> {
  const counts: SealedCount[] = [];
  for (const column of sealedColumns) {
    const rows = await db
      .select({ keyId: keyIdOf(column.sealed), values: count() })
      .from(column.table)
      .where(isNotNull(column.sealed))
      .groupBy(keyIdOf(column.sealed))
      .orderBy(keyIdOf(column.sealed));
    counts.push(...rows.map((r) => ({ column: column.name, keyId: r.keyId, values: r.values })));
  }
  return counts;
}

/** Whether any value is sealed by another key than `currentKeyId`: one short query a column. */
async function hasStaleValues(db: Database, currentKeyId: string): Promise<boolean> {
  for (const column of sealedColumns) {
    const [row] = await db
      .select({ id: column.id })
      .from(column.table)
      .where(and(isNotNull(column.sealed), ne(keyIdOf(column.sealed), currentKeyId)))
      .limit(1);
    if (row) return true;
  }
  return false;
}

export interface ResealedColumn {
  column: string;
  /** Values now sealed by the current key. */
  resealed: number;
  /** Values written (or wiped) by someone else between read and write: left as they are. */
  changedMeanwhile: number;
  /** Values no key of the ring opens (a key removed too early, or damage): left as they are. */
  unreadable: number;
}

export interface ResealOptions {
  /** Values read per query. Default: 200 */
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Seals again, with the first key, every value another key sealed, each with its column's
 * own context. A write applies only where the column still holds the value read, so a
 * concurrent write (MSAL saving a rotated token cache) is never overwritten. Idempotent.
 */
export async function resealStaleValues(
  db: Database,
  keyRing: KeyRing,
  options: ResealOptions = {},
): Promise<ResealedColumn[]> {
  const batchSize = options.batchSize ?? 200;
  const current = keyRing.currentKeyId;
  const results: ResealedColumn[] = [];
  for (const column of sealedColumns) {
    const result = { column: column.name, resealed: 0, changedMeanwhile: 0, unreadable: 0 };
    results.push(result);
    let afterId: string | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      const rows = (await db
        .select({ id: column.id, sealed: column.sealed, ...column.parts })
        .from(column.table)
        .where(
          and(
            isNotNull(column.sealed),
            ne(keyIdOf(column.sealed), current),
            afterId === undefined ? undefined : gt(column.id, afterId),
          ),
        )
        .orderBy(asc(column.id))
        .limit(batchSize)) as Row[];
      for (const row of rows) {
        const next = sealAgain(keyRing, row.sealed!, column.contexts(row));
        if (next === undefined) result.unreadable++;
        else if (await column.replace(db, row.id!, row.sealed!, next)) result.resealed++;
        else result.changedMeanwhile++;
      }
      if (rows.length < batchSize) break;
      afterId = rows.at(-1)!.id;
    }
  }
  return results;
}

/** The value sealed by the current key with the context that opened it; undefined if none. */
function sealAgain(keyRing: KeyRing, sealed: string, contexts: string[]): string | undefined {
  for (const context of contexts) {
    let plaintext: Buffer;
    try {
      plaintext = keyRing.decrypt(sealed, context);
    } catch (error) {
      if (error instanceof DecryptionError) continue;
      throw error;
    }
    try {
      return keyRing.encrypt(plaintext, context);
    } finally {
      plaintext.fill(0);
    }
  }
  return undefined;
}

/** The values the key ring seals: counted per key, and resealed with its first key. */
export class SealedValueStore {
  constructor(
    private readonly db: Database,
    private readonly keyRing: KeyRing,
  ) {}

  /** The id of the key that seals new values (the first of the ring). */
  get currentKeyId(): string {
    return this.keyRing.currentKeyId;
  }

  /** Whether any value is sealed by another key than the first. */
  hasStale(): Promise<boolean> {
    return hasStaleValues(this.db, this.keyRing.currentKeyId);
  }

  /** Seals again with the first key every value an older key sealed. Idempotent. */
  resealStale(options?: ResealOptions): Promise<ResealedColumn[]> {
    return resealStaleValues(this.db, this.keyRing, options);
  }
}
