import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import axios, { type AxiosInstance } from 'axios';

export interface HttpClientOptions {
  /** PEM file of extra CAs to trust besides the system's (HTTP_EXTRA_CA_FILE). */
  extraCaFile?: string | undefined;
  /** Per-request timeout. Default: 30 s */
  timeoutMs?: number;
  /** Sockets kept per host; bounds concurrency towards one host. Default: 64 */
  maxSockets?: number;
}

/**
 * The system's CAs and those of `extraCaFile`, as one secure context for every connection:
 * given `ca` instead, Node parses the whole CA list again for each new socket, which costs
 * more CPU than the request itself.
 */
export function secureContextWith(extraCaFile: string): SecureContext {
  return createSecureContext({ ca: [...rootCertificates, readFileSync(extraCaFile, 'utf8')] });
}

/**
 * The HTTP client of the PSA calls (one instance per destination family; Microsoft calls have
 * their own, src/microsoft/http.ts): keep-alive, bounded sockets, a timeout, and the extra CA
 * when one is configured. It never throws on an HTTP status: callers classify statuses
 * themselves.
 */
export function createHttpClient(options: HttpClientOptions = {}): AxiosInstance {
  const secureContext = options.extraCaFile ? secureContextWith(options.extraCaFile) : undefined;
  const http = axios.create({
    httpsAgent: new Agent({
      keepAlive: true,
      maxSockets: options.maxSockets ?? 64,
      ...(secureContext ? { secureContext } : {}),
    }),
    timeout: options.timeoutMs ?? 30_000,
    validateStatus: () => true,
    maxRedirects: 0,
    // Bodies are parsed by the caller, which knows whether to expect JSON or text.
    responseType: 'text',
    transformResponse: (data: unknown) => data,
  });
  http.interceptors.response.use(undefined, (error: unknown) =>
    Promise.reject(transportError(error)),
  );
  return http;
}

/**
 * A call that got no answer (timeout, refused, reset). It keeps the transport's code, for
 * the classification, and nothing of the request: axios' own error carries its headers and
 * body (a bearer token, a refresh token, the client secret), and errors end up in logs.
 */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

function transportError(error: unknown): Error {
  if (!axios.isAxiosError(error)) return error instanceof Error ? error : new Error(String(error));
  let where = 'the remote service';
  try {
    const url = new URL(error.config?.url ?? '', error.config?.baseURL);
    where = `${url.origin}${url.pathname}`;
  } catch {
    // No usable URL: the host stays unnamed.
  }
  return new TransportError(`${error.code ?? 'network error'} calling ${where}`, error.code);
}

/** Retry-After as milliseconds (seconds or an HTTP date); undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
