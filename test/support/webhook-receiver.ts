import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body as received. */
  body: string;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/** What the receiver answers to its `n`-th request on a path (0 for the first). */
type Answer = (
  n: number,
  path: string,
) => { status: number; headers?: Record<string, string>; body?: string };

/**
 * A real HTTP server on loopback that records every request and answers as told: the far end
 * of a webhook, for tests. Waits resolve on arrival, each with its own limit.
 */
export interface WebhookReceiver {
  url(path: string): string;
  port: number;
  received(path: string): ReceivedRequest[];
  /** Resolves once `path` has received `count` requests; rejects after `timeoutMs`. */
  waitFor(path: string, count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(
  answer: Answer = () => ({ status: 200 }),
): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = requests.filter((r) => r.path === path).length;
      requests.push({
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const { status, headers, body } = answer(n, path);
      res.writeHead(status, { 'Content-Type': 'text/plain', ...headers });
      res.end(body ?? (status < 300 ? 'ok' : 'no'));
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const received = (path: string) => requests.filter((r) => r.path === path);
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    waitFor(path, count, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received(path).length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(received(path));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `${path}: ${received(path).length} of ${count} requests within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
