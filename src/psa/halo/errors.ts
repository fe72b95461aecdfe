import type { AxiosResponse } from 'axios';
import { parseRetryAfter, TransportError } from '../../http-client.js';
import { PsaError, type PsaFailureKind } from '../errors.js';

// Halo's answers classified once. The resource server's error bodies are read in the shapes
// Halo is known to use ({ClassName, Message}, {Message}, {message}, OAuth {error,
// error_description}); the text Halo gave is kept verbatim.

/** The message Halo gave in an error answer, or undefined when it gave none. */
function haloMessage(response: AxiosResponse): string | undefined {
  const text = typeof response.data === 'string' ? response.data.trim() : '';
  if (!text) return undefined;
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'string') return body;
    if (typeof body !== 'object' || body === null) return text;
    const b = body as Record<string, unknown>;
    for (const key of ['Message', 'message', 'error_description', 'error'])
      if (typeof b[key] === 'string' && b[key]) return b[key];
    return text;
  } catch {
    // Not JSON: Halo (or a proxy in front of it) answered in plain text.
    return text.length > 500 ? `${text.slice(0, 500)}…` : text;
  }
}

function kindOfStatus(status: number): PsaFailureKind {
  if (status === 401) return 'credentials';
  if (status === 403) return 'permission';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status === 408 || status >= 500) return 'transient';
  return 'validation';
}

/** A resource-server answer with an error status as a PsaError. */
export function haloApiError(
  response: AxiosResponse,
  rateLimitBackoffMs: number,
  now = Date.now(),
): PsaError {
  const status = response.status;
  const kind = kindOfStatus(status);
  const message = haloMessage(response) ?? `Halo answered HTTP ${status}.`;
  if (kind !== 'rate_limited') return new PsaError(kind, message, status);
  // Halo sends no Retry-After: wait toward its rolling window rather than retry at once.
  const header = response.headers['retry-after'] as string | undefined;
  return new PsaError(kind, message, status, parseRetryAfter(header, now) ?? rateLimitBackoffMs);
}

/** OAuth error codes of the token endpoint that mean the connection's settings are wrong. */
const settingsErrors = new Set(['invalid_request', 'unsupported_grant_type']);
const credentialErrors = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant']);

/** A refused token request as a PsaError (the sentence says which setting is wrong). */
export function haloTokenError(
  response: AxiosResponse,
  tokenUrl: string,
  rateLimitBackoffMs: number,
): PsaError {
  const status = response.status;
  let code: string | undefined;
  try {
    const body = JSON.parse(String(response.data)) as { error?: unknown };
    if (typeof body.error === 'string') code = body.error;
  } catch {
    // Not an OAuth answer: no Halo authorisation server at that address.
  }
  const said = haloMessage(response);
  if (status === 429 || status >= 500) return haloApiError(response, rateLimitBackoffMs);
  if (code === 'invalid_scope')
    return new PsaError('permission', `Halo refused the scope: ${said ?? code}`, status);
  if (code && credentialErrors.has(code))
    return new PsaError(
      'credentials',
      `Halo refused the client ID or secret: ${said ?? code}`,
      status,
    );
  if (code && settingsErrors.has(code))
    return new PsaError(
      'credentials',
      `Halo refused the token request (check the tenant): ${said ?? code}`,
      status,
    );
  return new PsaError(
    'credentials',
    `No Halo authorisation server answered at ${tokenUrl} (HTTP ${status}): check the address.`,
    status,
  );
}

/** A call that got no answer: retry later (the message names the host, never the request). */
export function haloTransportError(error: unknown): PsaError {
  if (error instanceof PsaError) return error;
  const message = error instanceof TransportError ? error.message : 'Halo did not answer.';
  return new PsaError('transient', message);
}
