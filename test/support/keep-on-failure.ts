import type { Context } from 'mocha';

/** True when any test of the current suite (or its children) failed. */
export function suiteFailed(context: Context): boolean {
  const suite = context.test?.parent;
  if (!suite) return false;
  const failed = (s: Mocha.Suite): boolean =>
    s.tests.some((t) => t.state === 'failed') || s.suites.some(failed);
  return failed(suite);
}
