import { expect } from 'chai';
import { and, asc, eq } from 'drizzle-orm';
import pg from 'pg';
import type { JobDeps } from '../../jobs/deps.js';
import { refreshCustomer } from '../../jobs/refresh-customer.js';
import { jobIds } from '../../src/queue/catalog.js';
import {
  customLicenseCounts,
  customerLicenseReads,
  customerLicenses,
  refreshResults,
} from '../../src/store/schema.js';
import { RefreshRunStore } from '../../src/store/refresh-runs.js';
import { runWorkers } from '../../workers/run.js';
import { lapseClaimOnceTaken } from '../support/claims.js';
import { startHarness, type Harness } from '../support/harness.js';
import {
  RetryAfterRequested,
  testJobContext,
  testJobDeps,
  type TestJobDeps,
} from '../support/job-context.js';
import { suiteFailed } from '../support/keep-on-failure.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';

// A customer job runs again when its worker died after the commit but before BullMQ heard of
// it, or when its lock expired while it was still running. Either way the run must count the
// customer once, keep one snapshot set and one set of custom-license counts, and a copy that
// finds the customer done must not call Microsoft.
describe('a customer job run again changes nothing', function () {
  this.timeout(120_000);
  let h: Harness;
  let partnerId: string;
  let tenants: { customerTenantId: string; companyId: string }[];
  let jobDeps: TestJobDeps;
  let deps: JobDeps;

  before(async () => {
    h = await startHarness(undefined, {}, { workers: false });
    // Workers only for the consent; the customer jobs below are run by the test, one by one.
    const workers = runWorkers(h.runtime);
    await workers.scheduled;
    partnerId = (
      (await h.api('post', '/partners', { name: 'Rerun Partner' })).body as { id: string }
    ).id;
    const customers = h.emulator.state.directory.partner(partnerTenant)!.customers.slice(0, 3);
    tenants = [];
    for (const c of customers) {
      const company = await h.api('post', `/partners/${partnerId}/companies`, {
        name: c.name,
        customerTenantId: c.tenantId,
      });
      expect(company.status, company.text).to.equal(201);
      tenants.push({
        customerTenantId: c.tenantId,
        companyId: (company.body as { id: string }).id,
      });
    }
    for (const body of [
      { name: 'Antispam', kind: 'fixed', quantity: 7 },
      // No custom-license token: recorded as "will fail to update", a row all the same.
      { name: 'Licensed users', kind: 'licensed_users' },
    ]) {
      const res = await h.api('post', `/partners/${partnerId}/custom-licenses`, body);
      expect(res.status, res.text).to.equal(201);
    }
    await h.grant(partnerId, 'admin@first.example');
    const initial = await h.runtime.services.runs.latest(partnerId);
    expect(await h.runEnded(initial!.id)).to.include({ status: 'completed', succeeded: 3 });
    await workers.close(1_000);

    jobDeps = testJobDeps(h.runtime);
    deps = jobDeps.deps;
  });
  after(async function () {
    await jobDeps?.close();
    await h?.close(suiteFailed(this));
  });

  afterEach(async () => {
    // A test leaves its run open; the next one opens its own.
    const open = await h.runtime.services.runs.latest(partnerId);
    if (open?.status === 'running') await h.runtime.services.runs.stop(open.id, 'test ended');
  });

  /** A run of the three customers whose jobs nobody queued: the test runs them itself. */
  async function openRun(): Promise<string> {
    const { run, deduplicated } = await h.runtime.services.runs.start(partnerId, 'manual');
    expect(deduplicated, 'a run was still open').to.equal(false);
    await h.runtime.services.runs.addTenants(run.id, tenants);
    return run.id;
  }

  /** One execution of the customer's job, as a worker would make it (first attempt). */
  function runJob(runId: string, customerTenantId: string, withDeps: JobDeps = deps) {
    const ctx = testJobContext({
      jobId: jobIds.refreshCustomer(runId, customerTenantId),
      log: h.runtime.log,
    });
    return refreshCustomer({ runId, customerTenantId }, withDeps, ctx);
  }

  /** Everything a repeat could change: the run, its results, rows, and calls to Microsoft. */
  async function observe(runId: string) {
    const db = h.runtime.store.db;
    // The counts as the API and the pages show them (live from the results while it runs).
    const latest = await h.runtime.services.runs.latest(partnerId);
    expect(latest?.id).to.equal(runId);
    const run = {
      status: latest!.status,
      total: latest!.total,
      succeeded: latest!.succeeded,
      failed: latest!.failed,
      finishedAt: latest!.finishedAt,
    };
    const results = await db
      .select({
        tenant: refreshResults.customerTenantId,
        status: refreshResults.status,
        attempts: refreshResults.attempts,
        errorCode: refreshResults.errorCode,
        finishedAt: refreshResults.finishedAt,
      })
      .from(refreshResults)
      .where(eq(refreshResults.runId, runId))
      .orderBy(asc(refreshResults.customerTenantId));
    // The customers' current licenses, and their reads (which name the run and its time).
    const snapshots = await db
      .select({ license: customerLicenses })
      .from(customerLicenses)
      .innerJoin(
        customerLicenseReads,
        and(
          eq(customerLicenseReads.partnerId, customerLicenses.partnerId),
          eq(customerLicenseReads.customerTenantId, customerLicenses.customerTenantId),
        ),
      )
      .where(eq(customerLicenseReads.runId, runId))
      .orderBy(asc(customerLicenses.customerTenantId), asc(customerLicenses.skuId))
      .then((rows) => rows.map((r) => r.license));
    const reads = await db
      .select()
      .from(customerLicenseReads)
      .where(eq(customerLicenseReads.runId, runId))
      .orderBy(asc(customerLicenseReads.customerTenantId));
    const counts = await db
      .select()
      .from(customLicenseCounts)
      .where(eq(customLicenseCounts.runId, runId))
      .orderBy(asc(customLicenseCounts.id));
    return {
      run,
      results,
      snapshots,
      reads,
      counts,
      microsoftCalls: h.emulator.state.log.at(-1)?.id ?? 0,
    };
  }

  it('after its commit and after the run finished: no counter, row or Microsoft call changes', async () => {
    const runId = await openRun();
    const [first, second, third] = tenants.map((t) => t.customerTenantId);
    const before = h.emulator.state.log.at(-1)?.id ?? 0;
    expect(await runJob(runId, first!)).to.equal('succeeded');
    const committed = await observe(runId);
    expect(committed.run).to.include({ status: 'running', total: 3, succeeded: 1, failed: 0 });
    expect(committed.snapshots).to.not.be.empty;
    expect(committed.counts).to.have.length(2);
    expect(committed.microsoftCalls, 'the first execution calls Microsoft').to.be.above(before);

    // The worker died after the commit: the job comes back while the run is still open.
    const repeat = await runJob(runId, first!);
    expect(await observe(runId), 'after a repeat while the run is open').to.deep.equal(committed);
    expect(repeat).to.equal('skipped');

    expect(await runJob(runId, second!)).to.equal('succeeded');
    expect(await runJob(runId, third!)).to.equal('succeeded');
    const finished = await observe(runId);
    expect(finished.run).to.include({ status: 'completed', total: 3, succeeded: 3, failed: 0 });
    expect(finished.counts).to.have.length(6);

    // And once the run has finished, a late copy of any of them.
    const late = [await runJob(runId, first!), await runJob(runId, third!)];
    expect(await observe(runId), 'after repeats once the run finished').to.deep.equal(finished);
    expect(late).to.deep.equal(['skipped', 'skipped']);
  });

  it('two copies at once: one asks Microsoft, the other waits out its claim; the customer counts once', async () => {
    const runId = await openRun();
    const tenant = tenants[1]!.customerTenantId;
    const path = `/v1/customers/${tenant}/subscribedskus`;
    // Both copies start before either commits (the call takes a second): one claims the
    // customer as it reads it, and the other is put back until that claim lapses.
    h.emulator.state.addFault({ path, delayMs: 1_000, count: 2 });
    const since = h.emulator.state.log.at(-1)?.id ?? 0;
    const outcomes = await Promise.allSettled([runJob(runId, tenant), runJob(runId, tenant)]);
    const done = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const putBack = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(done).to.deep.equal(['succeeded']);
    expect(putBack).to.have.length(1);
    expect(putBack[0]).to.be.instanceOf(RetryAfterRequested);
    expect((putBack[0] as RetryAfterRequested).ms).to.be.within(
      1_000,
      h.runtime.config.queues.jobLockSeconds * 1000,
    );
    const reads = h.emulator.state.log.filter((e) => e.id > since && e.path.startsWith(path));
    expect(reads, 'Microsoft asked once').to.have.length(1);
    const seen = await observe(runId);
    expect(seen.run).to.include({ status: 'running', succeeded: 1, failed: 0 });
    expect(seen.results.find((r) => r.tenant === tenant)).to.include({ status: 'succeeded' });
    expect(seen.counts).to.have.length(2);
  });

  it('a copy whose claim lapsed, failing after the other succeeded: the success stands, counted once', async () => {
    const runId = await openRun();
    const tenant = tenants[2]!.customerTenantId;
    const path = `/v1/customers/${tenant}/subscribedskus`;
    // The first copy's call succeeds after half a second. Its claim lapses meanwhile (a job
    // lock that expired on a stalled worker), so a second copy asks too and is refused (403,
    // a permanent failure) a second later, after the success committed.
    h.emulator.state.addFault({ path, delayMs: 500, count: 1 });
    h.emulator.state.addFault({ path, delayMs: 1_500, status: 403, count: 1 });
    const first = runJob(runId, tenant);
    await lapseClaimOnceTaken(h.runtime.store.db, runId, tenant);
    const outcomes = await Promise.all([first, runJob(runId, tenant)]);
    expect(outcomes).to.deep.equal(['succeeded', 'failed']);
    const seen = await observe(runId);
    expect(seen.run).to.include({ status: 'running', succeeded: 1, failed: 0 });
    expect(seen.results.find((r) => r.tenant === tenant)).to.include({
      status: 'succeeded',
      errorCode: null,
    });
    expect(seen.counts).to.have.length(2);
  });

  it('a copy waiting for its slot holds the customer: another copy meanwhile asks Microsoft nothing', async () => {
    const runId = await openRun();
    const tenant = tenants[0]!.customerTenantId;
    const path = `/v1/customers/${tenant}/subscribedskus`;
    // The first copy claimed the customer, then waits for its slot in the partner's schedule;
    // a second copy starts meanwhile.
    let slotReached!: () => void;
    const reached = new Promise<void>((resolve) => (slotReached = resolve));
    let letGo!: () => void;
    const slotComes = new Promise<void>((resolve) => (letGo = resolve));
    const pacer = deps.pacer;
    const waiting: JobDeps = {
      ...deps,
      pacer: Object.assign(Object.create(pacer) as typeof pacer, {
        slotFor: async (...args: Parameters<typeof pacer.slotFor>) => {
          slotReached();
          await slotComes;
          return pacer.slotFor(...args);
        },
      }),
    };
    const since = h.emulator.state.log.at(-1)?.id ?? 0;
    const first = runJob(runId, tenant, waiting);
    await reached;
    const second = await runJob(runId, tenant).then(
      (outcome) => outcome,
      (error: unknown) => error,
    );
    expect(second).to.be.instanceOf(RetryAfterRequested);
    letGo();
    expect(await first).to.equal('succeeded');
    const reads = h.emulator.state.log.filter((e) => e.id > since && e.path.startsWith(path));
    expect(reads, 'Microsoft asked once').to.have.length(1);
    const recorded = await observe(runId);
    expect(recorded.results.find((r) => r.tenant === tenant)).to.include({ status: 'succeeded' });
    // The copy put back comes again and finds the customer recorded.
    expect(await runJob(runId, tenant)).to.equal('skipped');
    expect(await observe(runId), 'after the copy put back ran again').to.deep.equal(recorded);
  });

  it('the last two customers committing together: the run completes once, with their outcomes counted', async () => {
    const runId = await openRun();
    const [first, second, third] = tenants.map((t) => t.customerTenantId);
    expect(await runJob(runId, first!)).to.equal('succeeded');
    // Both last customers succeed, as two worker processes would: each with a store of its
    // own (one process would record both in one transaction). Each writes its subscriptions
    // in its transaction, after its result moved: a lock the test holds on that table keeps
    // both transactions open until both wait there, so neither can see the other's result
    // when it commits.
    const otherProcess: JobDeps = { ...deps, runs: new RefreshRunStore(h.runtime.store.db) };
    const locker = new pg.Client({ connectionString: h.runtime.config.databaseUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table customer_subscriptions in exclusive mode');
      const both = Promise.all([runJob(runId, second!), runJob(runId, third!, otherProcess)]);
      await waitForLockWaits(locker, 'customer_subscriptions', 2, 30_000);
      await locker.query('commit');
      expect(await both).to.deep.equal(['succeeded', 'succeeded']);
    } finally {
      await locker.end();
    }
    const { run } = await observe(runId);
    expect(run).to.include({ status: 'completed', total: 3, succeeded: 3, failed: 0 });
  });
});

/** Waits until `count` other backends wait for a lock on `table`; fails after `limitMs`. */
async function waitForLockWaits(client: pg.Client, table: string, count: number, limitMs: number) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    // pg_sleep keeps the poll in the database: each round is one short statement.
    const { rows } = await client.query<{ waiting: number; pause: unknown }>(
      `select count(*)::int as waiting, pg_sleep(0.02) as pause from pg_locks
        where not granted and relation = $1::regclass`,
      [table],
    );
    if (rows[0]!.waiting >= count) return;
    if (Date.now() > deadline) throw new Error(`fewer than ${count} waits on ${table}`);
  }
}
