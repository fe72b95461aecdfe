/**
 * Socket failures: the server (PostgreSQL or Redis) is down, restarting or unreachable, not
 * refusing the query.
 */
export const connectionErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * SQLSTATEs of a server that cannot serve now: class 08 (connection exception), and
 * admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down).
 */
const unavailableSqlStates = new Set(['57P01', '57P02', '57P03']);

/** node-postgres's own messages for a connection that died or never came up. */
const lostConnection =
  /^Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;

/**
 * A Microsoft call's failure (an HTTP client's or MSAL's error) also carries socket codes:
 * those say Microsoft is unreachable, which is the error table's business, not an outage here.
 */
const fromHttpClient = (e: object) => 'isAxiosError' in e || 'errorCode' in e || 'failure' in e;

/**
 * The error, its `cause` chain (drizzle wraps the driver's error) and an AggregateError's
 * parts (a refused connection to every address of a host), stopping at a Microsoft call's error.
 */
export function* errorChain(error: unknown): Generator<Error & { code?: unknown }> {
  const seen = new Set<unknown>();
  const pending = [error];
  while (pending.length > 0) {
    const current = pending.shift();
    if (!(current instanceof Error) || seen.has(current) || fromHttpClient(current)) continue;
    seen.add(current);
    yield current;
    pending.push(current.cause);
    if (current instanceof AggregateError) pending.push(...(current.errors as unknown[]));
  }
}

/**
 * True when PostgreSQL could not be reached or dropped the connection: an outage to wait out,
 * not a failure of the work (jobs are put back without using an attempt; the callback answers
 * 503). Looks through drizzle's DrizzleQueryError to the driver error in its `cause`.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const e of errorChain(error)) {
    if (typeof e.code === 'string') {
      if (connectionErrorCodes.has(e.code) || unavailableSqlStates.has(e.code)) return true;
      if (/^08[0-9A-Z]{3}$/.test(e.code)) return true;
    }
    if (lostConnection.test(e.message)) return true;
  }
  return false;
}

export interface UntilAvailableOptions {
  /** Stops waiting (the process is shutting down). Default: none */
  signal?: AbortSignal;
  /** Longest time spent waiting for the database before the error is thrown. Default: 5 minutes */
  maxWaitMs?: number;
  /** Told of each wait, for the log. Default: none */
  onWait?: (waitMs: number) => void;
}

/**
 * Runs `write` again, with waits doubling from 250 ms to 5 s, while the database is
 * unavailable: for a write that cannot be redone later, such as storing tokens from a code
 * that is already redeemed and exist only in memory. Other errors are thrown at once.
 */
export async function untilDatabaseAvailable<T>(
  write: () => Promise<T>,
  options: UntilAvailableOptions = {},
): Promise<T> {
  const { signal, maxWaitMs = 5 * 60_000, onWait } = options;
  const deadline = Date.now() + maxWaitMs;
  for (let wait = 250; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      return await write();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || Date.now() + wait > deadline || signal?.aborted) {
        throw error;
      }
      onWait?.(wait);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }
}
