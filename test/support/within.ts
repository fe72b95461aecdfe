import { withDeadline } from '../../src/deadline.js';

/**
 * Rejects after `ms` with a sentence naming what was awaited: every wait has its own limit, so
 * a hang reads as the check that hung, not as a test that never ends.
 */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  try {
    return await withDeadline(ms, promise);
  } catch (error) {
    if ((error as Error).message.startsWith('no answer within')) {
      throw new Error(`gave up after ${ms} ms waiting for ${what}`, { cause: error });
    }
    throw error;
  }
}
