import { createServer, type Server } from 'node:http';
import { inspect } from 'node:util';
import { expect } from 'chai';
import { classifyMicrosoftError } from '../../src/microsoft/errors.js';
import { createHttpClient, TransportError } from '../../src/http-client.js';
import { closedPort } from '../support/redis.js';

describe('the Microsoft HTTP client when no answer comes', () => {
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
    const http = createHttpClient({ timeoutMs: 200 });
    const secret = 'refresh-token-test-only-0123456789';
    const error = await http
      .post(
        `${url}/organizations/oauth2/v2.0/token?client-request-id=x`,
        `refresh_token=${secret}`,
        {
          headers: { Authorization: `Bearer ${secret}` },
        },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
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
    const http = createHttpClient({ timeoutMs: 2_000 });
    const error = await http.get(`http://127.0.0.1:${await closedPort()}/v1/customers`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classifyMicrosoftError(error)).to.include({ kind: 'transient', code: 'ECONNREFUSED' });
  });
});
