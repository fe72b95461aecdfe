import { and, eq, sql } from 'drizzle-orm';
import type { Database } from './database.js';
import type { KeyRing } from './encryption.js';
import { tokenCachePartitions, type TokenCachePurpose } from './schema.js';

export interface CachePartition {
  partnerId: string;
  delegatedAdminId: string;
  purpose: TokenCachePurpose;
}

/** A partition as loaded: the cache and the version a save must still find. */
export interface LoadedCache {
  serialized: string;
  version: number;
}

/**
 * Another writer saved the partition since it was loaded (or created it first): saving now
 * would overwrite a newer rotated refresh token, so nothing is written. Transient: a retry
 * loads the newer cache.
 */
class TokenCacheConflict extends Error {
  override readonly name = 'TokenCacheConflict';
  constructor(partition: CachePartition, expected: number | 'new') {
    super(
      `the token cache of consent ${partition.delegatedAdminId} (${partition.purpose}) changed since it was read (expected ${expected === 'new' ? 'no partition' : `version ${String(expected)}`}); not overwriting it`,
    );
  }
}

const context = (p: CachePartition) => `token_cache:${p.delegatedAdminId}:${p.purpose}`;
/** The seal context of a partition's cache, for resealing under a new key. */
export const tokenCacheContext = context;

const partitionIs = (p: CachePartition) =>
  and(
    eq(tokenCachePartitions.delegatedAdminId, p.delegatedAdminId),
    eq(tokenCachePartitions.purpose, p.purpose),
  );

/**
 * MSAL's serialized cache per consent, sealed at rest. Writes compare and set on `version`:
 * a writer that lost its lock cannot replace a refresh token another writer rotated since.
 */
export class TokenCacheStore {
  /** Read by every token call: built once and named (see RefreshRunStore). */
  private readonly partitionOf;

  constructor(
    private readonly db: Database,
    private readonly keyRing: KeyRing,
  ) {
    this.partitionOf = db
      .select({ cacheEnc: tokenCachePartitions.cacheEnc, version: tokenCachePartitions.version })
      .from(tokenCachePartitions)
      .where(
        and(
          eq(tokenCachePartitions.delegatedAdminId, sql.placeholder('delegatedAdminId')),
          eq(tokenCachePartitions.purpose, sql.placeholder('purpose')),
        ),
      )
      .prepare('token_cache_partition');
  }

  async load(partition: CachePartition): Promise<LoadedCache | undefined> {
    const [row] = await this.partitionOf.execute({
      delegatedAdminId: partition.delegatedAdminId,
      purpose: partition.purpose,
    });
    return row
      ? {
          serialized: this.keyRing.decryptString(row.cacheEnc, context(partition)),
          version: row.version,
        }
      : undefined;
  }

  /**
   * Saves the cache over the version `loaded` (from `load`), or as a new partition when
   * `loaded` is 'new'. Returns the version written; throws TokenCacheConflict when the stored
   * partition is no longer the one loaded.
   */
  async save(
    partition: CachePartition,
    serialized: string,
    loaded: number | 'new',
    db: Database = this.db,
  ): Promise<number> {
    const cacheEnc = this.keyRing.encrypt(serialized, context(partition));
    const now = new Date();
    const [written] =
      loaded === 'new'
        ? await db
            .insert(tokenCachePartitions)
            .values({ ...partition, cacheEnc, lastUsedAt: now })
            .onConflictDoNothing({
              target: [tokenCachePartitions.delegatedAdminId, tokenCachePartitions.purpose],
            })
            .returning({ version: tokenCachePartitions.version })
        : await db
            .update(tokenCachePartitions)
            .set({
              cacheEnc,
              version: sql`${tokenCachePartitions.version} + 1`,
              updatedAt: now,
              lastUsedAt: now,
            })
            .where(and(partitionIs(partition), eq(tokenCachePartitions.version, loaded)))
            .returning({ version: tokenCachePartitions.version });
    if (!written) throw new TokenCacheConflict(partition, loaded);
    return written.version;
  }
}
