/**
 * An error no rule classifies: a bug in our code (a TypeError, a broken invariant), not a
 * failure of Microsoft, the database or Redis. A job that meets one fails at once, without
 * retries, and its stack is logged: retrying a bug only hides it.
 */
export class ProgrammingError extends Error {
  constructor(what: string, cause: unknown) {
    super(
      `${what}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`,
      {
        cause,
      },
    );
    this.name = 'ProgrammingError';
    // The stack that matters is where the bug was, not where it was caught.
    if (cause instanceof Error && cause.stack)
      this.stack = `${this.name}: ${this.message}\n${cause.stack}`;
  }
}
