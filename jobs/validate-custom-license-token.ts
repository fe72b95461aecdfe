import type { CustomLicenseTokenState } from '../src/domain/custom-licenses.js';
import type { JobPayload } from '../src/queue/catalog.js';
import { jobIds } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import { checkCustomLicenseToken } from '../src/services/custom-licenses.js';
import type { JobDeps } from './deps.js';

/** The card's custom-license refresh-token validation, for one partner. */
export async function validateCustomLicenseToken(
  { partnerId }: JobPayload<'validateCustomLicenseToken'>,
  deps: JobDeps,
  ctx: JobContext,
): Promise<CustomLicenseTokenState> {
  const state = await checkCustomLicenseToken(deps, partnerId);
  ctx.log.info({ partnerId, status: state.status }, 'custom-license token validated');
  return state;
}

/** Daily: validates (and so keeps alive) every partner's custom-license token. */
export async function validateCustomLicenseTokens(
  _payload: JobPayload<'validateCustomLicenseTokens'>,
  deps: JobDeps,
): Promise<{ partners: number }> {
  const partners = await deps.customLicenses.partnersWithToken();
  const day = new Date().toISOString().slice(0, 10);
  for (const partnerId of partners) {
    await deps.queues.enqueue(
      'validateCustomLicenseToken',
      { partnerId },
      { jobId: jobIds.validateCustomLicenseToken(partnerId, day) },
    );
  }
  return { partners: partners.length };
}
