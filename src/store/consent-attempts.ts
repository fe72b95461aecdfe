import { createHash } from 'node:crypto';
import { and, desc, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Database } from './database.js';
import type { KeyRing } from './encryption.js';
import { consentAttempts, delegatedAdmins, type ConsentAttemptKind } from './schema.js';

export type ConsentAttempt = typeof consentAttempts.$inferSelect;

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
export const sealContext = (id: string, field: 'verifier' | 'nonce' | 'code') =>
  `consent_attempt:${id}:${field}`;

/** The code's seal: bound to its attempt through the state hash, known before any read. */
export const codeContext = (stateHash: string) => `consent_attempt:state:${stateHash}:code`;

/** How long a started consent may take before its state stops being accepted. */
const consentAttemptLifetimeMs = 15 * 60 * 1000;

export type ReceiveOutcome =
  | { outcome: 'received'; attempt: ConsentAttempt }
  | { outcome: 'replayed'; attempt: ConsentAttempt }
  | { outcome: 'unknown' }
  | { outcome: 'other_session'; attempt: ConsentAttempt }
  | { outcome: 'expired'; attempt: ConsentAttempt }
  | { outcome: 'used'; attempt: ConsentAttempt };

/** Consent attempts: state, verifier, nonce and code kept server-side, sealed, single use. */
export class ConsentAttemptStore {
  constructor(
    private readonly db: Database,
    private readonly keyRing: KeyRing,
  ) {}

  async start(input: {
    partnerId: string;
    kind: ConsentAttemptKind;
    state: string;
    verifier: string;
    nonce: string;
    returnUrl: string;
    /** The pages' session that starts it; its callback must come back in that session. */
    sessionId?: string | undefined;
    /** The partner's tenant, where the admin signs in; default: organizations. */
    authorityTenantId?: string | null | undefined;
  }): Promise<ConsentAttempt> {
    const id = crypto.randomUUID();
    const [attempt] = await this.db
      .insert(consentAttempts)
      .values({
        id,
        partnerId: input.partnerId,
        kind: input.kind,
        stateHash: sha256(input.state),
        pkceVerifierEnc: this.keyRing.encrypt(input.verifier, sealContext(id, 'verifier')),
        nonceEnc: this.keyRing.encrypt(input.nonce, sealContext(id, 'nonce')),
        returnUrl: input.returnUrl,
        sessionHash: input.sessionId === undefined ? null : sha256(input.sessionId),
        authorityTenantId: input.authorityTenantId ?? null,
        expiresAt: new Date(Date.now() + consentAttemptLifetimeMs),
      })
      .returning();
    return attempt!;
  }

  async get(id: string): Promise<ConsentAttempt | undefined> {
    const [row] = await this.db.select().from(consentAttempts).where(eq(consentAttempts.id, id));
    return row;
  }

  async byState(state: string): Promise<ConsentAttempt | undefined> {
    const [row] = await this.db
      .select()
      .from(consentAttempts)
      .where(eq(consentAttempts.stateHash, sha256(state)));
    return row;
  }

  /**
   * Records the code and marks the attempt received in one statement, so a double-clicked
   * callback yields one consent. A replay of the same code is recognised by its hash. An
   * attempt started from the pages is received only in the session that started it.
   */
  async receiveCode(
    state: string,
    code: string,
    sessionId: string | undefined,
  ): Promise<ReceiveOutcome> {
    const stateHash = sha256(state);
    const sessionHash = sessionId === undefined ? undefined : sha256(sessionId);
    // The common case in one round trip: the code is sealed to the attempt by its state hash.
    const [updated] = await this.db
      .update(consentAttempts)
      .set({
        codeEnc: this.keyRing.encrypt(code, codeContext(stateHash)),
        codeHash: sha256(code),
        status: 'received',
        receivedAt: new Date(),
      })
      .where(
        and(
          eq(consentAttempts.stateHash, stateHash),
          eq(consentAttempts.status, 'started'),
          gt(consentAttempts.expiresAt, new Date()),
          sessionHash === undefined
            ? isNull(consentAttempts.sessionHash)
            : or(isNull(consentAttempts.sessionHash), eq(consentAttempts.sessionHash, sessionHash)),
        ),
      )
      .returning();
    if (updated) return { outcome: 'received', attempt: updated };
    const current = await this.byState(state);
    if (!current) return { outcome: 'unknown' };
    if (!this.inStartingSession(current, sessionId)) {
      return { outcome: 'other_session', attempt: current };
    }
    if (current.codeHash === sha256(code)) return { outcome: 'replayed', attempt: current };
    if (current.status === 'started') return { outcome: 'expired', attempt: current };
    return { outcome: 'used', attempt: current };
  }

  /** False when the attempt was started from the pages in another session than this one. */
  inStartingSession(attempt: ConsentAttempt, sessionId: string | undefined): boolean {
    if (attempt.sessionHash === null) return true;
    return sessionId !== undefined && attempt.sessionHash === sha256(sessionId);
  }

