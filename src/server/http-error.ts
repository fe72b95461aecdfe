import { errorChain } from '../store/availability.js';

/** An error a handler throws to answer with a given status and a sentence for the caller. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * Whether PostgreSQL refused a value the request carried (SQLSTATE class 22, data exception:
 * a U+0000, a malformed number, a value too long), anywhere in the error's cause chain.
 */
function isDatabaseInputError(error: unknown): boolean {
  for (const e of errorChain(error)) {
    if (typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code)) return true;
  }
  return false;
}

/** The status an error answers with: its own, a 4xx a parser set, 400 for bad data, else 500. */
export function errorStatus(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  const status = (error as { status?: unknown } | undefined)?.status;
  // body-parser's errors (malformed JSON, too large) carry a 4xx status.
  if (typeof status === 'number' && status >= 400 && status < 500) return status;
  if (isDatabaseInputError(error)) return 400;
  return 500;
}

/** What the caller is told: never a database error's own text, which quotes the values. */
export function errorAnswer(error: unknown): { status: number; code: string; message: string } {
  const status = errorStatus(error);
  if (error instanceof HttpError) return { status, code: error.code, message: error.message };
  if (status >= 500)
    return { status, code: 'internal', message: 'Something went wrong on our side.' };
  if (isDatabaseInputError(error)) {
    return {
      status,
      code: 'invalid_request',
      message:
        'Invalid request: a value cannot be stored (control characters or a malformed value).',
    };
  }
  return { status, code: 'bad_request', message: (error as Error).message };
}
