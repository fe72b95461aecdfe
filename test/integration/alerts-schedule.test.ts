import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { JobDeps } from '../../jobs/deps.js';
import { scheduledRefreshToCheck } from '../../src/domain/run-schedule.js';
import { jobIds, scheduledRefreshHourUtc } from '../../src/queue/catalog.js';
import { createWorkerConnection } from '../../src/queue/connections.js';
import { enqueuePendingTenants } from '../../src/queue/refresh-work.js';
import { startWorkerPool, type WorkerPool } from '../../src/queue/worker-pool.js';
import { keepTimedAlerts } from '../../src/services/timed-alerts.js';
import { delegatedAdmins, refreshRuns } from '../../src/store/schema.js';
import { processors } from '../../workers/processors.js';
import { scenarioWith } from '../support/emulator.js';
import { releaseTenants, startHarness, type Harness } from '../support/harness.js';
import { testJobDeps, type TestJobDeps } from '../support/job-context.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const dayMs = 86_400_000;
const hourMs = 3_600_000;
const secondPartner = 'bbbbbbbb-0000-4000-8000-000000000002';
const loadedAt = Date.now();
const boughtDaysAgo = (n: number) => new Date(loadedAt - n * dayMs).toISOString();
/** The cancellation window of a purchase `n` days ago closes 7 days after it. */
const windowClosesIn = (n: number) => new Date(loadedAt + n * dayMs);

/**
 * New-commerce purchases whose windows close in 3 days (one) and in 5 days (two), a purchase
 * whose window closed 3 days ago, and a legacy subscription (no window).
 */
const windowsCustomer = {
  tenantId: 'eeeeeeee-0000-4000-8000-0000000000c1',
  name: 'Windows Customer',
  domain: 'windows.example',
  subscriptions: [
    { skuPartNumber: 'SPB', quantity: 5, termDuration: 'P1M', creationDate: boughtDaysAgo(2) },
    {
      skuPartNumber: 'EXCHANGESTANDARD',
      quantity: 3,
      termDuration: 'P1Y',
      creationDate: boughtDaysAgo(2),
    },
    {
      skuPartNumber: 'O365_BUSINESS_ESSENTIALS',
      quantity: 2,
      termDuration: 'P1Y',
      creationDate: boughtDaysAgo(4),
    },
    { skuPartNumber: 'SPB', quantity: 1, termDuration: 'P1Y', creationDate: boughtDaysAgo(10) },
    { skuPartNumber: 'EXCHANGESTANDARD', quantity: 2, termDuration: 'P1Y', commerce: 'legacy' },
  ],
  users: [{ upn: 'a@windows.example', licenses: ['SPB'] }],
};

/** A customer whose one window closed long ago: the one a fault fails, for a retry. */
const retriedCustomer = {
  tenantId: 'eeeeeeee-0000-4000-8000-0000000000c2',
  name: 'Retried Customer',
  domain: 'retried.example',
  subscriptions: [
    { skuPartNumber: 'SPB', quantity: 2, termDuration: 'P3Y', creationDate: boughtDaysAgo(100) },
  ],
  users: [{ upn: 'a@retried.example', licenses: ['SPB'] }],
};

interface Message {
  type: string;
  alert: { event: string; key: string; partnerId: string; summary: string };
}

interface AlertView {
  event: string;
  key: string;
  details: Record<string, unknown>;
  resolvedAt: string | null;
  deliveries: { kind: string; status: string }[];
}

