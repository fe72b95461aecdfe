import { parseRetryAfter, TransportError } from '../../http-client.js';
import { PsaError } from '../errors.js';

// Autotask's answers, classified once. Autotask reports most failures as HTTP 500 with
// {"errors":["…"]}: the status alone does not tell a refused write from a server fault, so
// the text and the kind of call decide (docs/psa-emulators.md, "Autotask").

export interface AutotaskAnswer {
  status: number;
  body: string;
  retryAfter?: string | undefined;
  /** The call changes data (a create): a 500 with messages is then Autotask refusing it. */
  write: boolean;
}

const threshold = /thread threshold|request threshold|threshold .*exceeded/i;
const permission = /does not have the adequate permissions/i;

/** The messages of an {"errors":[…]} body (or a .NET {"Message"} one); none when it has none. */
export function autotaskMessages(body: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null) return [];
  const { errors, Message, message } = parsed as Record<string, unknown>;
  if (Array.isArray(errors)) return errors.filter((e): e is string => typeof e === 'string');
  const single = Message ?? message;
  return typeof single === 'string' ? [single] : [];
}

export function classifyAutotaskAnswer(answer: AutotaskAnswer): PsaError {
  const { status } = answer;
  const messages = autotaskMessages(answer.body);
  const text = messages.join(' ') || `Autotask answered HTTP ${status}.`;
  const retryAfterMs = parseRetryAfter(answer.retryAfter);
  if (status === 429 || threshold.test(text))
    return new PsaError('rate_limited', text, status, retryAfterMs);
  if (status === 401) return new PsaError('credentials', text, status);
  if (status === 403 || permission.test(text)) return new PsaError('permission', text, status);
  if (status === 404) return new PsaError('not_found', text, status);
  if (status === 500 && answer.write && messages.length > 0)
    return new PsaError('validation', text, status);
  if (status >= 500 || status === 408) return new PsaError('transient', text, status, retryAfterMs);
  return new PsaError('validation', text, status);
}

/** A call that got no answer: transient; the message names the host, never the headers. */
export function classifyAutotaskFailure(error: unknown): PsaError {
  if (error instanceof PsaError) return error;
  if (error instanceof TransportError) return new PsaError('transient', error.message);
  throw error;
}
