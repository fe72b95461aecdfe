import { expect } from 'chai';
import request from 'supertest';
import { loadConfig } from '../../config/index.js';
import { createApp } from '../../src/server/app.js';
import { testScenario } from '../support/emulator.js';
import { adminAuth, publicUrl, startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, loggedIn } from '../support/pages.js';

/** A Content-Security-Policy header as directive → sources. */
function policyOf(res: request.Response): Record<string, string[]> {
  const header = res.headers['content-security-policy'];
  expect(header, 'a Content-Security-Policy header').to.be.a('string');
  return Object.fromEntries(
    String(header)
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...sources]) => [name!, sources]),
  );
}

/** The headers every answer carries, whatever it is. */
function expectBaseline(res: request.Response, what: string) {
  expect(res.headers['x-content-type-options'], what).to.equal('nosniff');
  expect(res.headers['referrer-policy'], what).to.equal('no-referrer');
  expect(res.headers['cache-control'], what).to.equal('no-store');
  expect(res.headers['x-frame-options'], what).to.equal('DENY');
  // Outside production the service is plain http: no HSTS.
  expect(res.headers['strict-transport-security'], what).to.equal(undefined);
}

describe('security headers on pages, the API, the callback and the dashboard', function () {
  this.timeout(60_000);
  let h: Harness;
  let partnerId: string;
  let people: Awaited<ReturnType<typeof createPeople>>;

  before(async () => {
    h = await startHarness(testScenario(), {}, { workers: false });
    partnerId = (await h.runtime.services.partners.create('Headers Partner', 'test')).id;
    people = await createPeople(h, partnerId);
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  it('gives the pages a script-free CSP that lets the consent form reach Microsoft, and no caching', async () => {
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const page = await agent.get(`/partners/${partnerId}/delegated-admin`).expect(200);
    expectBaseline(page, 'the Delegated Admin page');
    expect(policyOf(page)).to.deep.equal({
      'default-src': ["'none'"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'form-action': ["'self'", h.emulator.url],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'none'"],
    });
    const login = await request(h.app).get('/login').expect(200);
    expectBaseline(login, 'the login page');
    // The stylesheet alone may be cached.
    const css = await request(h.app).get('/static/style.css').expect(200);
    expect(css.headers['cache-control']).to.equal('public, max-age=3600');
  });

  it('answers the API and the consent callback without caching or a Referer', async () => {
    const api = await request(h.app).get('/api/v1/partners').set(adminAuth).expect(200);
    expectBaseline(api, 'an API answer');
    expect(policyOf(api)['default-src']).to.deep.equal(["'none'"]);

    const started = await h.api('post', `/partners/${partnerId}/consents`, {
      returnTo: '/company/delegated-admin',
      loginHint: 'admin@first.example',
    });
    expect(started.status).to.equal(201);
    expectBaseline(started, 'an API answer that creates');
    const atMicrosoft = await h.emulator.http.get(started.body.authorizeUrl as string);
    const location = new URL(String(atMicrosoft.headers.location));
    expect(location.origin).to.equal(publicUrl);
    const callback = await request(h.app).get(location.pathname + location.search);
    expect(callback.status).to.equal(303);
    expectBaseline(callback, 'the callback');
    const refused = await request(h.app).get('/auth/callback?code=x&state=unknown');
    expect(refused.status).to.be.within(400, 499);
    expectBaseline(refused, "the callback's error page");
    expect(policyOf(refused)['style-src']).to.deep.equal(["'self'"]);
    expect(refused.text).to.contain('href="/static/style.css"');
  });

  it("gives Bull Board the CSP its UI needs, and nothing beyond its own origin's scripts", async () => {
    const board = await request(h.app).get('/admin/queues').set(adminAuth).expect(200);
    expectBaseline(board, 'Bull Board');
    const policy = policyOf(board);
    expect(policy['script-src']).to.deep.equal(["'self'"]);
    expect(policy['connect-src']).to.deep.equal(["'self'"]);
    expect(policy['frame-ancestors']).to.deep.equal(["'none'"]);
    expect(policy['default-src']).to.deep.equal(["'none'"]);
  });

  it('sends HSTS in production only, and asks browsers to upgrade plain requests there', async () => {
    const production = createApp({
      ...h.runtime,
      config: loadConfig({ ...h.env, NODE_ENV: 'production', PUBLIC_URL: 'https://sync.example' })
        .config,
    });
    const login = await request(production).get('/login').expect(200);
    expect(login.headers['strict-transport-security']).to.equal(
      'max-age=31536000; includeSubDomains',
    );
    expect(policyOf(login)).to.have.property('upgrade-insecure-requests');
  });
});
