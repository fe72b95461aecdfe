import { sendAlertDigests as send } from '../src/services/alert-digest.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import type { JobDeps } from './deps.js';

/** Sends each digest channel its daily digest (src/services/alert-digest.ts). */
export async function sendAlertDigests(_payload: object, deps: JobDeps, ctx: JobContext) {
  return send(deps, ctx);
}
