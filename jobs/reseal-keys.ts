import { deduplicationKeys, type JobPayload } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import type { ResealedColumn } from '../src/store/key-rotation.js';
import type { JobDeps } from './deps.js';

/** Seals again with the first key every value an older key sealed. Idempotent. */
export async function resealKeys(
  _payload: JobPayload<'resealKeys'>,
  deps: JobDeps,
  ctx: JobContext,
): Promise<ResealedColumn[]> {
  const columns = await deps.sealedValues.resealStale({ signal: ctx.signal });
  const unreadable = columns.filter((c) => c.unreadable > 0);
  ctx.log.info({ keyId: deps.sealedValues.currentKeyId, columns }, 'sealed values resealed');
  if (unreadable.length > 0) {
    ctx.log.warn(
      { columns: unreadable.map((c) => ({ column: c.column, unreadable: c.unreadable })) },
      'some sealed values open with no key of ENCRYPTION_KEYS; they stay as they are',
    );
  }
  return columns;
}

/**
 * The start-up check: when a value is sealed by another key than the first (the first key
 * changed), a reseal is queued, one per first key while it waits or runs.
 * Resolves with the job id, or undefined when nothing is stale.
 */
export async function enqueueResealIfStale(
  deps: Pick<JobDeps, 'sealedValues' | 'queues' | 'log'>,
): Promise<string | undefined> {
  const keyId = deps.sealedValues.currentKeyId;
  if (!(await deps.sealedValues.hasStale())) return undefined;
  const job = await deps.queues.enqueue(
    'resealKeys',
    {},
    { deduplicationKey: deduplicationKeys.resealKeys(keyId) },
  );
  deps.log.info({ keyId, jobId: job.id }, 'values sealed by an older key: reseal queued');
  return job.id;
}
