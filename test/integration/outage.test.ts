import { createHmac } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { UnrecoverableError, Worker } from 'bullmq';
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { jobIds, retryDelay } from '../../src/queue/catalog.js';
import { createWorkerConnection } from '../../src/queue/connections.js';
import { consentAttempts } from '../../src/store/schema.js';
import { abandonedExchangeMessage } from '../../jobs/reconcile.js';
import { runWorkers, type RunningWorkers } from '../../workers/run.js';
import { startPrivatePostgres, type PrivatePostgres } from '../chaos/postgres.js';
import { testSecrets } from '../support/config.js';
import { publicUrl, releaseTenants, startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { within } from '../support/within.js';

// The longest an exchange job retries before failing, were every attempt spent on the outage:
// its backoff at the full (jitter-free) delay after each of its 3 failed attempts.
const exchangeRetryBudgetMs = [1, 2, 3].reduce(
  (sum, made) => sum + retryDelay('exchangeConsentCode', made, 1),
  0,
);

/** The pages' session cookie for `sessionId`, signed as express-session signs it. */
function signedSessionCookie(sessionId: string): string {
  const signature = createHmac('sha256', testSecrets.SESSION_SECRET)
    .update(sessionId)
    .digest('base64')
    .replace(/=+$/, '');
  return encodeURIComponent(`s:${sessionId}.${signature}`);
}

async function startConsent(
  h: Harness,
  partnerId: string,
): Promise<{ attemptId: string; callback: string }> {
  const started = await h.api('post', `/partners/${partnerId}/consents`, {
    returnTo: '/company/delegated-admin',
    loginHint: 'admin@first.example',
  });
  expect(started.status).to.equal(201);
  const { attemptId, authorizeUrl } = started.body as { attemptId: string; authorizeUrl: string };
  const atMicrosoft = await h.emulator.http.get(authorizeUrl);
  expect(atMicrosoft.status).to.equal(302);
  const location = new URL(String(atMicrosoft.headers.location));
  expect(location.origin + location.pathname).to.equal(`${publicUrl}/auth/callback`);
  return { attemptId, callback: location.pathname + location.search };
}

describe('a PostgreSQL outage during a consent', function () {
  this.timeout(90_000);
  let pg: PrivatePostgres;
  let h: Harness;
  let workers: RunningWorkers | undefined;

  before(async () => {
    pg = await startPrivatePostgres();
    // Workers start once the database is down, so the exchange runs during the outage.
    h = await startHarness(undefined, { DATABASE_URL: pg.url }, { workers: false });
  });
  after(async function () {
    await workers?.close(1_000);
    await h?.close(suiteFailed(this));
    await pg?.up().catch(() => {});
    if (!suiteFailed(this)) await pg?.stop();
  });
  // Each test consents from the same tenant, and starts the workers when it needs them.
  beforeEach(() => releaseTenants(h));
  afterEach(async () => {
    await workers?.close(1_000);
    workers = undefined;
  });

  it('outlasting every attempt of the exchange, loses no consent; a callback meanwhile gets a 503 page and works when reloaded', async () => {
    const partner = (await h.api('post', '/partners', { name: 'Outage Partner' })).body as {
      id: string;
    };
    const first = await startConsent(h, partner.id);
    const back = await request(h.app).get(first.callback);
    expect(back.status).to.equal(303);
    const second = await startConsent(h, partner.id);

    const consent = h.events('consent');
    const exchangeId = jobIds.exchangeConsentCode(first.attemptId);
    let starts = 0;
    let failure: string | undefined;
    let onStart = () => {};
    let onFailed = () => {};
    // Resolves once the job was started `count` times; rejects if it fails meanwhile.
    const started = (count: number) =>
      new Promise<void>((resolve, reject) => {
        onStart = () => (starts >= count ? resolve() : undefined);
        onFailed = () => reject(new Error(`the exchange job failed in the outage: ${failure}`));
      });
    consent.on('active', ({ jobId }) => {
      if (jobId !== exchangeId) return;
      starts += 1;
      onStart();
    });
    consent.on('failed', ({ jobId, failedReason }) => {
      if (jobId !== exchangeId) return;
      failure = failedReason;
      onFailed();
    });

    await pg.down();
    const outageStarted = Date.now();
    try {
      const during = await request(h.app).get(second.callback);
      expect(during.status).to.equal(503);
      expect(during.headers['content-type']).to.match(/^text\/html/);
      expect(during.text).to.contain('try again in a moment');
      expect(during.text).to.contain('reload this page');
      // A browser that started the consent on the pages comes back with its session cookie,
      // whose lookup is the first query to fail.
      const withSession = await request(h.app)
        .get(second.callback)
        .set('Cookie', `ls.sid=${signedSessionCookie('a-session-of-the-pages')}`);
      expect(withSession.status).to.equal(503);
      expect(withSession.headers['content-type']).to.match(/^text\/html/);
      expect(withSession.text).to.contain('try again in a moment');

      workers = runWorkers(h.runtime);
      // More starts than the job has attempts, and longer than all its retries would last.
      await within(60_000, 'five starts of the exchange job', started(5));
      const remaining = exchangeRetryBudgetMs + 1_000 - (Date.now() - outageStarted);
      if (remaining > 0) await delay(remaining); // the outage itself, not a wait for a result
    } finally {
      await pg.up();
    }

    const outcome = await within(
      60_000,
      'the exchange to finish after the outage',
      h.finished('consent', exchangeId),
    );
    expect(outcome, failure).to.include({ outcome: 'completed' });
    const again = await request(h.app).get(second.callback);
    expect(again.status).to.equal(303);
    expect(again.headers.location).to.contain(`consent=pending&attempt=${second.attemptId}`);
    const secondOutcome = await within(
      30_000,
      'the exchange of the reloaded callback',
      h.finished('consent', jobIds.exchangeConsentCode(second.attemptId)),
    );
    expect(secondOutcome).to.include({ outcome: 'completed' });
    const status = (await h.api('get', `/partners/${partner.id}/delegated-admin`)).body as {
      model: string;
      attempt: { id: string; status: string } | null;
    };
    expect(status.model).to.equal('sam');
    expect(status.attempt).to.include({ id: second.attemptId, status: 'completed' });
  });

  it('going down while the code is redeemed, loses neither the tokens nor the consent', async () => {
    workers = runWorkers(h.runtime);
    const partner = (await h.api('post', '/partners', { name: 'Redeeming Partner' })).body as {
      id: string;
    };
    // The token request is held at Microsoft long enough to stop the database meanwhile.
    const state = h.emulator.state;
    state.addFault({ method: 'POST', path: '/*/oauth2/v2.0/token', delayMs: 3_000, count: 1 });
    const takeFault = state.takeFault.bind(state);
    let tokenRequested!: () => void;
    const redeeming = new Promise<void>((resolve) => (tokenRequested = resolve));
    state.takeFault = (method, path) => {
      const fault = takeFault(method, path);
      if (fault && path.endsWith('/oauth2/v2.0/token')) tokenRequested();
      return fault;
    };
    const record = state.record.bind(state);
    let tokenAnswered!: () => void;
    const redeemed = new Promise<void>((resolve) => (tokenAnswered = resolve));
    state.record = (entry) => {
      record(entry);
      if (entry.path.endsWith('/oauth2/v2.0/token') && entry.status === 200) tokenAnswered();
    };
    try {
      const { attemptId, callback } = await startConsent(h, partner.id);
      expect((await request(h.app).get(callback)).status).to.equal(303);
      await within(20_000, 'the exchange to redeem the code', redeeming);
      await pg.down();
      try {
        await within(20_000, 'Microsoft to answer with the tokens', redeemed);
        await delay(2_000); // the outage itself, not a wait for a result
      } finally {
        await pg.up();
      }
      const outcome = await within(
        60_000,
        'the exchange to finish after the outage',
        h.finished('consent', jobIds.exchangeConsentCode(attemptId)),
      );
      expect(outcome).to.include({ outcome: 'completed' });
    } finally {
      state.takeFault = takeFault;
      state.record = record;
    }
  });
});

describe('reconciler: a consent whose exchange job failed', function () {
  this.timeout(60_000);
  let h: Harness;
  let workers: RunningWorkers | undefined;

  before(async () => {
    h = await startHarness(undefined, {}, { workers: false });
  });
  after(async function () {
    await workers?.close(1_000);
    await h?.close(suiteFailed(this));
  });

  it('fails the attempt with a sentence, so the page stops waiting', async () => {
    const partner = (await h.api('post', '/partners', { name: 'Stuck Partner' })).body as {
      id: string;
    };
    const { attemptId, callback } = await startConsent(h, partner.id);
    expect((await request(h.app).get(callback)).status).to.equal(303);
    // The exchange job ends failed without touching the attempt (as a crash loop would).
    const exchangeId = jobIds.exchangeConsentCode(attemptId);
    const connection = createWorkerConnection(h.runtime.config.redisUrl);
    const crashing = new Worker(
      'consent',
      () => Promise.reject(new UnrecoverableError('the process died on this job')),
      { connection, prefix: h.prefix },
    );
    try {
      await within(
        20_000,
        'the exchange job to fail',
        new Promise<void>((resolve) => {
          crashing.on('failed', (job) => (job?.id === exchangeId ? resolve() : undefined));
        }),
      );
    } finally {
      await crashing.close();
      connection.disconnect();
    }
    // As if the callback came a minute ago: past the reconciler's grace period.
    await h.runtime.store.db
      .update(consentAttempts)
      .set({ receivedAt: new Date(Date.now() - 60_000) })
      .where(eq(consentAttempts.id, attemptId));

    workers = runWorkers(h.runtime);
    const reconcile = await h.runtime.queues.enqueue(
      'reconcile',
      {},
      { jobId: `reconcile-test-${attemptId}` },
    );
    const summary = await within(
      30_000,
      'the reconciler',
      h.finished('maintenance', reconcile.id!),
    );
    const status = (await h.api('get', `/partners/${partner.id}/delegated-admin`)).body as {
      attempt: { id: string; status: string; message: string | null } | null;
    };
    expect(status.attempt).to.deep.include({
      id: attemptId,
      status: 'failed',
      message: abandonedExchangeMessage,
    });
    expect(summary).to.include({ abandonedExchanges: 1 });
  });
});
