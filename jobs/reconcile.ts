import type { JobName } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import type { JobDeps } from './deps.js';

export interface ReconcileSummary {
  /** Scheduled jobs whose schedulers were re-created or confirmed. */
  schedules: JobName[];
}

/**
 * Re-creates the queue work PostgreSQL says should exist. Every step is idempotent, so a
 * run after a Redis loss and a run on a healthy Redis leave the same state.
 */
export async function reconcile(
  _payload: Record<string, never>,
  deps: JobDeps,
  ctx: JobContext,
): Promise<ReconcileSummary> {
  const schedules = await deps.queues.ensureSchedules();
  ctx.log.debug({ schedules }, 'reconciled');
  return { schedules };
}
