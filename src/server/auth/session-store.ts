import { createHash } from 'node:crypto';
import { and, eq, gt, lt, sql } from 'drizzle-orm';
import session, { type SessionData } from 'express-session';
import type { Database } from '../../store/database.js';
import { sessions } from '../../store/schema.js';

const hashOf = (sid: string) => createHash('sha256').update(sid).digest('base64url');
/** Without a cookie expiry, a session lasts this long. Default: 12 hours */
const defaultTtlMs = 12 * 3600 * 1000;

type Callback<T = void> = (error?: unknown, value?: T) => void;

/**
 * express-session's store in PostgreSQL (or PGlite), so sessions survive restarts and are
 * shared by every API process. Ids are kept hashed; expired rows are pruned as others are
 * written.
 */
export class PostgresSessionStore extends session.Store {
  private writes = 0;

  constructor(private readonly db: Database) {
    super();
  }

  override get(sid: string, callback: Callback<SessionData | null>): void {
    // A row past its expiry is not a session, whether or not it was pruned yet.
    this.db
      .select({ data: sessions.data })
      .from(sessions)
      .where(and(eq(sessions.idHash, hashOf(sid)), gt(sessions.expiresAt, sql`now()`)))
      .then(([row]) => callback(null, row ? (row.data as unknown as SessionData) : null))
      .catch(callback);
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    const expiresAt = data.cookie.expires
      ? new Date(data.cookie.expires)
      : new Date(Date.now() + defaultTtlMs);
    const value = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
    this.db
      .insert(sessions)
      .values({ idHash: hashOf(sid), data: value, expiresAt })
      .onConflictDoUpdate({ target: sessions.idHash, set: { data: value, expiresAt } })
      .then(() => this.prune())
      .then(() => callback?.())
      .catch((error: unknown) => callback?.(error));
  }

  override destroy(sid: string, callback?: Callback): void {
    this.db
      .delete(sessions)
      .where(eq(sessions.idHash, hashOf(sid)))
      .then(() => callback?.())
      .catch((error: unknown) => callback?.(error));
  }

  override touch(sid: string, data: SessionData, callback?: Callback): void {
    const expiresAt = data.cookie.expires
      ? new Date(data.cookie.expires)
      : new Date(Date.now() + defaultTtlMs);
    this.db
      .update(sessions)
      .set({ expiresAt })
      .where(eq(sessions.idHash, hashOf(sid)))
      .then(() => callback?.())
      .catch((error: unknown) => callback?.(error));
  }

  /** Every hundredth write removes expired sessions. */
  private async prune(): Promise<void> {
    this.writes += 1;
    if (this.writes % 100 !== 0) return;
    await this.db.delete(sessions).where(lt(sessions.expiresAt, sql`now()`));
  }
}
