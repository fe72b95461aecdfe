import type { JobPayload } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import {
  listAndFanOut,
  startScheduledRefreshes,
  type RefreshPartnerSummary,
} from '../src/services/refresh.js';
import { queueRunFollowUps } from '../src/services/run-completion.js';
import type { JobDeps } from './deps.js';

/** The daily schedule: one run per partner with an active consent (joining open ones). */
export function refreshAllPartners(
  _payload: JobPayload<'refreshAllPartners'>,
  deps: JobDeps,
): Promise<{ partners: number; joined: number }> {
  return startScheduledRefreshes(deps);
}

/**
 * A run's listing of the partner's customers and the fan-out to one job per customer. A run
 * with no customer left to refresh completes here, and its PSA reconciliation is queued.
 */
export async function refreshPartner(
  { runId }: JobPayload<'refreshPartner'>,
  deps: JobDeps,
  ctx: JobContext,
): Promise<RefreshPartnerSummary | { skipped: string }> {
  const summary = await listAndFanOut(deps, ctx, runId);
  await queueRunFollowUps(deps, runId);
  return summary;
}
