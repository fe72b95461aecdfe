import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { generateTls } from '../../emulator/tls.js';
import { classifyMicrosoftError } from '../../src/microsoft/errors.js';
import { createMicrosoftHttp, type MicrosoftHttp } from '../../src/microsoft/http.js';
import { proxyFor } from '../../src/microsoft/proxy.js';

const listen = async <S extends HttpServer | HttpsServer>(server: S): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
};
const close = (server: HttpServer | HttpsServer) => {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(resolve));
};

describe('the Microsoft HTTP client over HTTPS', function () {
  this.timeout(30_000);
  let dir: string;
  let caFile: string;
  let server: HttpsServer;
  let origin: string;
  /** Each TLS connection the server accepted: whether it resumed an earlier session. */
  const connections: { resumed: boolean; socket: TLSSocket }[] = [];
  let proxy: HttpServer;
  let proxyUrl: string;
  /** The targets of the CONNECT requests the proxy served. */
  const tunnels: string[] = [];
  const clients: MicrosoftHttp[] = [];
  const client = (options: Parameters<typeof createMicrosoftHttp>[0]) => {
    const http = createMicrosoftHttp(options);
    clients.push(http);
    return http;
  };

  before(async () => {
    const tls = await generateTls('microsoft-http test');
    dir = mkdtempSync(join(tmpdir(), 'microsoft-http-'));
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, tls.cert);
    server = createHttpsServer({ ...tls, keepAliveTimeout: 30_000 }, (req, res) => {
      if (req.url === '/throttled') {
        res.writeHead(429, { 'Retry-After': '7', 'Content-Type': 'application/json' });
        res.end('{"code":"429"}');
        return;
      }
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({ method: req.method, path: req.url, auth: req.headers.authorization }),
      );
    });
    server.on('secureConnection', (socket) => {
      connections.push({ resumed: socket.isSessionReused(), socket });
    });
    origin = `https://localhost:${await listen(server)}`;

    // A forward proxy that only tunnels (CONNECT), as corporate proxies do for https.
    proxy = createHttpServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req, client: Socket, head: Buffer) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await close(server);
    await close(proxy);
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    connections.length = 0;
    tunnels.length = 0;
  });

  it('trusts the extra CA file, and refuses the same server without it', async () => {
    const answer = await client({ extraCaFile: caFile }).request({
      method: 'GET',
      url: `${origin}/v1/customers`,
      headers: { Authorization: 'Bearer t' },
    });
    expect(answer.status).to.equal(200);
    expect(JSON.parse(answer.body)).to.deep.equal({
      method: 'GET',
      path: '/v1/customers',
      auth: 'Bearer t',
    });
    expect(answer.headers['set-cookie']).to.equal('a=1, b=2');
    const refused = await client({})
      .request({ method: 'GET', url: `${origin}/v1/customers` })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(classifyMicrosoftError(refused)).to.include({ kind: 'transient', code: 'unknown' });
  });

  it('keeps its connections for calls in a row, and resumes the TLS session on a new one', async () => {
    const http = client({ extraCaFile: caFile });
    for (let i = 0; i < 20; i++) {
      const answer = await http.request({ method: 'GET', url: `${origin}/v1/customers/${i}` });
      expect(answer.status).to.equal(200);
    }
    // A call made as the previous answer's body ends may find its connection not yet free
    // and open a second one, which resumes the first one's session: never one per call.
    expect(connections.length).to.be.within(1, 2);
    expect(connections.map((c) => c.resumed)).to.deep.equal(connections.map((_, i) => i > 0));
    // The server drops the connections: the next call opens another, resuming the session.
    const before = connections.length;
    for (const c of connections) c.socket.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    const again = await http.request({
      method: 'POST',
      url: `${origin}/organizations/oauth2/v2.0/token`,
      body: 'grant_type=refresh_token',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(again.status).to.equal(200);
    expect(connections.slice(before).map((c) => c.resumed)).to.deep.equal([true]);
  });

  it('gives a non-success answer back as it came, Retry-After included', async () => {
    const answer = await client({ extraCaFile: caFile }).request({
      method: 'GET',
      url: `${origin}/throttled`,
    });
    expect(answer.status).to.equal(429);
    expect(answer.headers['retry-after']).to.equal('7');
    expect(answer.body).to.equal('{"code":"429"}');
  });

  it('goes through HTTPS_PROXY in a CONNECT tunnel, TLS to the server with the extra CA, and past it for NO_PROXY hosts', async () => {
    const proxied = client({ extraCaFile: caFile, proxy: { httpsProxy: proxyUrl } });
    const answer = await proxied.request({ method: 'GET', url: `${origin}/v1/customers` });
    expect(answer.status).to.equal(200);
    expect(tunnels).to.deep.equal([new URL(origin).host]);

    tunnels.length = 0;
    const bypassing = client({
      extraCaFile: caFile,
      proxy: { httpsProxy: proxyUrl, noProxy: 'example.com, .localhost,localhost' },
    });
    expect((await bypassing.request({ method: 'GET', url: `${origin}/v1/x` })).status).to.equal(
      200,
    );
    expect(tunnels).to.deep.equal([]);
  });

  it('picks the proxy as proxy-from-env does', () => {
    const settings = { httpsProxy: 'proxy.example:3128', httpProxy: 'http://plain.example:80' };
    expect(proxyFor('https://login.microsoftonline.com/x', settings)).to.equal(
      'https://proxy.example:3128',
    );
    expect(proxyFor('http://graph.example/x', settings)).to.equal('http://plain.example:80');
    expect(proxyFor('https://a.example/x', { allProxy: 'http://all.example:1' })).to.equal(
      'http://all.example:1',
    );
    const noProxy = (list: string, url: string) =>
      proxyFor(url, { httpsProxy: 'http://p.example:1', noProxy: list });
    expect(noProxy('*', 'https://a.example')).to.equal(undefined);
    expect(noProxy('.microsoft.com', 'https://api.partnercenter.microsoft.com/v1')).to.equal(
      undefined,
    );
    expect(noProxy('*.microsoft.com', 'https://graph.microsoft.com/v1.0')).to.equal(undefined);
    expect(noProxy('graph.microsoft.com:443', 'https://graph.microsoft.com/v1.0')).to.equal(
      undefined,
    );
    expect(noProxy('graph.microsoft.com:8443', 'https://graph.microsoft.com/v1.0')).to.equal(
      'http://p.example:1',
    );
    expect(noProxy('microsoft.com', 'https://graph.microsoft.com/v1.0')).to.equal(
      'http://p.example:1',
    );
  });
});
