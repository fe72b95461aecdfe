import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import type { OutboundProxy } from '../../config/index.js';
import { TransportError, secureContextWith } from '../http-client.js';
import { proxyFor } from './proxy.js';

export interface MicrosoftHttpOptions {
  /** PEM file of extra CAs to trust besides the system's (HTTP_EXTRA_CA_FILE). */
  extraCaFile?: string | undefined;
  /** Per-request timeout: connecting, the answer's headers, each wait within its body. Default: 30 s */
  timeoutMs?: number;
  /** Connections kept per host; bounds concurrency towards one host. Default: 64 */
  maxSockets?: number;
  /** HTTPS_PROXY, HTTP_PROXY and NO_PROXY. Default: none */
  proxy?: OutboundProxy;
}

interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string> | undefined;
  body?: string | undefined;
  /** This call's timeout instead of the client's. */
  timeoutMs?: number | undefined;
}

export interface HttpAnswer {
  status: number;
  /** Lower-case names; a repeated header's values joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

/** The transport of Microsoft calls: one request, its whole answer as text. */
export interface MicrosoftHttp {
  /** Resolves with any HTTP status (callers classify it); rejects only with a TransportError. */
  request(request: HttpRequest): Promise<HttpAnswer>;
  close(): Promise<void>;
}

/**
 * How long an idle connection is kept when the server does not say (a server's Keep-Alive
 * hint wins). Jobs call the same hosts back to back, so the connection and its TLS session
 * outlive a pause between runs' bursts. Default: 60 s
 */
const idleConnectionMs = 60_000;

/**
 * The client for every Microsoft call (identity, Partner Center, Graph) over undici, which
 * costs a fraction of the CPU of axios over node:https per request: keep-alive connections
 * and TLS session reuse per host, bounded connections, a timeout, the extra CA when one is
 * configured, and the outbound proxy when one is. It never rejects on an HTTP status, and
 * never redirects. The PSA clients keep the axios client (src/http-client.ts).
 */
export function createMicrosoftHttp(options: MicrosoftHttpOptions = {}): MicrosoftHttp {
  const timeoutMs = options.timeoutMs ?? 30_000;
  // One secure context for every connection, parsed once (see secureContextWith).
  const secureContext = options.extraCaFile ? secureContextWith(options.extraCaFile) : undefined;
  const tls = secureContext ? { secureContext } : {};
  const agentOptions = {
    connections: options.maxSockets ?? 64,
    keepAliveTimeout: idleConnectionMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  };
  const direct = new Agent({ ...agentOptions, connect: { ...tls, timeout: timeoutMs } });
  const proxies = new Map<string, ProxyAgent>();
  const dispatcherFor = (url: string): Dispatcher => {
    const proxy = options.proxy && proxyFor(url, options.proxy);
    if (!proxy) return direct;
    let agent = proxies.get(proxy);
    if (!agent) {
      // A CONNECT tunnel per connection: TLS runs end to end with Microsoft, our CA included.
      agent = new ProxyAgent({
        ...agentOptions,
        uri: proxy,
        requestTls: { ...tls, timeout: timeoutMs },
        proxyTls: { timeout: timeoutMs },
      });
      proxies.set(proxy, agent);
    }
    return agent;
  };

  return {
    async request({ method, url, headers, body, timeoutMs: callTimeoutMs }) {
      try {
        const answer = await request(url, {
          method,
          dispatcher: dispatcherFor(url),
          ...(headers ? { headers } : {}),
          ...(body === undefined ? {} : { body }),
          ...(callTimeoutMs ? { headersTimeout: callTimeoutMs, bodyTimeout: callTimeoutMs } : {}),
        });
        return {
          status: answer.statusCode,
          headers: flatHeaders(answer.headers),
          body: await answer.body.text(),
        };
      } catch (error) {
        throw transportError(error, url);
      }
    },
    async close() {
      await Promise.all([direct.close(), ...[...proxies.values()].map((p) => p.close())]);
    },
  };
}

function flatHeaders(headers: Record<string, string | string[] | undefined>) {
  const flat: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/**
 * undici's codes in the words the error table knows, as the axios client reported the same
 * failures: a timeout is ECONNABORTED, a connection closed under a request ECONNRESET.
 */
const transportCodes: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'ECONNABORTED',
  UND_ERR_HEADERS_TIMEOUT: 'ECONNABORTED',
  UND_ERR_BODY_TIMEOUT: 'ECONNABORTED',
  UND_ERR_SOCKET: 'ECONNRESET',
  UND_ERR_CLOSED: 'ECONNRESET',
  UND_ERR_DESTROYED: 'ECONNRESET',
};

/**
 * A TransportError naming the code and the URL without its query, and nothing else of the
 * request (its headers and body hold tokens and the client secret).
 */
function transportError(error: unknown, url: string): TransportError {
  const raw = (error as { code?: unknown } | undefined)?.code;
  // A socket's own error keeps its code (ECONNREFUSED, ENOTFOUND, a certificate's, ...).
  const code = typeof raw === 'string' ? (transportCodes[raw] ?? raw) : undefined;
  let where = 'the remote service';
  try {
    const parsed = new URL(url);
    where = `${parsed.origin}${parsed.pathname}`;
  } catch {
    // No usable URL: the host stays unnamed.
  }
  return new TransportError(`${code ?? 'network error'} calling ${where}`, code);
}