  /** Entra sent an error instead of a code: the attempt fails with a sentence. */
  async fail(
    id: string,
    message: string,
    fromStatus: ConsentAttempt['status'][] = ['started', 'received', 'exchanging'],
  ): Promise<void> {
    await this.db
      .update(consentAttempts)
      .set({
        status: 'failed',
        error: message,
        completedAt: new Date(),
        codeEnc: null,
        pkceVerifierEnc: null,
        nonceEnc: null,
      })
      .where(and(eq(consentAttempts.id, id), inArray(consentAttempts.status, fromStatus)));
  }

  async markExchanging(id: string): Promise<void> {
    await this.db
      .update(consentAttempts)
      .set({ status: 'exchanging' })
      .where(
        and(
          eq(consentAttempts.id, id),
          inArray(consentAttempts.status, ['received', 'exchanging']),
        ),
      );
  }

  /** The sealed secrets of an attempt, opened; undefined once wiped. */
  secrets(attempt: ConsentAttempt): { code: string; verifier: string; nonce: string } | undefined {
    if (!attempt.codeEnc || !attempt.pkceVerifierEnc || !attempt.nonceEnc) return undefined;
    return {
      code: this.openCode(attempt, attempt.codeEnc),
      verifier: this.keyRing.decryptString(
        attempt.pkceVerifierEnc,
        sealContext(attempt.id, 'verifier'),
      ),
      nonce: this.keyRing.decryptString(attempt.nonceEnc, sealContext(attempt.id, 'nonce')),
    };
  }

  /** Codes are sealed by state hash; those sealed before that change, by attempt id. */
  private openCode(attempt: ConsentAttempt, sealed: string): string {
    try {
      return this.keyRing.decryptString(sealed, codeContext(attempt.stateHash));
    } catch {
      return this.keyRing.decryptString(sealed, sealContext(attempt.id, 'code'));
    }
  }

  latest(partnerId: string, kind: ConsentAttemptKind): Promise<ConsentAttempt | undefined> {
    return this.db
      .select()
      .from(consentAttempts)
      .where(and(eq(consentAttempts.partnerId, partnerId), eq(consentAttempts.kind, kind)))
      .orderBy(desc(consentAttempts.createdAt))
      .limit(1)
      .then((rows) => rows[0]);
  }

  /** Received attempts whose exchange may have been lost with Redis (reconciler). */
  awaitingExchange(olderThan: Date): Promise<ConsentAttempt[]> {
    return this.db
      .select()
      .from(consentAttempts)
      .where(
        and(
          inArray(consentAttempts.status, ['received', 'exchanging']),
          lt(consentAttempts.receivedAt, olderThan),
        ),
      )
      .limit(500);
  }

  /** Active consents whose domain-matched replacement has not run (reconciler). */
  async consentsAwaitingReplacement(): Promise<string[]> {
    const rows = await this.db
      .select({ id: delegatedAdmins.id })
      .from(delegatedAdmins)
      .where(
        and(
          eq(delegatedAdmins.kind, 'sam'),
          eq(delegatedAdmins.status, 'active'),
          isNull(delegatedAdmins.replacementCheckedAt),
        ),
      )
      .limit(500);
    return rows.map((r) => r.id);
  }

  /**
   * An exchange that cannot finish (a failed check, or a job that ended without finishing it)
   * fails the attempt with `message`, so its page stops waiting; the pending consent it held
   * (and, by cascade, its tokens) goes with it. False when the attempt was no longer being
   * exchanged.
   */
  async failExchange(id: string, message: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [attempt] = await tx
        .select({ consentId: consentAttempts.delegatedAdminId })
        .from(consentAttempts)
        .where(
          and(
            eq(consentAttempts.id, id),
            inArray(consentAttempts.status, ['received', 'exchanging']),
          ),
        )
        .for('update');
      if (!attempt) return false;
      await tx
        .update(consentAttempts)
        .set({
          status: 'failed',
          error: message,
          completedAt: new Date(),
          delegatedAdminId: null,
          codeEnc: null,
          pkceVerifierEnc: null,
          nonceEnc: null,
        })
        .where(eq(consentAttempts.id, id));
      if (attempt.consentId) {
        await tx
          .delete(delegatedAdmins)
          .where(
            and(eq(delegatedAdmins.id, attempt.consentId), eq(delegatedAdmins.status, 'pending')),
          );
      }
      return true;
    });
  }

  /** Expired started attempts are closed so they stop showing as pending. */
  async expireStale(): Promise<number> {
    const rows = await this.db
      .update(consentAttempts)
      .set({
        status: 'expired',
        error: 'The consent was not completed within 15 minutes. Grant consent again.',
        pkceVerifierEnc: null,
        nonceEnc: null,
      })
      .where(and(eq(consentAttempts.status, 'started'), lt(consentAttempts.expiresAt, sql`now()`)))
      .returning({ id: consentAttempts.id });
    return rows.length;
  }
}
