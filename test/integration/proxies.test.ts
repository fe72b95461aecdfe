import { createServer, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import { expect } from 'chai';
import type { Express } from 'express';
import request from 'supertest';
import { loadConfig } from '../../config/index.js';
import { createApp } from '../../src/server/app.js';
import { testScenario } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, csrfOf, testPassword } from '../support/pages.js';

/**
 * An address of this machine other than loopback: a proxy on another host connects from
 * such an address, and loopback is what the service used to trust without being told.
 */
function nonLoopbackAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (!address) throw new Error('this machine has no non-loopback IPv4 address to test from');
  return address;
}

/** The app listening on a non-loopback address, as a proxy on another host reaches it. */
async function listenOffLoopback(app: Express): Promise<{ url: string; server: Server }> {
  const host = nonLoopbackAddress();
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://${host}:${port}`, server };
}

/** The session cookie (name=value) a response set, if any. */
function sessionCookie(res: request.Response): string | undefined {
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return cookies.find((c) => c.startsWith('ls.sid='));
}

describe('behind proxies: TRUST_PROXY, client addresses and login limits', function () {
  this.timeout(60_000);
  let h: Harness;
  let people: Awaited<ReturnType<typeof createPeople>>;
  let partnerId: string;
  const servers: Server[] = [];

  /** The app as configured with `env` on top of the harness's environment. */
  const appWith = (env: Record<string, string>) =>
    createApp({ ...h.runtime, config: loadConfig({ ...h.env, ...env }).config });

  before(async () => {
    h = await startHarness(testScenario(), {}, { workers: false });
    partnerId = (await h.runtime.services.partners.create('Proxied Partner', 'test')).id;
    people = await createPeople(h, partnerId);
  });
  after(async function () {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    await h?.close(suiteFailed(this));
  });

  /** One login through `client` from the address the proxy names. */
  async function logIn(
    client: ReturnType<typeof request.agent>,
    forwardedFor: string,
    email: string,
    password: string,
  ) {
    const form = await client.get('/login').set('X-Forwarded-For', forwardedFor);
    return client
      .post('/login')
      .set('X-Forwarded-For', forwardedFor)
      .type('form')
      .send({ _csrf: csrfOf(form.text), email, password });
  }

  it('without TRUST_PROXY, a rotating X-Forwarded-For does not escape the per-address login limit', async () => {
    const client = request.agent(h.app);
    const statuses: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const res = await logIn(client, `198.51.100.${i}`, `nobody-${i}@else.example`, 'wrong');
      statuses.push(res.status);
    }
    expect(statuses).to.deep.equal(new Array(10).fill(401));
    const limited = await logIn(client, '198.51.100.99', people.operator.email, testPassword);
    expect(limited.status).to.equal(429);
    expect(limited.text).to.contain('Too many login attempts');
  });

  it('with TRUST_PROXY=1, takes the client address from X-Forwarded-For and sets the Secure cookie behind an https proxy', async () => {
    const { url, server } = await listenOffLoopback(
      appWith({ TRUST_PROXY: '1', PUBLIC_URL: 'https://sync.example' }),
    );
    servers.push(server);
    /** A login through a proxy (https-terminating by default) that names the client's address. */
    const proxiedLogin = async (
      client: string,
      email: string,
      password: string,
      proto: 'https' | 'http' = 'https',
    ) => {
      const proxy = { 'X-Forwarded-For': client, 'X-Forwarded-Proto': proto };
      const form = await request(url).get('/login').set(proxy);
      const formCookie = ([] as string[])
        .concat(form.headers['set-cookie'] ?? [])
        .find((c) => /^(__Host-)?ls\.login=/.test(c));
      expect(formCookie, "the login form's cookie").to.be.a('string');
      const res = await request(url)
        .post('/login')
        .set(proxy)
        .set('Cookie', formCookie!.split(';')[0]!)
        .type('form')
        .send({ _csrf: csrfOf(form.text), email, password });
      return { cookie: sessionCookie(res), res };
    };

    // The proxy terminated https: the session cookie is Secure, and a login works.
    const login = await proxiedLogin('203.0.113.7', people.partnerUser!.email, testPassword);
    expect(login.cookie).to.match(/;\s*Secure/i);
    expect(login.res.status).to.equal(303);
    const home = await request(url)
      .get('/')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', login.cookie!.split(';')[0]!);
    expect(home.headers.location).to.equal(`/partners/${partnerId}/delegated-admin`);
    // Plain http reaching the service is not given the https-only session cookie.
    const plain = await proxiedLogin(
      '203.0.113.7',
      people.partnerUser!.email,
      testPassword,
      'http',
    );
    expect(plain.cookie).to.equal(undefined);

    // Ten failures from one client address limit that address, not the proxy's others.
    for (let i = 1; i <= 10; i++) {
      const { res } = await proxiedLogin('203.0.113.8', `nobody-${i}@proxied.example`, 'wrong');
      expect(res.status, `failed login ${i}`).to.equal(401);
    }
    const limited = await proxiedLogin('203.0.113.8', people.operator.email, testPassword);
    expect(limited.res.status).to.equal(429);
    const fine = await proxiedLogin('203.0.113.9', people.operator.email, testPassword);
    expect(fine.res.status).to.equal(303);
  });

  it('limits failed logins per account across rotating client addresses', async () => {
    const app = appWith({ TRUST_PROXY: '1' });
    const { partnerUser: target } = await createPeople(h, partnerId);
    const statuses: number[] = [];
    for (let i = 1; i <= 10; i++) {
      // Differently written, the same account.
      const email = i % 2 ? target!.email.toUpperCase() : ` ${target!.email}`;
      statuses.push(
        (await logIn(request.agent(app), `203.0.113.${20 + i}`, email, 'wrong')).status,
      );
    }
    expect(statuses).to.deep.equal(new Array(10).fill(401));
    const limited = await logIn(request.agent(app), '203.0.113.50', target!.email, testPassword);
    expect(limited.status).to.equal(429);
    expect(limited.text).to.contain('Too many failed logins for this account');
    // Another account, from an address that took part, is not held back.
    const other = await logIn(
      request.agent(app),
      '203.0.113.21',
      people.operator.email,
      testPassword,
    );
    expect(other.status).to.equal(303);
  });
});