describe('schedule alerts: a refresh that did not start, a run that does not end, cancellation windows closing, each raised by the reconciler and resolved by the change', function () {
  this.timeout(180_000);
  let h: Harness;
  let jobDeps: TestJobDeps;
  let pool: WorkerPool;
  let connection: Redis;
  let receiver: WebhookReceiver;
  const names = new Map<string, string>();

  /** The reconciler's pass over time-based alerts, as of `now`. */
  const pass = (now = new Date()) => keepTimedAlerts(jobDeps.deps, now);
  /** What the channel received of `event`: type, partner and key. */
  const messages = (event: string) =>
    receiver
      .received('/hook')
      .map((r) => JSON.parse(r.body) as Message)
      .filter((m) => m.alert.event === event)
      .map((m) => `${m.type} ${names.get(m.alert.partnerId)} ${m.alert.key}`);
  /** Waits until the channel received `count` messages of `event`. */
  const waitForMessages = async (event: string, count: number) => {
    const deadline = Date.now() + 20_000;
    while (messages(event).length < count) {
      if (Date.now() > deadline) throw new Error(`${messages(event).length} of ${count} ${event}`);
      await receiver.waitFor('/hook', receiver.received('/hook').length + 1, 20_000);
    }
    return messages(event);
  };
  const alertsOf = async (partnerId: string, event: string) =>
    (
      (await h.api('get', `/partners/${partnerId}/alerts`)).body as { alerts: AlertView[] }
    ).alerts.filter((a) => a.event === event);

  /** A partner consented as the second emulated partner's admin, its first run ended. */
  const consentedPartner = async (name: string, companies: { tenantId: string }[] = []) => {
    const partnerId = ((await h.api('post', '/partners', { name })).body as { id: string }).id;
    names.set(partnerId, name);
    for (const c of companies) {
      const added = await h.api('post', `/partners/${partnerId}/companies`, {
        name: `${name} ${c.tenantId.slice(-2)}`,
        customerTenantId: c.tenantId,
      });
      expect(added.status, added.text).to.equal(201);
    }
    await releaseTenants(h);
    await h.grant(partnerId, 'admin@second.example');
    const status = await h.api('get', `/partners/${partnerId}/delegated-admin`);
    const run = await h.runEnded((status.body as { run: { id: string } }).run.id);
    expect(run.status).to.equal('completed');
    return { partnerId, runId: run.id };
  };
  /** Moves the partner's runs (and, unless kept, its consent) `ms` into the past. */
  const moveIntoPast = async (partnerId: string, ms: number, keepConsent = false) => {
    const db = h.runtime.store.db;
    const past = new Date(Date.now() - ms);
    await db
      .update(refreshRuns)
      .set({ startedAt: past, openedAt: past, finishedAt: new Date(past.getTime() + 60_000) })
      .where(eq(refreshRuns.partnerId, partnerId));
    if (!keepConsent) {
      await db
        .update(delegatedAdmins)
        .set({ consentedAt: past })
        .where(eq(delegatedAdmins.partnerId, partnerId));
    }
  };

  before(async function () {
    h = await startHarness(
      scenarioWith((p) =>
        p.tenantId === secondPartner
          ? {
              ...p,
              customers: [
                ...(p.customers as unknown[]),
                windowsCustomer,
                retriedCustomer,
              ] as typeof p.customers,
            }
          : p,
      ),
      { ALLOW_PRIVATE_WEBHOOKS: 'true' },
      { workers: false },
    );
    // Workers without the schedules: the reconciler's pass runs when a test calls it, at the
    // time the test gives.
    jobDeps = testJobDeps(h.runtime);
    connection = createWorkerConnection(h.runtime.config.redisUrl);
    pool = startWorkerPool<JobDeps>({
      connection,
      prefix: h.prefix,
      processors,
      deps: jobDeps.deps,
      log: h.runtime.log,
      tuning: h.runtime.config.queues,
    });
    receiver = await startWebhookReceiver();
    const hook = await h.api('post', '/notification-channels', {
      kind: 'webhook',
      url: receiver.url('/hook'),
      events: ['runNotStarted', 'runNotFinished', 'renewalWindow'],
    });
    expect(hook.status, hook.text).to.equal(201);
  });
  after(async function () {
    await receiver?.close();
    await pool?.close(1_000);
    connection?.disconnect();
    await jobDeps?.close();
    await h?.close(suiteFailed(this));
  });

  describe('runNotStarted', () => {
    let missed: string;
    let notActive: string;
    let consentedSince: string;
    const scheduledAt = () =>
      scheduledRefreshToCheck(
        new Date(),
        scheduledRefreshHourUtc,
        h.runtime.config.runAlerts.notStartedGraceMinutes * 60_000,
      );

    before(async () => {
      // Consented three days ago, its last run then: no run since the scheduled refresh.
      missed = (await consentedPartner('Missed Schedule')).partnerId;
      await moveIntoPast(missed, 3 * dayMs);
      // The same, but its consent needs granting again: no refresh was due.
      notActive = (await consentedPartner('Consent Not Active')).partnerId;
      await moveIntoPast(notActive, 3 * dayMs);
      await h.runtime.store.db
        .update(delegatedAdmins)
        .set({ status: 'needs_reconsent' })
        .where(eq(delegatedAdmins.partnerId, notActive));
      // Consented after the scheduled refresh (a new partner), with no run since it either.
      consentedSince = (await consentedPartner('Consented Since')).partnerId;
      await moveIntoPast(consentedSince, 3 * dayMs, true);
    });

    it('a partner consented before the scheduled time with no run since: one message, however often the reconciler passes; none for a consent not active or granted since', async () => {
      await pass();
      await pass();
      const day = scheduledAt().toISOString().slice(0, 10);
      expect(await waitForMessages('runNotStarted', 1)).to.deep.equal([
        `alert.raised Missed Schedule run-not-started-${day}`,
      ]);
      await pass();
      const [alert, ...more] = await alertsOf(missed, 'runNotStarted');
      expect(more).to.deep.equal([]);
      expect(alert!.details).to.deep.equal({ scheduledAt: scheduledAt().toISOString() });
      expect(alert!.deliveries.map((d) => `${d.kind} ${d.status}`)).to.deep.equal(['raised sent']);
      expect(await alertsOf(notActive, 'runNotStarted')).to.deep.equal([]);
      expect(await alertsOf(consentedSince, 'runNotStarted')).to.deep.equal([]);
      expect(messages('runNotStarted')).to.have.length(1);
    });

    it("a run starting resolves it in the start's transaction; the next passes raise nothing", async () => {
      const started = await h.api('post', `/partners/${missed}/refresh`);
      expect(started.status).to.equal(202);
      const [alert] = await alertsOf(missed, 'runNotStarted');
      expect(alert!.resolvedAt, 'resolved with the start, before any pass').to.be.a('string');
      await h.runEnded((started.body as { runId: string }).runId);
      expect((await waitForMessages('runNotStarted', 2))[1]).to.match(
        /^alert\.resolved Missed Schedule run-not-started-/,
      );
      await pass();
      await pass();
      expect(await alertsOf(missed, 'runNotStarted')).to.have.length(1);
      expect(messages('runNotStarted')).to.have.length(2);
    });
  });

  describe('runNotFinished', () => {
    let partnerId: string;
    let withCustomers: { partnerId: string; runId: string };
    const limitMs = () => h.runtime.config.runAlerts.notFinishedHours * hourMs;
    const messagesOf = (name: string) =>
      messages('runNotFinished').filter((m) => m.includes(` ${name} run-`));

    before(async () => {
      partnerId = (await consentedPartner('Stuck Run')).partnerId;
      withCustomers = await consentedPartner('Retried Run', [retriedCustomer]);
    });

    it('an open run whose work is never done: nothing while younger than the limit, then one message however often the reconciler passes', async () => {
      // Opened, but its listing was never queued: no customer of it is ever processed.
      const { run } = await h.runtime.services.runs.start(partnerId, 'manual');
      await pass();
      await pass(new Date(Date.now() + limitMs() - hourMs));
      expect(await alertsOf(partnerId, 'runNotFinished')).to.deep.equal([]);
      const later = new Date(Date.now() + limitMs() + hourMs);
      await pass(later);
      await pass(later);
      expect(await waitForMessages('runNotFinished', 1)).to.deep.equal([
        `alert.raised Stuck Run run-not-finished-${run.id}`,
      ]);
      await pass(new Date(later.getTime() + hourMs));
      const [alert, ...more] = await alertsOf(partnerId, 'runNotFinished');
      expect(more).to.deep.equal([]);
      expect(alert!.details).to.deep.equal({
        runId: run.id,
        startedAt: run.openedAt.toISOString(),
      });
      expect(messagesOf('Stuck Run')).to.have.length(1);
    });

    it('the run completing resolves it, in the transaction that completes it', async () => {
      // Sync now joins the open run and queues its listing: no customers, so it completes there.
      const joined = await h.api('post', `/partners/${partnerId}/refresh`);
      expect(joined.body).to.include({ deduplicated: true });
      const run = await h.runEnded((joined.body as { runId: string }).runId);
      expect(run.status).to.equal('completed');
      const [alert] = await alertsOf(partnerId, 'runNotFinished');
      expect(alert!.resolvedAt).to.be.a('string');
      await waitForMessages('runNotFinished', 2);
      await pass(new Date(Date.now() + limitMs() + hourMs));
      expect(messagesOf('Stuck Run')).to.deep.equal([
        `alert.raised Stuck Run run-not-finished-${run.id}`,
        `alert.resolved Stuck Run run-not-finished-${run.id}`,
      ]);
    });

    it('the run stopped (its consent no longer active) resolves it too', async () => {
      const { run } = await h.runtime.services.runs.start(partnerId, 'manual');
      await pass(new Date(Date.now() + limitMs() + hourMs));
      await waitForMessages('runNotFinished', 3);
      await h.runtime.store.db
        .update(delegatedAdmins)
        .set({ status: 'needs_reconsent' })
        .where(eq(delegatedAdmins.partnerId, partnerId));
      await h.runtime.queues.enqueue(
        'refreshPartner',
        { runId: run.id },
        { jobId: jobIds.refreshPartner(run.id) },
      );
      expect((await h.runEnded(run.id)).status).to.equal('stopped');
      await waitForMessages('runNotFinished', 4);
      expect(messagesOf('Stuck Run').slice(2)).to.deep.equal([
        `alert.raised Stuck Run run-not-finished-${run.id}`,
        `alert.resolved Stuck Run run-not-finished-${run.id}`,
      ]);
    });

    it('a run retried hours after it started counts from the retry; completing its customers resolves it', async () => {
      const { partnerId: retried } = withCustomers;
      const faults = `${h.emulator.url}/_emulator/faults`;
      await h.emulator.http.post(faults, [
        { path: `/v1/customers/${retriedCustomer.tenantId}/subscribedskus`, status: 403 },
      ]);
      let runId: string;
      try {
        const started = await h.api('post', `/partners/${retried}/refresh`);
        runId = (started.body as { runId: string }).runId;
        expect(await h.runEnded(runId)).to.include({ status: 'completed', failed: 1 });
      } finally {
        await h.emulator.http.delete(faults);
      }
      // The run started at 03:00, say, and its failure is retried at 11:00.
      await moveIntoPast(retried, 8 * hourMs, true);
      expect(await h.runtime.services.runs.reopenFailed(runId, undefined)).to.deep.equal([
        retriedCustomer.tenantId,
      ]);
      await pass();
      expect(await alertsOf(retried, 'runNotFinished')).to.deep.equal([]);
      await pass(new Date(Date.now() + limitMs() + hourMs));
      await waitForMessages('runNotFinished', 5);
      // The retry's customer job, as the API queues it after the reopening: its outcome
      // completes the run, and resolves the alert in that transaction.
      await enqueuePendingTenants(jobDeps.deps, (await h.runtime.services.runs.get(runId))!);
      expect(await h.runEnded(runId)).to.include({ status: 'completed', failed: 0 });
      await waitForMessages('runNotFinished', 6);
      expect(messagesOf('Retried Run')).to.deep.equal([
        `alert.raised Retried Run run-not-finished-${runId}`,
        `alert.resolved Retried Run run-not-finished-${runId}`,
      ]);
    });
  });

  describe('renewalWindow', () => {
    let partnerId: string;
    const threeDays = windowClosesIn(7 - 4);
    const fiveDays = windowClosesIn(7 - 2);
    const keyOf = (d: Date) => `renewal-window-${d.toISOString().slice(0, 10)}`;

    before(async () => {
      partnerId = (await consentedPartner('Open Windows', [windowsCustomer])).partnerId;
    });

    it('one alert per day on which windows close, with their number; once, however often the reconciler passes', async () => {
      await pass();
      await pass();
      expect(await waitForMessages('renewalWindow', 2)).to.have.members([
        `alert.raised Open Windows ${keyOf(threeDays)}`,
        `alert.raised Open Windows ${keyOf(fiveDays)}`,
      ]);
      await pass();
      const open = await alertsOf(partnerId, 'renewalWindow');
      expect(open.map((a) => [a.key, a.details.subscriptions])).to.have.deep.members([
        [keyOf(threeDays), 1],
        [keyOf(fiveDays), 2],
      ]);
      const summary = (JSON.parse(receiver.received('/hook').at(-1)!.body) as Message).alert
        .summary;
      expect(summary).to.match(/^The cancellation window of \d subscriptions? closes on /);
      expect(messages('renewalWindow')).to.have.length(2);
    });

    it("each day's alert is resolved once its windows have closed", async () => {
      const afterFirst = new Date(threeDays.getTime() + hourMs);
      await pass(afterFirst);
      await pass(afterFirst);
      expect((await waitForMessages('renewalWindow', 3))[2]).to.equal(
        `alert.resolved Open Windows ${keyOf(threeDays)}`,
      );
      const afterBoth = new Date(fiveDays.getTime() + hourMs);
      await pass(afterBoth);
      await pass(afterBoth);
      expect((await waitForMessages('renewalWindow', 4))[3]).to.equal(
        `alert.resolved Open Windows ${keyOf(fiveDays)}`,
      );
      expect(
        (await alertsOf(partnerId, 'renewalWindow')).map((a) => a.resolvedAt !== null),
      ).to.deep.equal([true, true]);
      expect(messages('renewalWindow')).to.have.length(4);
    });
  });
});
