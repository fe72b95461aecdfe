import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import axios, { type AxiosInstance } from 'axios';

export interface MicrosoftHttpOptions {
  /** PEM file of extra CAs to trust besides the system's (HTTP_EXTRA_CA_FILE). */
  extraCaFile?: string | undefined;
  /** Per-request timeout. Default: 30 s */
  timeoutMs?: number;
  /** Sockets kept per host; bounds concurrency towards one Microsoft host. Default: 64 */
  maxSockets?: number;
}

/**
 * The one HTTP client for every Microsoft call (identity, Partner Center, Graph): keep-alive,
 * bounded sockets, a timeout, and the extra CA when one is configured. It never throws on an
 * HTTP status: callers classify statuses themselves.
 */
export function createMicrosoftHttp(options: MicrosoftHttpOptions = {}): AxiosInstance {
  // One secure context for every connection: given `ca` instead, Node parses the whole CA
  // list again for each new socket, which costs more CPU than the request itself.
  const secureContext = options.extraCaFile
    ? createSecureContext({
        ca: [...rootCertificates, readFileSync(options.extraCaFile, 'utf8')],
      })
    : undefined;
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
export class MicrosoftTransportError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'MicrosoftTransportError';
  }
}

function transportError(error: unknown): Error {
  if (!axios.isAxiosError(error)) return error instanceof Error ? error : new Error(String(error));
  let where = 'Microsoft';
  try {
    const url = new URL(error.config?.url ?? '', error.config?.baseURL);
    where = `${url.origin}${url.pathname}`;
  } catch {
    // No usable URL: the host stays unnamed.
  }
  return new MicrosoftTransportError(
    `${error.code ?? 'network error'} calling ${where}`,
    error.code,
  );
}
