import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { consentStarts, validationRequests } from '../../src/server/request-limits.js';
import { consentAttempts, delegatedAdmins, sessions } from '../../src/store/schema.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, csrfOf, loggedIn, testPassword } from '../support/pages.js';

describe('leaks and abuse: logged redirects, sessions before login, repeated clicks', function () {
  this.timeout(60_000);
  let h: Harness;

  before(async () => {
    // No workers: jobs stay where the clicks put them, to be counted.
    h = await startHarness(undefined, {}, { workers: false });
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  /** A fresh partner with a partner user logged in to the pages. */
  async function partnerAndUser(name: string) {
    const partnerId = (await h.runtime.services.partners.create(name, 'test')).id;
    const people = await createPeople(h, partnerId);
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const page = await agent.get(`/partners/${partnerId}/delegated-admin`);
    expect(page.status).to.equal(200);
    return { partnerId, people, agent, csrf: csrfOf(page.text) };
  }

  /** The log lines of requests to `path` (pino-http writes one when a response finishes). */
  const requestLogs = (method: string, path: string) =>
    h.logLines.filter((l) => l.includes(`"method":"${method}"`) && l.includes(`"url":"${path}`));

  it('logs a consent start (pages and API) without its state or nonce', async () => {
    const { partnerId, agent, csrf } = await partnerAndUser('Logged Partner');
    const started = await agent.post(`/partners/${partnerId}/consent`).type('form').send({
      _csrf: csrf,
    });
    expect(started.status).to.equal(303);
    const fromPage = new URL(String(started.headers.location));

    const api = await h.api('post', `/partners/${partnerId}/consents`, { returnTo: '/' });
    expect(api.status).to.equal(201);
    const fromApi = new URL((api.body as { authorizeUrl: string }).authorizeUrl);

    const pageLog = requestLogs('POST', `/partners/${partnerId}/consent`);
    expect(pageLog, 'the redirect was logged').to.have.length(1);
    expect(pageLog[0]).to.contain('"location":"https://');
    expect(pageLog[0]).to.contain('state=[REDACTED]');
    expect(requestLogs('POST', `/api/v1/partners/${partnerId}/consents`)).to.have.length(1);
    const logs = h.logLines.join('');
    for (const url of [fromPage, fromApi]) {
      for (const param of ['state', 'nonce']) {
        const value = url.searchParams.get(param);
        expect(value, `${param} in the authorize URL`).to.be.a('string').and.not.empty;
        expect(logs).to.not.contain(value!);
        expect(logs).to.not.contain(encodeURIComponent(value!));
      }
    }
  });

  it('stores no session for the login form or a failed login, only for a login', async () => {
    const { people } = await partnerAndUser('Session Partner');
    const before = await h.runtime.store.db.$count(sessions);
    const browser = request.agent(h.app);
    const form = await browser.get('/login');
    expect(form.status).to.equal(200);
    expect(String(form.headers['set-cookie'])).to.not.contain('ls.sid=');
    const failed = await browser
      .post('/login')
      .type('form')
      .send({ _csrf: csrfOf(form.text), email: people.partnerUser!.email, password: 'wrong' });
    expect(failed.status).to.equal(401);
    const again = await browser.get('/login');
    expect(again.status).to.equal(200);
    expect(await h.runtime.store.db.$count(sessions)).to.equal(before);

    // The form's token is still checked: another site's form (no cookie, or a made-up
    // token) is refused before the password is looked at.
    const forged = await request(h.app)
      .post('/login')
      .type('form')
      .send({ _csrf: csrfOf(form.text), email: people.partnerUser!.email, password: testPassword });
    expect(forged.status).to.equal(403);
    const madeUp = await browser
      .post('/login')
      .type('form')
      .send({ _csrf: 'x.y', email: people.partnerUser!.email, password: testPassword });
    expect(madeUp.status).to.equal(403);
    expect(await h.runtime.store.db.$count(sessions)).to.equal(before);

    const ok = await browser
      .post('/login')
      .type('form')
      .send({
        _csrf: csrfOf(again.text),
        email: people.partnerUser!.email,
        password: testPassword,
      });
    expect(ok.status).to.equal(303);
    expect(String(ok.headers['set-cookie'])).to.match(/ls\.sid=.*HttpOnly.*SameSite=Lax/i);
    expect(await h.runtime.store.db.$count(sessions)).to.equal(before + 1);
  });

  /** Validation jobs of the partner waiting, delayed or running. */
  const pendingValidations = async (partnerId: string) =>
    (
      await h.runtime.queues.get('refresh').getJobs(['waiting', 'delayed', 'active', 'prioritized'])
    ).filter((j) => j.name === 'validateCustomLicenseToken' && j.data.partnerId === partnerId);

  it('50 rapid clicks on "validate custom-license token" make one validation job; clicks past the budget get a 429', async () => {
    const { partnerId, agent, csrf } = await partnerAndUser('Clicking Partner');
    const clicks = await Promise.all(
      Array.from({ length: 50 }, () =>
        agent
          .post(`/partners/${partnerId}/custom-license-token/validate`)
          .type('form')
          .send({ _csrf: csrf }),
      ),
    );
    const statuses = clicks.map((c) => c.status).sort();
    expect(statuses).to.deep.equal([
      ...new Array(validationRequests.limit).fill(303),
      ...new Array(50 - validationRequests.limit).fill(429),
    ]);
    expect(clicks.find((c) => c.status === 429)?.text).to.contain('Too many validations');
    expect(await pendingValidations(partnerId)).to.have.length(1);
  });

  it('50 rapid validate requests through the API make one validation job, each told its id', async () => {
    const partnerId = (await h.runtime.services.partners.create('API Partner', 'test')).id;
    // A token in use (the validation never runs here: no workers).
    await h.runtime.store.db.insert(delegatedAdmins).values({
      partnerId,
      kind: 'custom_license',
      username: 'billing@api-partner.example',
      domain: 'api-partner.example',
      status: 'active',
      consentedAt: new Date(),
      createdBy: 'test',
    });
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        h.api('post', `/partners/${partnerId}/custom-license-token/validate`),
      ),
    );
    expect(answers.map((a) => a.status)).to.deep.equal(new Array(50).fill(202));
    const jobs = await pendingValidations(partnerId);
    expect(jobs).to.have.length(1);
    expect(new Set(answers.map((a) => (a.body as { jobId: string }).jobId))).to.deep.equal(
      new Set([jobs[0]!.id]),
    );
  });

  const attemptsOf = (partnerId: string) =>
    h.runtime.store.db.$count(consentAttempts, eq(consentAttempts.partnerId, partnerId));

  it('limits consent starts per user on the pages: beyond the limit a 429 page, and no attempt', async () => {
    const { partnerId, agent, csrf } = await partnerAndUser('Starting Partner');
    const statuses: number[] = [];
    for (let i = 0; i < consentStarts.limit + 3; i++) {
      const kind = i % 2 ? 'custom-license-token/consent' : 'consent';
      const res = await agent.post(`/partners/${partnerId}/${kind}`).type('form').send({
        _csrf: csrf,
      });
      statuses.push(res.status);
      if (res.status === 429) expect(res.text).to.contain('Too many consents started');
    }
    expect(statuses).to.deep.equal([
      ...new Array(consentStarts.limit).fill(303),
      ...new Array(3).fill(429),
    ]);
    expect(await attemptsOf(partnerId)).to.equal(consentStarts.limit);
  });

  it('limits consent starts per partner through the API: beyond the limit a 429, and no attempt', async () => {
    const partnerId = (await h.runtime.services.partners.create('Busy API Partner', 'test')).id;
    const other = (await h.runtime.services.partners.create('Quiet API Partner', 'test')).id;
    const statuses: number[] = [];
    for (let i = 0; i < consentStarts.limit + 3; i++) {
      const path = i % 2 ? 'custom-license-token/consents' : 'consents';
      const res = await h.api('post', `/partners/${partnerId}/${path}`, { returnTo: '/' });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.body).to.deep.include({
          error: {
            code: 'rate_limited',
            message: 'Too many consents started. Wait 15 minutes, then start again.',
          },
        });
      }
    }
    expect(statuses).to.deep.equal([
      ...new Array(consentStarts.limit).fill(201),
      ...new Array(3).fill(429),
    ]);
    expect(await attemptsOf(partnerId)).to.equal(consentStarts.limit);
    // Another partner's budget is its own.
    expect((await h.api('post', `/partners/${other}/consents`, { returnTo: '/' })).status).to.equal(
      201,
    );
  });
});
