import { and, eq, sql } from 'drizzle-orm';
import type { Database } from './database.js';
import type { KeyRing } from './encryption.js';
import { tokenCachePartitions, type TokenCachePurpose } from './schema.js';

export interface CachePartition {
  partnerId: string;
  delegatedAdminId: string;
  purpose: TokenCachePurpose;
}

const context = (p: CachePartition) => `token_cache:${p.delegatedAdminId}:${p.purpose}`;
/** The seal context of a partition's cache, for resealing under a new key. */
export const tokenCacheContext = context;

/** MSAL's serialized cache per consent, sealed at rest; every save bumps the version. */
export class TokenCacheStore {
  constructor(
    private readonly db: Database,
    private readonly keyRing: KeyRing,
  ) {}

  async load(partition: CachePartition): Promise<string | undefined> {
    const [row] = await this.db
      .select({ cacheEnc: tokenCachePartitions.cacheEnc })
      .from(tokenCachePartitions)
      .where(
        and(
          eq(tokenCachePartitions.delegatedAdminId, partition.delegatedAdminId),
          eq(tokenCachePartitions.purpose, partition.purpose),
        ),
      );
    return row ? this.keyRing.decryptString(row.cacheEnc, context(partition)) : undefined;
  }

  async save(partition: CachePartition, serialized: string, db: Database = this.db): Promise<void> {
    const cacheEnc = this.keyRing.encrypt(serialized, context(partition));
    await db
      .insert(tokenCachePartitions)
      .values({ ...partition, cacheEnc, lastUsedAt: new Date() })
      .onConflictDoUpdate({
        target: [tokenCachePartitions.delegatedAdminId, tokenCachePartitions.purpose],
        set: {
          cacheEnc,
          version: sql`${tokenCachePartitions.version} + 1`,
          updatedAt: new Date(),
          lastUsedAt: new Date(),
        },
      });
  }
}
