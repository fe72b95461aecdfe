import { deliverAlert as deliver } from '../src/services/alert-delivery.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import type { JobDeps } from './deps.js';

/** Sends one outbox row to its channel (src/services/alert-delivery.ts). */
export async function deliverAlert(
  payload: { deliveryId: string },
  deps: JobDeps,
  ctx: JobContext,
) {
  return deliver(deps, ctx, payload.deliveryId);
}
