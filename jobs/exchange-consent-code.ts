import type { JobPayload } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import { completeConsent, type ExchangeOutcome } from '../src/services/consent.js';
import type { JobDeps } from './deps.js';

/** A consent's authorization code, redeemed and checked into the partner's consent. */
export function exchangeConsentCode(
  { attemptId }: JobPayload<'exchangeConsentCode'>,
  deps: JobDeps,
  ctx: JobContext,
): Promise<ExchangeOutcome> {
  return completeConsent(deps, ctx, attemptId);
}
