import { createServer, type Server } from 'node:http';
import { inspect } from 'node:util';
import { expect } from 'chai';
import { classifyMicrosoftError } from '../../src/microsoft/errors.js';
import { createHttpClient, TransportError } from '../../src/http-client.js';
import { createMicrosoftHttp } from '../../src/microsoft/http.js';
import { closedPort } from '../support/redis.js';

/** A POST and a GET through one client; rejections come back as values. */
interface Caller {
  post(url: string, body: string, headers: Record<string, string>): Promise<unknown>;
  get(url: string): Promise<unknown>;
}

const failure = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (e: unknown) => e,
  );

const clients: { name: string; client: (timeoutMs: number) => Caller }[] = [
  {
    name: 'the Microsoft HTTP client',
    client: (timeoutMs) => {
      const http = createMicrosoftHttp({ timeoutMs });
      return {
        post: (url, body, headers) => http.request({ method: 'POST', url, body, headers }),
        get: (url) => http.request({ method: 'GET', url }),
      };
    },
  },
  {
    name: 'the PSA HTTP client',
    client: (timeoutMs) => {
      const http = createHttpClient({ timeoutMs });
      return {
        post: (url, body, headers) => http.post(url, body, { headers }),
        get: (url) => http.get(url),
      };
    },
  },
];

for (const { name, client } of clients) {
  describe(`${name} when no answer comes`, () => {
    let server: Server;
    let url: string;
    before(async () => {
      // Accepts the request and never answers.
      server = createServer(() => {});
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('fails with a transient error that carries nothing of the request (no token, no body)', async () => {
      const http = client(200);
      const secret = 'refresh-token-test-only-0123456789';
      const error = await failure(
        http.post(
          `${url}/organizations/oauth2/v2.0/token?client-request-id=x`,
          `refresh_token=${secret}`,
          { Authorization: `Bearer ${secret}` },
        ),
      );
      expect(error).to.be.instanceOf(TransportError);
      expect(inspect(error, { depth: 10 })).to.not.contain(secret);
      expect(JSON.stringify(error)).to.not.contain(secret);
      expect((error as Error).message).to.match(
        /ECONNABORTED calling http:\/\/127\.0\.0\.1:\d+\/organizations\/oauth2\/v2\.0\/token$/,
      );
      expect(classifyMicrosoftError(error)).to.include({ kind: 'transient', code: 'ECONNABORTED' });
    });

    it('classifies a refused connection as transient too', async () => {
      const http = client(2_000);
      const error = await failure(http.get(`http://127.0.0.1:${await closedPort()}/v1/customers`));
      expect(classifyMicrosoftError(error)).to.include({ kind: 'transient', code: 'ECONNREFUSED' });
    });
  });
}
