import { UnrecoverableError, Worker } from 'bullmq';
import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import request from 'supertest';
import { exchangeConsentCode } from '../../jobs/exchange-consent-code.js';
import type { JobDeps } from '../../jobs/deps.js';
import { reconcile } from '../../jobs/reconcile.js';
import { refreshCustomer } from '../../jobs/refresh-customer.js';
import { refreshPartner } from '../../jobs/refresh-partner.js';
import { MicrosoftError } from '../../src/microsoft/errors.js';
import { ProgrammingError } from '../../src/programming-error.js';
import { jobIds } from '../../src/queue/catalog.js';
import { createWorkerConnection } from '../../src/queue/connections.js';
import { enqueuePendingTenants } from '../../src/queue/refresh-work.js';
import { refreshResults } from '../../src/store/schema.js';
import { runWorkers } from '../../workers/run.js';
import { lapseClaimOnceTaken } from '../support/claims.js';
import { publicUrl, startHarness, type Harness } from '../support/harness.js';
import {
  RetryAfterRequested,
  testJobContext,
  testJobDeps,
  type TestJobContextOptions,
  type TestJobDeps,
} from '../support/job-context.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { within } from '../support/within.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
const admin = 'admin@first.example';

// Processors called directly, one execution at a time, with the context a worker would give
// them: what each failure of Microsoft leaves behind for the partner, and whether the job is
// retried, put back or ended, without racing a queue.
describe('processors meeting failures, called directly', function () {
  this.timeout(60_000);
  let h: Harness;
  let partnerId: string;
  let tenants: { customerTenantId: string; companyId: string }[];
  const companyNames = new Map<string, string>();
  let jobDeps: TestJobDeps;
  let deps: JobDeps;

  before(async () => {
    // A pace no test waits for: each test's calls are its own, whatever ran before it.
    h = await startHarness(
      undefined,
      { PARTNER_CENTER_REQUESTS_PER_SECOND: '1000' },
      { workers: false },
    );
    partnerId = (
      (await h.api('post', '/partners', { name: 'Direct Partner' })).body as { id: string }
    ).id;
    const customers = h.emulator.state.directory.partner(partnerTenant)!.customers.slice(0, 3);
    tenants = [];
    for (const c of customers) {
      const company = await h.api('post', `/partners/${partnerId}/companies`, {
        name: c.name,
        customerTenantId: c.tenantId,
      });
      expect(company.status, company.text).to.equal(201);
      companyNames.set(c.tenantId, c.name);
      tenants.push({
        customerTenantId: c.tenantId,
        companyId: (company.body as { id: string }).id,
      });
    }
    jobDeps = testJobDeps(h.runtime);
    deps = jobDeps.deps;
  });
  after(async function () {
    await jobDeps?.close();
    await h?.close(suiteFailed(this));
  });

  afterEach(async () => {
    await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    // A test leaves its run open; the next one opens its own.
    const open = await h.runtime.services.runs.latest(partnerId);
    if (open?.status === 'running') await h.runtime.services.runs.stop(open.id, 'test ended');
  });

  /** An active consent (a test may have ended the last one): workers run only for the grant. */
  async function consented(): Promise<string> {
    const active = await h.runtime.services.partners.activeConsent(partnerId);
    if (active) return active.id;
    const workers = runWorkers(h.runtime);
    try {
      await workers.scheduled;
      const granted = await within(30_000, 'the consent', h.grant(partnerId, admin));
      expect(granted.outcome.outcome).to.equal('completed');
      const initial = await h.runtime.services.runs.latest(partnerId);
      await within(30_000, 'the initial refresh', h.runEnded(initial!.id));
    } finally {
      await workers.close(1_000);
    }
    return (await h.runtime.services.partners.activeConsent(partnerId))!.id;
  }

  /** A run of the three customers whose jobs nobody queued: the test runs them itself. */
  async function openRun(): Promise<string> {
    const { run, deduplicated } = await h.runtime.services.runs.start(partnerId, 'manual');
    expect(deduplicated, 'a run was still open').to.equal(false);
    await h.runtime.services.runs.addTenants(run.id, tenants);
    return run.id;
  }

  function customerJob(
    runId: string,
    customerTenantId: string,
    options: Partial<TestJobContextOptions> = {},
    withDeps: JobDeps = deps,
  ) {
    const ctx = testJobContext({
      jobId: jobIds.refreshCustomer(runId, customerTenantId),
      log: h.runtime.log,
      ...options,
    });
    return { ctx, outcome: refreshCustomer({ runId, customerTenantId }, withDeps, ctx) };
  }

  async function resultOf(runId: string, customerTenantId: string) {
    const [row] = await h.runtime.store.db
      .select({
        status: refreshResults.status,
        attempts: refreshResults.attempts,
        classification: refreshResults.classification,
        errorCode: refreshResults.errorCode,
        errorMessage: refreshResults.errorMessage,
      })
      .from(refreshResults)
      .where(
        and(eq(refreshResults.runId, runId), eq(refreshResults.customerTenantId, customerTenantId)),
      );
    return row!;
  }

  async function runOf(runId: string) {
    const run = (await h.runtime.services.runs.progress(runId))!;
    return { status: run.status, succeeded: run.succeeded, failed: run.failed, error: run.error };
  }

  const lastRequest = () => h.emulator.state.log.at(-1)?.id ?? 0;

  const pending = {
    status: 'pending',
    attempts: 0,
    classification: null,
    errorCode: null,
    errorMessage: null,
  };

  it('Partner Center answering 503 before the last attempt: the job throws to be retried and the customer stays pending', async () => {
    await consented();
    const runId = await openRun();
    const tenant = tenants[0]!.customerTenantId;
    h.emulator.state.addFault({
      path: `/v1/customers/${tenant}/subscribedskus`,
      status: 503,
      count: 1,
    });
    const { outcome } = customerJob(runId, tenant, { attemptsMade: 2 });
    const error = await outcome.then(
      () => expect.fail('the job should have thrown'),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(MicrosoftError);
    expect((error as MicrosoftError).failure).to.include({ kind: 'transient', code: '503' });
    expect(await resultOf(runId, tenant)).to.deep.equal(pending);
    expect(await runOf(runId)).to.include({ status: 'running', succeeded: 0, failed: 0 });
  });

  it('Partner Center answering 503 on the last attempt: the customer is failed with a sentence that promises no retry, and the run completes', async () => {
    await consented();
    const runId = await openRun();
    const [first, second, last] = tenants.map((t) => t.customerTenantId);
    expect(await customerJob(runId, first!).outcome).to.equal('succeeded');
    expect(await customerJob(runId, second!).outcome).to.equal('succeeded');
    h.emulator.state.addFault({
      path: `/v1/customers/${last}/subscriptions`,
      status: 503,
      count: 1,
    });
    const { outcome } = customerJob(runId, last!, { attemptsMade: 9, finalAttempt: true });
    expect(await outcome).to.equal('failed');
    const failed = await resultOf(runId, last!);
    // Not "retrying": nothing retries this customer any more but the partner.
    expect(failed).to.deep.equal({
      status: 'failed',
      attempts: 10,
      classification: 'transient',
      errorCode: '503',
      errorMessage: 'Partner Center failed on every attempt (503). Retry this customer.',
    });
    expect(await runOf(runId)).to.include({ status: 'completed', succeeded: 2, failed: 1 });
    // What the partner reads in the list of failed customers.
    const listed = (await h.api('get', `/partners/${partnerId}/refresh-failures`)).body as {
      runId: string;
      failures: { customerTenantId: string; error: string; attempts: number }[];
    };
    expect(listed.runId).to.equal(runId);
    expect(listed.failures).to.deep.equal([
      { ...listed.failures[0], customerTenantId: last, error: failed.errorMessage, attempts: 10 },
    ]);
  });

  it('a 429 with Retry-After puts the job back for that long and records nothing', async () => {
    await consented();
    const runId = await openRun();
    const tenant = tenants[1]!.customerTenantId;
    h.emulator.state.addFault({
      path: `/v1/customers/${tenant}/subscribedskus`,
      status: 429,
      retryAfterSec: 7,
      count: 1,
    });
    const { ctx, outcome } = customerJob(runId, tenant);
    const error = await outcome.then(
      () => expect.fail('the job should have been put back'),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(RetryAfterRequested);
    expect(ctx.retryAfterCalls).to.have.length(1);
    // Microsoft's delay, plus up to a second of jitter.
    expect(ctx.retryAfterCalls[0]).to.be.within(7_000, 8_000);
    expect(await resultOf(runId, tenant)).to.deep.equal(pending);
    expect(await runOf(runId)).to.include({ status: 'running', succeeded: 0, failed: 0 });
  });

  it("Partner Center refusing the consent's token stops the partner: consent to renew, run stopped, the other customers end without calling Microsoft", async () => {
    const consentId = await consented();
    const runId = await openRun();
    const [refused, ...others] = tenants.map((t) => t.customerTenantId);
    h.emulator.state.addFault({
      path: `/v1/customers/${refused}/subscribedskus`,
      status: 401,
      count: 1,
    });
    expect(await customerJob(runId, refused!).outcome).to.equal('failed');
    const sentence =
      "Partner Center refused the consent's token. Grant Partner Center consent again.";
    expect(await resultOf(runId, refused!)).to.include({
      status: 'failed',
      classification: 'needs_reconsent',
      errorCode: '401',
      errorMessage: sentence,
    });
    const consent = await h.runtime.services.consents.get(consentId);
    expect(consent).to.include({ status: 'needs_reconsent', nextAction: sentence });
    expect(await runOf(runId)).to.include({ status: 'stopped', error: sentence, failed: 1 });

    const since = lastRequest();
    for (const tenant of others) {
      expect(await customerJob(runId, tenant).outcome).to.equal('failed');
      expect(await resultOf(runId, tenant)).to.include({
        status: 'failed',
        errorCode: 'run_stopped',
        errorMessage: sentence,
      });
    }
    expect(lastRequest(), 'requests to Microsoft after the stop').to.equal(since);
    // Every customer has an outcome now, and the run still says it stopped.
    expect(await runOf(runId)).to.include({ status: 'stopped', succeeded: 0, failed: 3 });
  });

  it('a customer job of a run stopped for another reason ends without calling Microsoft', async () => {
    await consented();
    const runId = await openRun();
    await h.runtime.services.runs.stop(runId, 'Partner Center could not list the customers.');
    const tenant = tenants[2]!.customerTenantId;
    const since = lastRequest();
    expect(await customerJob(runId, tenant).outcome).to.equal('failed');
    expect(lastRequest(), 'requests to Microsoft').to.equal(since);
    expect(await resultOf(runId, tenant)).to.include({
      status: 'failed',
      errorCode: 'run_stopped',
      errorMessage: 'Partner Center could not list the customers.',
    });
    expect(await runOf(runId)).to.include({ status: 'stopped', failed: 1 });
  });

  it('a bug meeting a Partner Center answer is thrown as a ProgrammingError and records nothing', async () => {
    await consented();
    const runId = await openRun();
    const tenant = tenants[0]!.customerTenantId;
    const partnerCenter = deps.partnerCenter;
    const buggy: JobDeps = {
      ...deps,
      partnerCenter: Object.assign(Object.create(partnerCenter) as typeof partnerCenter, {
        get: () =>
          Promise.reject(new TypeError("Cannot read properties of undefined (reading 'items')")),
      }),
    };
    const error = await customerJob(runId, tenant, {}, buggy).outcome.then(
      () => expect.fail('the job should have thrown'),
      (e: unknown) => e,
    );
    // The worker pool fails a ProgrammingError at once, without retries (queue.test.ts).
    expect(error).to.be.instanceOf(ProgrammingError);
    expect(String(error)).to.contain('TypeError: Cannot read properties of undefined');
    expect(await resultOf(runId, tenant)).to.deep.equal(pending);
    expect(await runOf(runId)).to.include({ status: 'running', succeeded: 0, failed: 0 });
  });

  /** A consent up to its callback: the exchange job is queued, and no worker runs it. */
  async function receivedConsent(): Promise<string> {
    const started = await h.api('post', `/partners/${partnerId}/consents`, {
      returnTo: '/company/delegated-admin',
      loginHint: admin,
    });
    expect(started.status, started.text).to.equal(201);
    const { attemptId, authorizeUrl } = started.body as { attemptId: string; authorizeUrl: string };
    const atMicrosoft = await h.emulator.http.get(authorizeUrl);
    expect(atMicrosoft.status).to.equal(302);
    const location = new URL(String(atMicrosoft.headers.location));
    expect(location.origin + location.pathname).to.equal(`${publicUrl}/auth/callback`);
    const back = await request(h.app).get(location.pathname + location.search);
    expect(back.status).to.equal(303);
    return attemptId;
  }

  function exchangeJob(attemptId: string, options: Partial<TestJobContextOptions> = {}) {
    const ctx = testJobContext({
      jobId: jobIds.exchangeConsentCode(attemptId),
      log: h.runtime.log,
      ...options,
    });
    return exchangeConsentCode({ attemptId }, deps, ctx);
  }

  it('an authorization code that expired before its exchange fails the attempt with a sentence and stores no consent', async () => {
    const attemptId = await receivedConsent();
    const before = await h.runtime.services.partners.activeConsent(partnerId);
    // Codes live ten minutes at Microsoft.
    await h.emulator.http.post(`${h.emulator.url}/_emulator/clock`, { advanceSeconds: 601 });
    const outcome = await exchangeJob(attemptId);
    expect(outcome).to.deep.equal({
      outcome: 'failed',
      message: 'Consent expired — grant it again.',
    });
    expect(await h.runtime.services.attempts.get(attemptId)).to.include({
      status: 'failed',
      error: 'Consent expired — grant it again.',
    });
    expect((await h.runtime.services.partners.activeConsent(partnerId))?.id).to.equal(before?.id);
  });

  it('Microsoft sign-in unavailable: the exchange is retried, and on its last attempt fails the attempt with a sentence', async () => {
    const attemptId = await receivedConsent();
    h.emulator.state.addFault({ path: '/*/oauth2/v2.0/token', status: 503 });
    const error = await exchangeJob(attemptId).then(
      () => expect.fail('the exchange should have thrown'),
      (e: unknown) => e,
    );
    expect(error, String(error)).to.not.be.instanceOf(ProgrammingError);
    expect(await h.runtime.services.attempts.get(attemptId)).to.include({
      status: 'exchanging',
      error: null,
    });

    const last = await exchangeJob(attemptId, { attemptsMade: 4, finalAttempt: true });
    const sentence = 'Microsoft was unavailable while completing the consent. Grant consent again.';
    expect(last).to.deep.equal({ outcome: 'failed', message: sentence });
    expect(await h.runtime.services.attempts.get(attemptId)).to.include({
      status: 'failed',
      error: sentence,
    });
  });

  it("a late copy told the consent's token is refused after the run completed leaves the run completed", async () => {
    await consented();
    const runId = await openRun();
    const [first, second, last] = tenants.map((t) => t.customerTenantId);
    expect(await customerJob(runId, first!).outcome).to.equal('succeeded');
    expect(await customerJob(runId, second!).outcome).to.equal('succeeded');
    // Both copies ask Microsoft (the first one's claim lapsed, as on a stalled worker); the
    // first answer (a success) completes the run, the refusal comes a second after it.
    const path = `/v1/customers/${last}/subscribedskus`;
    h.emulator.state.addFault({ path, delayMs: 500, count: 1 });
    h.emulator.state.addFault({ path, delayMs: 1_500, status: 401, count: 1 });
    const earlier = customerJob(runId, last!).outcome;
    await lapseClaimOnceTaken(h.runtime.store.db, runId, last!);
    const outcomes = await Promise.all([earlier, customerJob(runId, last!).outcome]);
    expect([...outcomes].sort()).to.deep.equal(['failed', 'succeeded']);
    expect(await runOf(runId)).to.include({
      status: 'completed',
      succeeded: 3,
      failed: 0,
      error: null,
    });
    expect(await resultOf(runId, last!)).to.include({ status: 'succeeded', errorCode: null });
  });

  it('a listing of a run that ended does not call Microsoft, and recording tenants does not reopen or complete it', async () => {
    await consented();
    const { run } = await h.runtime.services.runs.start(partnerId, 'manual');
    await h.runtime.services.runs.stop(run.id, 'Stopped before its listing ran.');
    const since = lastRequest();
    const ctx = testJobContext({ jobId: jobIds.refreshPartner(run.id), log: h.runtime.log });
    expect(await refreshPartner({ runId: run.id }, deps, ctx)).to.deep.equal({
      skipped: 'stopped',
    });
    expect(lastRequest(), 'requests to Microsoft').to.equal(since);
    // A listing that passed its check just before the stop records its tenants after it.
    await h.runtime.services.runs.addTenants(run.id, []);
    expect(await runOf(run.id)).to.include({
      status: 'stopped',
      error: 'Stopped before its listing ran.',
    });
  });

  it('a listing run twice records each customer once and queues nothing the first did not', async () => {
    await consented();
    const { run } = await h.runtime.services.runs.start(partnerId, 'manual');
    const listing = () =>
      refreshPartner(
        { runId: run.id },
        deps,
        testJobContext({ jobId: jobIds.refreshPartner(run.id), log: h.runtime.log }),
      );
    expect(await listing()).to.include({ refreshing: 3 });
    const first = await h.runtime.services.runs.pendingTenants(run.id);
    expect(first).to.have.length(3);
    expect(await listing()).to.include({ refreshing: 0 });
    expect(await h.runtime.services.runs.pendingTenants(run.id)).to.have.deep.members(first);
    expect(await runOf(run.id)).to.include({ status: 'running', succeeded: 0, failed: 0 });
  });

  const reconcileOnce = () =>
    reconcile({}, deps, testJobContext({ jobId: 'reconcile', log: h.runtime.log }));

  it('the reconciler queues again the listing of an open run that Redis lost before it listed', async () => {
    const { run } = await h.runtime.services.runs.start(partnerId, 'manual');
    const jobId = jobIds.refreshPartner(run.id);
    expect(await deps.queues.get('partners').getJob(jobId)).to.equal(undefined);
    expect(await reconcileOnce()).to.include({ openRuns: 1 });
    const job = await deps.queues.get('partners').getJob(jobId);
    expect(job?.name).to.equal('refreshPartner');
    expect(job?.data).to.deep.equal({ runId: run.id });
  });

  /** Ends the customer's job (its first round) without an outcome, as a job that stalled out. */
  async function endWithoutOutcome(runId: string, customerTenantId: string): Promise<void> {
    const jobId = jobIds.refreshCustomer(runId, customerTenantId);
    const connection = createWorkerConnection(h.runtime.config.redisUrl);
    const crashing = new Worker(
      'refresh',
      () => Promise.reject(new UnrecoverableError('job stalled more than allowable limit')),
      { connection, prefix: h.prefix },
    );
    try {
      const failed = new Promise<void>((resolve) => {
        crashing.on('failed', (job) => (job?.id === jobId ? resolve() : undefined));
      });
      await deps.queues.enqueue('refreshCustomer', { runId, customerTenantId }, { jobId });
      await within(20_000, 'the customer job to fail', failed);
    } finally {
      await crashing.close();
      connection.disconnect();
    }
  }

  it('the reconciler queues the customers Redis lost, fails the one whose job ended without an outcome, and adds nothing on a second pass', async () => {
    const runId = await openRun();
    const [lost, ...missing] = tenants.map((t) => t.customerTenantId);
    await endWithoutOutcome(runId, lost!);

    expect(await reconcileOnce()).to.include({ openRuns: 1 });
    expect(await resultOf(runId, lost!)).to.include({
      status: 'failed',
      classification: 'transient',
      errorCode: 'job_lost',
      errorMessage: 'The refresh of this customer was interrupted. Retry it.',
    });
    for (const tenant of missing) {
      const job = await deps.queues.get('refresh').getJob(jobIds.refreshCustomer(runId, tenant));
      expect(job?.data, tenant).to.deep.equal({
        runId,
        customerTenantId: tenant,
        label: companyNames.get(tenant),
      });
      expect(await job!.getState()).to.be.oneOf(['waiting', 'delayed', 'prioritized']);
    }
    expect(await runOf(runId)).to.include({ status: 'running', failed: 1 });
    // The next pass finds every pending customer queued: nothing is added, no slot is taken.
    const run = (await h.runtime.services.runs.get(runId))!;
    expect(await enqueuePendingTenants(deps, run)).to.deep.equal({ added: [], lost: [] });
  });

  it("the partner's retry of a customer whose job was lost queues a new job for it", async () => {
    await consented();
    const runId = await openRun();
    const [lost, ...others] = tenants.map((t) => t.customerTenantId);
    for (const tenant of others)
      expect(await customerJob(runId, tenant).outcome).to.equal('succeeded');
    await endWithoutOutcome(runId, lost!);
    await reconcileOnce();
    expect(await runOf(runId)).to.include({ status: 'completed', succeeded: 2, failed: 1 });

    const retry = await h.api('post', `/partners/${partnerId}/refresh-failures/retry`, {
      customerTenantIds: [lost],
    });
    expect(retry.status, retry.text).to.equal(202);
    expect(await resultOf(runId, lost!), 'the retried customer').to.include({ status: 'pending' });
    const { attempts } = await resultOf(runId, lost!);
    const job = await deps.queues
      .get('refresh')
      .getJob(jobIds.retryCustomer(runId, lost!, attempts));
    expect(await job?.getState(), 'the retry job').to.be.oneOf([
      'waiting',
      'delayed',
      'prioritized',
    ]);
    // And it refreshes the customer.
    const { outcome } = customerJob(runId, lost!);
    expect(await outcome).to.equal('succeeded');
    expect(await runOf(runId)).to.include({ status: 'completed', succeeded: 3, failed: 0 });
  });
});
