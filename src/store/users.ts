import { asc, eq } from 'drizzle-orm';
import { recordAudit } from './audit.js';
import type { Database } from './database.js';
import { users, type UserRole } from './schema.js';

export type User = typeof users.$inferSelect;

/** People who log in to the pages. Passwords arrive hashed. */
export class UserStore {
  constructor(private readonly db: Database) {}

  async byEmail(email: string): Promise<User | undefined> {
    const [user] = await this.db
      .select()
      .from(users)
      .where(eq(users.email, email.trim().toLowerCase()));
    return user;
  }

  async get(id: string): Promise<User | undefined> {
    const [user] = await this.db.select().from(users).where(eq(users.id, id));
    return user;
  }

  /** A new user; undefined when the email is taken. */
  async create(
    input: { email: string; passwordHash: string; role: UserRole; partnerId: string | null },
    actor: string,
  ): Promise<User | undefined> {
    return this.db.transaction(async (tx) => {
      const [user] = await tx
        .insert(users)
        .values({ ...input, email: input.email.trim().toLowerCase() })
        .onConflictDoNothing()
        .returning();
      if (user) {
        await recordAudit(tx, {
          partnerId: user.partnerId,
          actor,
          action: 'user.created',
          subjectType: 'user',
          subjectId: user.id,
          details: { email: user.email, role: user.role },
        });
      }
      return user;
    });
  }

  async setPassword(id: string, passwordHash: string): Promise<void> {
    await this.db.update(users).set({ passwordHash }).where(eq(users.id, id));
  }

  ofPartner(partnerId: string): Promise<User[]> {
    return this.db
      .select()
      .from(users)
      .where(eq(users.partnerId, partnerId))
      .orderBy(asc(users.email));
  }

  async loggedIn(id: string): Promise<void> {
    await this.db.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, id));
  }
}
