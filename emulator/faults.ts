import { randomUUID } from 'node:crypto';
import picomatch from 'picomatch';

// Injected faults, as every emulator (Microsoft's, the PSAs') matches and spends them.

/** What decides whether a fault applies to a request. */
interface FaultMatch {
  method?: string | undefined;
  /** Glob over the request path. */
  path: string;
  probability?: number | undefined;
  count?: number | undefined;
}

/** A fault in force: its id, its path matcher, and how many requests it still gets. */
export type Active<F extends FaultMatch> = F & {
  id: string;
  matches: (path: string) => boolean;
  remaining: number | undefined;
};

export function activeFault<F extends FaultMatch>(spec: F): Active<F> {
  return {
    ...spec,
    id: randomUUID(),
    matches: picomatch(spec.path, { dot: true }),
    remaining: spec.count,
  };
}

/** The first fault that applies to this request, counted down if it has a count. */
export function takeFault<F extends FaultMatch>(
  faults: Active<F>[],
  method: string,
  path: string,
): Active<F> | undefined {
  for (const fault of faults) {
    if (fault.method && fault.method.toUpperCase() !== method.toUpperCase()) continue;
    if (!fault.matches(path)) continue;
    if (fault.remaining !== undefined) {
      if (fault.remaining <= 0) continue;
      fault.remaining -= 1;
    } else if (fault.probability !== undefined && Math.random() >= fault.probability) {
      continue;
    }
    return fault;
  }
  return undefined;
}
