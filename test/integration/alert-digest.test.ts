import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { eq, inArray } from 'drizzle-orm';
import { startMailSink, type MailSink } from '../../emulator/mail-sink.js';
import type { AlertEvent } from '../../src/domain/alert-events.js';
import { jobIds } from '../../src/queue/catalog.js';
import { enqueueAlertDeliveries } from '../../src/services/alert-delivery.js';
import { latestDigestTime } from '../../src/domain/digest-schedule.js';
import { sendAlertDigests } from '../../src/services/alert-digest.js';
import { raiseAlert } from '../../src/store/alert-outbox.js';
import { alertDeliveries, alerts } from '../../src/store/schema.js';
import { publicUrl, startHarness, type Harness } from '../support/harness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Warnings (each its own key: the date) and a critical, for one partner. The warning is one no
 * reconciler pass keeps in step (it would resolve a custom-license token's expiry raised here
 * for a partner without a token); its customer count is the date's day, to tell two apart.
 */
const gdapEnding = (partnerId: string, on: string): AlertEvent => ({
  event: 'gdapEnding7Days',
  partnerId,
  details: { customers: Number(on.slice(8)), firstEndsAt: `${on}T00:00:00.000Z` },
});
const consentNeeded = (partnerId: string): AlertEvent => ({
  event: 'consentNeeded',
  partnerId,
  details: { reason: 'The consent was revoked.' },
});

/** Raises the alert as a state change does: outbox rows in a transaction, jobs after it. */
async function raise(h: Harness, event: AlertEvent): Promise<string[]> {
  const ids = await h.runtime.store.db.transaction((tx) => raiseAlert(tx, event));
  await enqueueAlertDeliveries(h.runtime.queues, ids);
  for (const id of ids) await h.finished('alerts', jobIds.deliverAlert(id));
  return ids;
}

/** The digest job's processor, run now rather than at the configured hour. */
const runDigest = (h: Harness) =>
  sendAlertDigests(
    { ...h.runtime.services, config: h.runtime.config },
    { log: h.runtime.log, finalAttempt: false },
  );

async function statusesOf(h: Harness, partnerId: string): Promise<string[]> {
  const rows = await h.runtime.store.db
    .select({ status: alertDeliveries.status })
    .from(alertDeliveries)
    .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
    .where(eq(alerts.partnerId, partnerId));
  return rows.map((r) => r.status);
}

