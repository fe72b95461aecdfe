import { z } from 'zod';
import { parseRetryAfter } from '../../http-client.js';
import { PsaError, type PsaFailureKind } from '../errors.js';

// ConnectWise's answers as PsaErrors: its error body is {code, message, errors[]}, each entry
// of errors naming a field. The PSA's own words are kept; nothing of the request is.

const errorBody = z.object({
  code: z.string().optional(),
  message: z.string().optional(),
  errors: z
    .array(z.object({ message: z.string().optional(), field: z.string().optional() }))
    .optional(),
});

function kindOf(status: number, code: string | undefined): PsaFailureKind {
  // Bad keys can also come back as code ConnectWiseApi, message UserNotAuthenticated.
  if (status === 401 || code === 'UserNotAuthenticated') return 'credentials';
  if (status === 403) return 'permission';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status === 408 || status >= 500) return 'transient';
  return 'validation';
}

/** The PsaError for a ConnectWise answer of status >= 400. */
export function connectwiseError(
  status: number,
  text: string,
  retryAfter: string | undefined,
): PsaError {
  let parsed: z.infer<typeof errorBody> = {};
  try {
    parsed = errorBody.catch({}).parse(JSON.parse(text));
  } catch {
    // Not JSON (an edge or proxy page): the status speaks alone.
  }
  const details = (parsed.errors ?? [])
    .map((e) => [e.field, e.message].filter(Boolean).join(': '))
    .filter(Boolean);
  const message = [
    parsed.message ?? `ConnectWise answered HTTP ${status}`,
    details.length ? ` (${details.join('; ')})` : '',
  ].join('');
  return new PsaError(
    kindOf(status, parsed.message === 'UserNotAuthenticated' ? parsed.message : parsed.code),
    message,
    status,
    status === 429 ? (parseRetryAfter(retryAfter) ?? undefined) : undefined,
  );
}
