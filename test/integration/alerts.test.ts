import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { expect } from 'chai';
import { Job, UnrecoverableError, Worker } from 'bullmq';
import { eq } from 'drizzle-orm';
import { abandonedDeliveryMessage } from '../../jobs/reconcile.js';
import { alertEventNames } from '../../src/domain/alert-events.js';
import { jobIds } from '../../src/queue/catalog.js';
import { createWorkerConnection } from '../../src/queue/connections.js';
import { enqueueAlertDeliveries } from '../../src/services/alert-delivery.js';
import { alertDeliveries, alerts } from '../../src/store/schema.js';
import { runWorkers } from '../../workers/run.js';
import { scenarioWith } from '../support/emulator.js';
import { publicUrl, startHarness, type Harness } from '../support/harness.js';
import { removePrefix } from '../support/redis.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { within } from '../support/within.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';

/**
 * The receiver's check, written from docs/alerts.md alone: HMAC-SHA256 keyed by the secret
 * over `timestamp + "." + raw body`, `v1=<hex>`, any of comma-separated values, within 5 minutes.
 */
function verifiedByDocs(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const timestamp = String(headers['license-sync-timestamp'] ?? '');
  if (!/^\d+$/.test(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(
    'v1=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex'),
  );
  return String(headers['license-sync-signature'] ?? '')
    .split(',')
    .map((s) => Buffer.from(s.trim()))
    .some((given) => given.length === expected.length && timingSafeEqual(given, expected));
}

interface AlertView {
  event: string;
  key: string;
  severity: string;
  raisedAt: string;
  resolvedAt: string | null;
  deliveries: {
    channelId: string;
    kind: string;
    status: string;
    attempts: number;
    lastError: string | null;
  }[];
}

/**
 * A service and emulator of its own with a consented partner whose initial run has ended.
 * Access tokens live under MSAL's renewal margin, so every job redeems the refresh token and
 * meets a revocation at once.
 */
async function consentedPartner(env: Record<string, string> = { ALLOW_PRIVATE_WEBHOOKS: 'true' }) {
  const h: Harness = await startHarness(
    {
      ...scenarioWith((p) =>
        p.tenantId === partnerTenant ? { ...p, customers: { generate: { seed: 5, count: 2 } } } : p,
      ),
      tokenLifetimes: { accessTokenSec: 299 },
    },
    env,
  );
  const partnerId = (
    (await h.api('post', '/partners', { name: 'Alerted Partner' })).body as { id: string }
  ).id;
  // Each customer a company, so runs refresh (and can fail) them.
  const tenants = h.emulator.state.directory
    .partner(partnerTenant)!
    .customers.map((c) => c.tenantId);
  for (const [i, tenantId] of tenants.entries()) {
    await h.api('post', `/partners/${partnerId}/companies`, {
      name: `Customer ${i}`,
      customerTenantId: tenantId,
    });
  }
  const granted = await h.grant(partnerId, 'admin@first.example');
  expect(granted.outcome.outcome).to.equal('completed');
  const status = await h.api('get', `/partners/${partnerId}/delegated-admin`);
  await h.runEnded((status.body as { run: { id: string } }).run.id);
  return { h, partnerId, tenants, consentId: String(granted.outcome.delegatedAdminId) };
}

/** The real state change: tokens revoked at Microsoft, then a refresh meets it. */
async function revokeAndRefresh(h: Harness, partnerId: string): Promise<void> {
  await h.emulator.http.post(`${h.emulator.url}/_emulator/users/admin@first.example/revoke`);
  const started = await h.api('post', `/partners/${partnerId}/refresh`);
  expect(started.status).to.equal(202);
  await h.finished('partners', jobIds.refreshPartner((started.body as { runId: string }).runId));
}

/**
 * The generated customers' monthly terms open a cancellation window on some days of each month,
 * which the reconciler announces (renewalWindow): the channels and the history these tests read
 * leave that event out, so what they count does not depend on the day they run.
 */
const stateChangeEvents = alertEventNames.filter((e) => e !== 'renewalWindow');

async function addChannel(h: Harness, base: string, body: object) {
  const res = await h.api('post', `${base}/notification-channels`, {
    events: stateChangeEvents,
    ...body,
  });
  expect(res.status, res.text).to.equal(201);
  return res.body as { id: string; signingSecret?: string; host: string };
}

async function alertsOf(h: Harness, partnerId: string): Promise<AlertView[]> {
  return (
    (await h.api('get', `/partners/${partnerId}/alerts`)).body as { alerts: AlertView[] }
  ).alerts.filter((a) => a.event !== 'renewalWindow');
}

async function deliveryIds(h: Harness, partnerId: string): Promise<string[]> {
  const rows = await h.runtime.store.db
    .select({ id: alertDeliveries.id })
    .from(alertDeliveries)
    .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
    .where(eq(alerts.partnerId, partnerId));
  return rows.map((r) => r.id);
}

describe('alerts: raised by the state change, sent once per channel, resolved by a new consent', function () {
  this.timeout(90_000);
  let h: Harness | undefined;
  let receiver: WebhookReceiver | undefined;

  afterEach(async function () {
    await receiver?.close();
    await h?.close(this.currentTest?.state === 'failed');
    h = receiver = undefined;
  });

  it('tokens revoked: one signed webhook, one Teams card and one to the operators; a repeat sends nothing; consent again sends "resolved"', async () => {
    const p = await consentedPartner();
    h = p.h;
    receiver = await startWebhookReceiver();
    const base = `/partners/${p.partnerId}`;
    const hook = await addChannel(h, base, { kind: 'webhook', url: receiver.url('/hook') });
    expect(hook.signingSecret).to.match(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(hook.host).to.equal(`127.0.0.1:${receiver.port}`);
    await addChannel(h, base, {
      kind: 'teams',
      url: receiver.url('/teams'),
      events: ['consentNeeded'],
    });
    await addChannel(h, base, {
      kind: 'slack',
      url: receiver.url('/slack'),
      events: ['gdapEnded'],
    });
    await addChannel(h, '', { kind: 'slack', url: receiver.url('/operators') });
    // The secret is answered once: never by the listing.
    const listed = await h.api('get', `${base}/notification-channels`);
    expect(listed.text).not.to.include(hook.signingSecret!);
    expect(listed.text).not.to.include('/hook');

    const tested = await h.api('post', `${base}/notification-channels/${hook.id}/test`);
    expect(tested.body).to.deep.equal({
      ok: true,
      outcome: 'Delivered: the receiver answered 2xx.',
    });
    const [test] = await receiver.waitFor('/hook', 1);
    expect(JSON.parse(test!.body).type).to.equal('test');
    expect(verifiedByDocs(hook.signingSecret!, test!.headers, test!.body)).to.equal(true);

    await revokeAndRefresh(h, p.partnerId);
    const [, raised] = await receiver.waitFor('/hook', 2);
    const [teams] = await receiver.waitFor('/teams', 1);
    const [operators] = await receiver.waitFor('/operators', 1);
    expect(verifiedByDocs(hook.signingSecret!, raised!.headers, raised!.body)).to.equal(true);
    // Another secret, or a body changed in transit, does not verify.
    expect(verifiedByDocs(`${hook.signingSecret!}x`, raised!.headers, raised!.body)).to.equal(
      false,
    );
    expect(verifiedByDocs(hook.signingSecret!, raised!.headers, `${raised!.body} `)).to.equal(
      false,
    );
    const body = JSON.parse(raised!.body) as {
      id: string;
      type: string;
      alert: Record<string, unknown>;
    };
    expect(body.type).to.equal('alert.raised');
    expect(body.id).to.equal(raised!.headers['license-sync-delivery']);
    expect(body.alert).to.include({
      event: 'consentNeeded',
      key: 'consent-needed',
      severity: 'critical',
      partnerId: p.partnerId,
      url: `${publicUrl}/partners/${p.partnerId}/delegated-admin`,
      title: 'Partner Center consent must be granted again',
    });
    expect(String(body.alert.summary)).to.match(/Grant Partner Center Consent\.$/);
    const card = JSON.parse(teams!.body);
    expect(card.attachments[0].contentType).to.equal('application/vnd.microsoft.card.adaptive');
    expect(card.attachments[0].content.body[0].text).to.equal(
      'Partner Center consent must be granted again',
    );
    expect(JSON.parse(operators!.body).text).to.equal(
      'Partner Center consent must be granted again',
    );

    // The same change again adds nothing: the consent is no longer active, and the key is open.
    expect(await h.runtime.services.partners.needsReconsent(p.consentId, 'Again.')).to.deep.equal(
      [],
    );
    expect((await h.api('post', `${base}/refresh`)).status).to.equal(409);
    const reconciled = await h.runtime.queues.enqueue(
      'reconcile',
      {},
      { jobId: `reconcile-${Date.now()}` },
    );
    expect((await h.finished('maintenance', reconciled.id!)).alertDeliveries).to.equal(0);
    expect(receiver.received('/hook')).to.have.length(2);
    expect(receiver.received('/teams')).to.have.length(1);
    expect(receiver.received('/slack')).to.have.length(0);
    const [open] = await alertsOf(h, p.partnerId);
    expect(await alertsOf(h, p.partnerId)).to.have.length(1);
    expect(open!.resolvedAt).to.equal(null);
    expect(open!.deliveries.map((d) => [d.kind, d.status])).to.deep.equal([
      ['raised', 'sent'],
      ['raised', 'sent'],
      ['raised', 'sent'],
    ]);

    // No token the emulator issued is in any message.
    const issued = Object.values(
      JSON.parse(
        (await h.emulator.http.get<string>(`${h.emulator.url}/_emulator/issued`)).data,
      ) as Record<string, string[]>,
    ).flat();
    const sent = [
      ...receiver.received('/hook'),
      ...receiver.received('/teams'),
      ...receiver.received('/operators'),
    ]
      .map((r) => r.body)
      .join('\n');
    for (const token of issued.filter((t) => t.length >= 16)) expect(sent).not.to.include(token);

    // A sign-in in the second of the revocation is revoked too, as at Entra (tokensValidFrom).
    await h.emulator.http.post(`${h.emulator.url}/_emulator/clock`, { advanceSeconds: 1 });
    const again = await h.grant(p.partnerId, 'admin@first.example');
    expect(again.outcome.outcome).to.equal('completed');
    const [, , resolved] = await receiver.waitFor('/hook', 3);
    expect(JSON.parse(resolved!.body)).to.deep.include({ type: 'alert.resolved' });
    expect(verifiedByDocs(hook.signingSecret!, resolved!.headers, resolved!.body)).to.equal(true);
    const [, teamsResolved] = await receiver.waitFor('/teams', 2);
    expect(JSON.parse(teamsResolved!.body).attachments[0].content.body[0].text).to.match(
      /^Resolved: /,
    );
    await receiver.waitFor('/operators', 2);
    const [closed] = await alertsOf(h, p.partnerId);
    expect(closed!.resolvedAt).to.be.a('string');
  });

  it('a receiver answering 503 then 200 gets the alert on the retry, with the same delivery id', async () => {
    const p = await consentedPartner();
    h = p.h;
    receiver = await startWebhookReceiver((n) => ({ status: n === 0 ? 503 : 200 }));
    await addChannel(h, `/partners/${p.partnerId}`, {
      kind: 'webhook',
      url: receiver.url('/hook'),
    });
    await revokeAndRefresh(h, p.partnerId);
    const [first, second] = await receiver.waitFor('/hook', 2);
    expect(second!.headers['license-sync-delivery']).to.equal(
      first!.headers['license-sync-delivery'],
    );
    const [id] = await deliveryIds(h, p.partnerId);
    expect(await h.finished('alerts', jobIds.deliverAlert(id!))).to.deep.equal({ sent: true });
    const [alert] = await alertsOf(h, p.partnerId);
    expect(alert!.deliveries[0]).to.include({ status: 'sent', attempts: 2 });
  });

  it('a receiver answering 429 with Retry-After gets the alert after that wait, without using an attempt', async () => {
    const p = await consentedPartner();
    h = p.h;
    receiver = await startWebhookReceiver((n) =>
      n === 0 ? { status: 429, headers: { 'Retry-After': '2' } } : { status: 200 },
    );
    await addChannel(h, `/partners/${p.partnerId}`, {
      kind: 'webhook',
      url: receiver.url('/busy'),
    });
    await revokeAndRefresh(h, p.partnerId);
    const [first, second] = await receiver.waitFor('/busy', 2);
    const [id] = await deliveryIds(h, p.partnerId);
    expect(await h.finished('alerts', jobIds.deliverAlert(id!))).to.deep.equal({ sent: true });
    const job = await Job.fromId(h.runtime.queues.get('alerts'), jobIds.deliverAlert(id!));
    // Put back by Retry-After: one attempt made (the one that sent), two starts.
    expect(job!.attemptsMade).to.equal(1);
    expect(job!.attemptsStarted).to.equal(2);
    expect(second!.at - first!.at).to.be.at.least(1_900);
  });

  it('a receiver answering 410 fails the delivery at once and marks the channel broken until fixed', async () => {
    const p = await consentedPartner();
    h = p.h;
    receiver = await startWebhookReceiver(() => ({ status: 410, body: 'channel_is_archived' }));
    const base = `/partners/${p.partnerId}/notification-channels`;
    const slack = await addChannel(h, `/partners/${p.partnerId}`, {
      kind: 'slack',
      url: receiver.url('/gone'),
    });
    await revokeAndRefresh(h, p.partnerId);
    const [id] = await deliveryIds(h, p.partnerId);
    const result = await h.finished('alerts', jobIds.deliverAlert(id!));
    expect(result).to.deep.include({ channelBroken: true });
    const job = await Job.fromId(h.runtime.queues.get('alerts'), jobIds.deliverAlert(id!));
    // One attempt, completed: no retry follows.
    expect(await job!.getState()).to.equal('completed');
    expect(job!.attemptsMade).to.equal(1);
    expect(receiver.received('/gone')).to.have.length(1);
    const [alert] = await alertsOf(h, p.partnerId);
    expect(alert!.deliveries[0]).to.include({ status: 'failed', attempts: 1 });
    expect(alert!.deliveries[0]!.lastError).to.equal(
      'The receiver answered 410: channel_is_archived',
    );
    const [shown] = (
      (await h.api('get', base)).body as { channels: { broken: { reason: string } | null }[] }
    ).channels;
    expect(shown!.broken!.reason).to.equal('The receiver answered 410: channel_is_archived');
    const fixed = await h.api('patch', `${base}/${slack.id}`, { broken: false });
    expect(fixed.body.broken).to.equal(null);
  });

  it('a run that ends with a failed customer raises run-failures with its reason; a clean run resolves it', async () => {
    const p = await consentedPartner();
    h = p.h;
    receiver = await startWebhookReceiver();
    await addChannel(h, `/partners/${p.partnerId}`, { kind: 'slack', url: receiver.url('/runs') });
    const refreshed = async () => {
      const started = await h!.api('post', `/partners/${p.partnerId}/refresh`);
      return h!.runEnded((started.body as { runId: string }).runId);
    };
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, [
      { path: `/v1/customers/${p.tenants[0]}/subscribedskus`, status: 403, count: 1 },
    ]);
    expect(await refreshed()).to.include({ status: 'completed', failed: 1 });
    const [raised] = await receiver.waitFor('/runs', 1);
    expect(JSON.parse(raised!.body).text).to.equal(
      `1 customer of ${p.tenants.length} were not refreshed`,
    );
    const [open] = await alertsOf(h, p.partnerId);
    expect(open).to.include({
      event: 'runFinishedWithFailures',
      key: 'run-failures',
      resolvedAt: null,
    });
    expect(await refreshed()).to.include({ status: 'completed', failed: 0 });
    const [, resolved] = await receiver.waitFor('/runs', 2);
    expect(JSON.parse(resolved!.body).text).to.match(/^Resolved: /);
  });

  it('a delivery whose job failed without an outcome (stalled out) is failed by the reconciler, not left pending', async () => {
    const p = await consentedPartner();
    h = p.h;
    receiver = await startWebhookReceiver();
    await addChannel(h, `/partners/${p.partnerId}`, {
      kind: 'webhook',
      url: receiver.url('/hook'),
    });
    await h.workers!.close(1_000);
    const [id] = await h.runtime.services.partners.needsReconsent(p.consentId, 'Revoked.');
    const jobId = jobIds.deliverAlert(id!);
    const connection = createWorkerConnection(h.runtime.config.redisUrl);
    const crashing = new Worker(
      'alerts',
      () => Promise.reject(new UnrecoverableError('job stalled more than allowable limit')),
      { connection, prefix: h.prefix },
    );
    try {
      const failed = new Promise<void>((resolve) => {
        crashing.on('failed', (job) => (job?.id === jobId ? resolve() : undefined));
      });
      await enqueueAlertDeliveries(h.runtime.queues, [id!]);
      await within(20_000, 'the delivery job to fail', failed);
    } finally {
      await crashing.close();
      connection.disconnect();
    }
    const workers = runWorkers(h.runtime);
    try {
      const reconciled = await h.runtime.queues.enqueue(
        'reconcile',
        {},
        { jobId: `reconcile-${Date.now()}` },
      );
      const summary = await h.finished('maintenance', reconciled.id!);
      const [alert] = await alertsOf(h, p.partnerId);
      // The start-up pass or this one failed it; neither queued it again.
      expect(summary.alertDeliveries).to.equal(0);
      expect(alert!.deliveries[0]).to.include({
        status: 'failed',
        lastError: abandonedDeliveryMessage,
      });
      expect(receiver.received('/hook')).to.have.length(0);
    } finally {
      await workers.close(1_000);
    }
  });

  it("Redis loses the deployment's keys between the raise and the delivery: the reconciler queues it again", async () => {
    const p = await consentedPartner();
    h = p.h;
    receiver = await startWebhookReceiver();
    await addChannel(h, `/partners/${p.partnerId}`, {
      kind: 'webhook',
      url: receiver.url('/hook'),
    });
    await h.workers!.close(1_000);
    // The state change commits and its job is queued, but no worker takes it before the loss.
    const ids = await h.runtime.services.partners.needsReconsent(
      p.consentId,
      'The consent was revoked.',
    );
    expect(ids).to.have.length(1);
    await enqueueAlertDeliveries(h.runtime.queues, ids);
    expect(
      await h.runtime.queues.presence('deliverAlert', ids.map(jobIds.deliverAlert)),
    ).to.deep.equal(['live']);
    await removePrefix(h.prefix);
    expect(
      await h.runtime.queues.presence('deliverAlert', ids.map(jobIds.deliverAlert)),
    ).to.deep.equal(['missing']);
    const workers = runWorkers(h.runtime);
    try {
      const [delivered] = await receiver.waitFor('/hook', 1);
      expect(JSON.parse(delivered!.body).alert.event).to.equal('consentNeeded');
    } finally {
      await workers.close(1_000);
    }
  });
});