describe('alert digest: a digest channel hears warnings once a day, critical alerts at once', function () {
  this.timeout(90_000);
  let h: Harness | undefined;
  let receiver: WebhookReceiver | undefined;
  let sink: MailSink | undefined;

  afterEach(async function () {
    await receiver?.close();
    await sink?.close();
    await h?.close(this.currentTest?.state === 'failed');
    h = receiver = sink = undefined;
  });

  it('two warnings on a signed webhook: nothing at once, one alert.digest listing both, a second run sends nothing; a critical goes at once', async () => {
    receiver = await startWebhookReceiver();
    h = await startHarness(undefined, { ALLOW_PRIVATE_WEBHOOKS: 'true' });
    const partnerId = (
      (await h.api('post', '/partners', { name: 'Digest Partner' })).body as { id: string }
    ).id;
    const added = await h.api('post', `/partners/${partnerId}/notification-channels`, {
      kind: 'webhook',
      url: receiver.url('/hook'),
      digest: true,
    });
    expect(added.status, added.text).to.equal(201);
    const secret = (added.body as { signingSecret: string }).signingSecret;

    await raise(h, gdapEnding(partnerId, '2030-01-10'));
    await raise(h, gdapEnding(partnerId, '2030-01-20'));
    // Each delivery job ran and sent nothing: the digest collects them.
    expect(receiver.received('/hook')).to.have.length(0);
    expect(await statusesOf(h, partnerId)).to.deep.equal(['pending', 'pending']);

    const first = await runDigest(h);
    expect(first).to.deep.equal({ sent: 1, failed: 0, retry: 0 });
    const [digest] = receiver.received('/hook');
    expect(receiver.received('/hook')).to.have.length(1);
    const body = JSON.parse(digest!.body) as {
      id: string;
      type: string;
      alerts: { title: string; severity: string; url: string; raisedAt: string }[];
    };
    expect(body.type).to.equal('alert.digest');
    expect(body.alerts.map((a) => a.title)).to.deep.equal([
      'GDAP ends within 7 days for 10 customers',
      'GDAP ends within 7 days for 20 customers',
    ]);
    expect(body.alerts.every((a) => a.severity === 'warning')).to.equal(true);
    expect(body.alerts[0]!.url).to.equal(`${publicUrl}/partners/${partnerId}/access?show=expiring`);
    const timestamp = String(digest!.headers['license-sync-timestamp']);
    expect(digest!.headers['license-sync-signature']).to.equal(
      `v1=${createHmac('sha256', secret).update(`${timestamp}.${digest!.body}`).digest('hex')}`,
    );
    expect(digest!.headers['license-sync-delivery']).to.equal(body.id);
    expect(await statusesOf(h, partnerId)).to.deep.equal(['sent', 'sent']);

    // A second run (a retry, or the reconciler's) finds nothing to send.
    expect(await runDigest(h)).to.deep.equal({ sent: 0, failed: 0, retry: 0 });
    expect(receiver.received('/hook')).to.have.length(1);

    // Critical: at once, on its own, whatever the digest flag.
    await raise(h, consentNeeded(partnerId));
    const [, critical] = await receiver.waitFor('/hook', 2, 10_000);
    expect(JSON.parse(critical!.body)).to.include({ type: 'alert.raised' });
    expect(await runDigest(h)).to.deep.equal({ sent: 0, failed: 0, retry: 0 });
  });

  it('an email digest channel: one mail with text and HTML listing both warnings', async () => {
    sink = await startMailSink();
    h = await startHarness(undefined, {
      SMTP_URL: sink.smtpUrl,
      SMTP_FROM: 'alerts@license-sync.example',
    });
    const partnerId = (
      (await h.api('post', '/partners', { name: 'Mailed Digest' })).body as { id: string }
    ).id;
    const added = await h.api('post', `/partners/${partnerId}/notification-channels`, {
      kind: 'email',
      addresses: ['it@mailed.example'],
      digest: true,
    });
    expect(added.status, added.text).to.equal(201);
    await raise(h, gdapEnding(partnerId, '2030-02-10'));
    await raise(h, gdapEnding(partnerId, '2030-02-20'));
    expect(await runDigest(h)).to.deep.equal({ sent: 1, failed: 0, retry: 0 });
    const [mail] = await sink.waitFor(1);
    expect(mail!.subject).to.match(
      /^\[license-sync\] license-sync daily digest for \d{4}-\d\d-\d\d: 2 alerts$/,
    );
    expect(mail!.text).to.include('Warning: GDAP ends within 7 days for 10 customers');
    expect(mail!.text).to.include('Warning: GDAP ends within 7 days for 20 customers');
    expect(mail!.html).to.include(
      `<a href="${publicUrl}/partners/${partnerId}/access?show=expiring">`,
    );
    expect(await runDigest(h)).to.deep.equal({ sent: 0, failed: 0, retry: 0 });
    expect(sink.received()).to.have.length(1);
  });

  it('a missed digest run (Redis lost its schedule): the reconciler queues it, once, and it sends', async () => {
    receiver = await startWebhookReceiver();
    // An hour far from now: the reconciler's grace after the digest hour never applies.
    h = await startHarness(undefined, {
      ALLOW_PRIVATE_WEBHOOKS: 'true',
      ALERT_DIGEST_HOUR_UTC: String((new Date().getUTCHours() + 12) % 24),
    });
    const partnerId = (
      (await h.api('post', '/partners', { name: 'Missed Digest' })).body as { id: string }
    ).id;
    const added = await h.api('post', `/partners/${partnerId}/notification-channels`, {
      kind: 'slack',
      url: receiver.url('/slack'),
      digest: true,
    });
    expect(added.status, added.text).to.equal(201);
    const ids = [
      ...(await raise(h, gdapEnding(partnerId, '2030-03-10'))),
      ...(await raise(h, gdapEnding(partnerId, '2030-03-20'))),
    ];
    // Raised two days ago: the last digest time passed without a run.
    await h.runtime.store.db
      .update(alertDeliveries)
      .set({ queuedAt: new Date(Date.now() - 2 * 86_400_000) })
      .where(inArray(alertDeliveries.id, ids));
    const reconcile = async () => {
      const job = await h!.runtime.queues.enqueue(
        'reconcile',
        {},
        { jobId: `reconcile-${Date.now()}` },
      );
      return h!.finished('maintenance', job.id!);
    };
    expect((await reconcile()).overdueDigest).to.equal(true);
    const { day } = latestDigestTime(new Date(), h.runtime.config.queues.alertDigestHourUtc);
    expect(await h.finished('alerts', jobIds.sendAlertDigests(day))).to.deep.equal({
      sent: 1,
      failed: 0,
      retry: 0,
    });
    const [slack] = receiver.received('/slack');
    expect(receiver.received('/slack')).to.have.length(1);
    expect(slack!.body).to.include('2 alerts');
    expect((await reconcile()).overdueDigest).to.equal(false);
    expect(receiver.received('/slack')).to.have.length(1);
  });

  it('a receiver answering 503 keeps the deliveries pending and the job failing; the retry sends them once; a 410 breaks the channel', async () => {
    const answers = [503, 200, 410];
    receiver = await startWebhookReceiver((n) => ({ status: answers[n] ?? 200 }));
    h = await startHarness(undefined, { ALLOW_PRIVATE_WEBHOOKS: 'true' });
    const partnerId = (
      (await h.api('post', '/partners', { name: 'Retried Digest' })).body as { id: string }
    ).id;
    const added = await h.api('post', `/partners/${partnerId}/notification-channels`, {
      kind: 'teams',
      url: receiver.url('/teams'),
      digest: true,
    });
    expect(added.status, added.text).to.equal(201);
    await raise(h, gdapEnding(partnerId, '2030-04-10'));
    let error: unknown;
    await runDigest(h).catch((e: unknown) => (error = e));
    expect(String(error)).to.include('The receiver answered 503');
    expect(await statusesOf(h, partnerId)).to.deep.equal(['pending']);
    expect(await runDigest(h)).to.deep.equal({ sent: 1, failed: 0, retry: 0 });
    expect(await statusesOf(h, partnerId)).to.deep.equal(['sent']);
    const [, sent] = receiver.received('/teams');
    expect(receiver.received('/teams')).to.have.length(2);
    expect(sent!.body).to.include('GDAP ends within 7 days for 10 customers');

    await raise(h, gdapEnding(partnerId, '2030-04-20'));
    expect(await runDigest(h)).to.deep.equal({ sent: 0, failed: 1, retry: 0 });
    expect((await statusesOf(h, partnerId)).sort()).to.deep.equal(['failed', 'sent']);
    const channel = await h.runtime.services.notificationChannels.get(
      partnerId,
      (added.body as { id: string }).id,
    );
    expect(channel!.brokenReason).to.include('410');
  });
});
