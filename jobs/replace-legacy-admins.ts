import type { JobPayload } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import { replaceLegacyAdminsByDomain, type ReplacementResult } from '../src/store/replacement.js';
import type { JobDeps } from './deps.js';
import { startRefresh } from './refresh-partner.js';

/** The domain-matched replacement, after a consent is stored. Idempotent. */
export async function replaceLegacyAdmins(
  { delegatedAdminId }: JobPayload<'replaceLegacyAdmins'>,
  deps: JobDeps,
  ctx: JobContext,
): Promise<ReplacementResult> {
  const result = await replaceLegacyAdminsByDomain(deps.store.db, delegatedAdminId);
  ctx.log.info(
    {
      delegatedAdminId,
      replaced: result.replaced.map((r) => r.id),
      companiesMoved: result.companiesMoved,
    },
    'domain-matched replacement done',
  );
  // The consent is in place: the partner's initial refresh starts now.
  if (result.partnerId) await startRefresh(deps, result.partnerId, 'consent');
  return result;
}
