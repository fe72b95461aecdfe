import type { JobPayload } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import { replaceAndRefresh } from '../src/services/consent.js';
import type { ReplacementResult } from '../src/store/replacement.js';
import type { JobDeps } from './deps.js';

/** The domain-matched replacement, after a consent is stored. Idempotent. */
export async function replaceLegacyAdmins(
  { delegatedAdminId }: JobPayload<'replaceLegacyAdmins'>,
  deps: JobDeps,
  ctx: JobContext,
): Promise<ReplacementResult> {
  const result = await replaceAndRefresh(deps, delegatedAdminId);
  ctx.log.info(
    {
      delegatedAdminId,
      replaced: result.replaced.map((r) => r.id),
      companiesMoved: result.companiesMoved,
    },
    'domain-matched replacement done',
  );
  return result;
}
