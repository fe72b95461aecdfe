import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../src/store/database.js';
import { refreshResults } from '../../src/store/schema.js';

/**
 * Waits until a job execution claims the customer's result, then lets the claim lapse, as a
 * job lock that expired on a stalled worker does: a copy of the job may then ask Microsoft too.
 * Fails after `limitMs`.
 */
export async function lapseClaimOnceTaken(
  db: Database,
  runId: string,
  customerTenantId: string,
  limitMs = 30_000,
): Promise<void> {
  const ofTenant = and(
    eq(refreshResults.runId, runId),
    eq(refreshResults.customerTenantId, customerTenantId),
  );
  const deadline = Date.now() + limitMs;
  for (;;) {
    // pg_sleep keeps the poll in the database: each round is one short statement.
    const [row] = await db
      .select({ claimed: refreshResults.claimedUntil, pause: sql`pg_sleep(0.02)` })
      .from(refreshResults)
      .where(ofTenant);
    if (row?.claimed) break;
    if (Date.now() > deadline) throw new Error('no job execution claimed the customer');
  }
  await db
    .update(refreshResults)
    .set({ claimedUntil: sql`now() - interval '1 second'` })
    .where(ofTenant);
}
