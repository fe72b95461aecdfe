import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import type { AlertEvent } from '../../src/domain/alert-events.js';
import { waitingForFixSentence } from '../../src/domain/delivery-states.js';
import { jobIds } from '../../src/queue/catalog.js';
import { enqueueAlertDeliveries } from '../../src/services/alert-delivery.js';
import { raiseAlert } from '../../src/store/alert-outbox.js';
import { alertDeliveries, alerts, auditEvents } from '../../src/store/schema.js';
import { testScenario } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const gdapEnded = (partnerId: string): AlertEvent => ({
  event: 'gdapEnded',
  partnerId,
  details: { customers: 3 },
});
const consentNeeded = (partnerId: string): AlertEvent => ({
  event: 'consentNeeded',
  partnerId,
  details: { reason: 'The consent was revoked.' },
});

interface DeliveryView {
  channelId: string;
  status: string;
  lastError: string | null;
  waiting: string | null;
}

describe('alerts: a broken channel holds its alerts until it is fixed', function () {
  this.timeout(90_000);
  let h: Harness | undefined;
  let receiver: WebhookReceiver | undefined;
  /** Whether the receiver answers 410 Gone (the archived Slack channel, the deleted hook). */
  let gone = true;

  afterEach(async function () {
    await receiver?.close();
    await h?.close(this.currentTest?.state === 'failed');
    h = receiver = undefined;
  });

  /** A partner with a webhook channel that the first alert breaks (410). */
  async function brokenChannel() {
    gone = true;
    receiver = await startWebhookReceiver((_n, path) =>
      gone && path === '/hook' ? { status: 410, body: 'hook_deleted' } : { status: 200 },
    );
    h = await startHarness(testScenario(), { ALLOW_PRIVATE_WEBHOOKS: 'true' });
    const partnerId = (await h.runtime.services.partners.create('Held Partner', 'test')).id;
    const base = `/partners/${partnerId}/notification-channels`;
    const created = await h.api('post', base, { kind: 'webhook', url: receiver.url('/hook') });
    expect(created.status, created.text).to.equal(201);
    const channelId = (created.body as { id: string }).id;
    const [first] = await raise(h, gdapEnded(partnerId));
    expect(await h.finished('alerts', jobIds.deliverAlert(first!))).to.deep.include({
      channelBroken: true,
    });
    return { h, partnerId, base, channelId };
  }

  /** Raises as a state change does: rows in a transaction, the returned ones queued after. */
  async function raise(harness: Harness, event: AlertEvent): Promise<string[]> {
    const ids = await harness.runtime.store.db.transaction((tx) => raiseAlert(tx, event));
    await enqueueAlertDeliveries(harness.runtime.queues, ids);
    return ids;
  }

  async function deliveryOf(harness: Harness, partnerId: string, event: string) {
    const [row] = await harness.runtime.store.db
      .select({ id: alertDeliveries.id })
      .from(alertDeliveries)
      .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
      .where(and(eq(alerts.partnerId, partnerId), eq(alerts.event, event as 'gdapEnded')));
    return row!.id;
  }

  async function historyOf(harness: Harness, partnerId: string, event: string) {
    const res = await harness.api('get', `/partners/${partnerId}/alerts`);
    const list = (res.body as { alerts: { event: string; deliveries: DeliveryView[] }[] }).alerts;
    return list.find((a) => a.event === event)!.deliveries;
  }

  async function reconciled(harness: Harness) {
    const job = await harness.runtime.queues.enqueue(
      'reconcile',
      {},
      { jobId: `reconcile-${Date.now()}` },
    );
    return harness.finished('maintenance', job.id!);
  }

  it('an alert raised while the channel is broken waits (no job, not re-queued) and arrives once after a fix through the API', async () => {
    const { h, partnerId, base, channelId } = await brokenChannel();
    // Raised while broken: written, but nothing to queue.
    expect(await raise(h, consentNeeded(partnerId))).to.deep.equal([]);
    const held = await deliveryOf(h, partnerId, 'consentNeeded');
    const jobId = jobIds.deliverAlert(held);
    expect(await h.runtime.queues.presence('deliverAlert', [jobId])).to.deep.equal(['missing']);
    const [waiting] = await historyOf(h, partnerId, 'consentNeeded');
    expect(waiting).to.include({ status: 'pending', waiting: waitingForFixSentence });
    // The reconciler leaves it alone: its job is missing on purpose.
    expect(await reconciled(h)).to.include({ alertDeliveries: 0 });
    expect(await h.runtime.queues.presence('deliverAlert', [jobId])).to.deep.equal(['missing']);
    expect(receiver!.received('/hook')).to.have.length(1);

    gone = false;
    const fixed = await h.api('patch', `${base}/${channelId}`, { broken: false });
    expect(fixed.status, fixed.text).to.equal(200);
    expect(fixed.body.broken).to.equal(null);
    expect(await h.finished('alerts', jobId)).to.deep.equal({ sent: true });
    const [, arrived] = await receiver!.waitFor('/hook', 2);
    expect(JSON.parse(arrived!.body).alert.event).to.equal('consentNeeded');
    // A second fix and a reconciler pass add nothing: it arrived exactly once.
    await h.api('patch', `${base}/${channelId}`, { broken: false });
    expect(await reconciled(h)).to.include({ alertDeliveries: 0 });
    expect(receiver!.received('/hook')).to.have.length(2);
    const [sent] = await historyOf(h, partnerId, 'consentNeeded');
    expect(sent).to.include({ status: 'sent', waiting: null });
    // The delivery that met the 410 stays failed with the receiver's answer.
    const [refused] = await historyOf(h, partnerId, 'gdapEnded');
    expect(refused).to.include({
      status: 'failed',
      lastError: 'The receiver answered 410: hook_deleted',
    });
  });

  it('a job that ran while the channel was broken leaves its delivery pending; a new URL sends it once', async () => {
    const { h, partnerId, base, channelId } = await brokenChannel();
    await raise(h, consentNeeded(partnerId));
    const held = await deliveryOf(h, partnerId, 'consentNeeded');
    const jobId = jobIds.deliverAlert(held);
    // As if queued just before the channel broke: the job completes, the row stays pending.
    await enqueueAlertDeliveries(h.runtime.queues, [held]);
    expect(await h.finished('alerts', jobId)).to.deep.equal({ skipped: 'channel broken' });
    expect((await historyOf(h, partnerId, 'consentNeeded'))[0]).to.include({
      status: 'pending',
      waiting: waitingForFixSentence,
    });

    const moved = await h.api('patch', `${base}/${channelId}`, { url: receiver!.url('/new') });
    expect(moved.status, moved.text).to.equal(200);
    expect(moved.body.broken).to.equal(null);
    const [arrived] = await receiver!.waitFor('/new', 1);
    expect(JSON.parse(arrived!.body).alert.event).to.equal('consentNeeded');
    expect(await h.finished('alerts', jobId)).to.deep.equal({ sent: true });
    expect(await reconciled(h)).to.include({ alertDeliveries: 0 });
    expect(receiver!.received('/new')).to.have.length(1);
  });

  it('a test-send that gets through fixes the channel and sends what it held', async () => {
    const { h, partnerId, base, channelId } = await brokenChannel();
    await raise(h, consentNeeded(partnerId));
    const held = await deliveryOf(h, partnerId, 'consentNeeded');
    gone = false;
    const tested = await h.api('post', `${base}/${channelId}/test`);
    expect(tested.body).to.include({ ok: true, fixed: true });
    expect(tested.body.outcome).to.equal(
      'Delivered: the receiver answered 2xx. The channel is fixed. The alert held while it was broken is being sent.',
    );
    expect(await h.finished('alerts', jobIds.deliverAlert(held))).to.deep.equal({ sent: true });
    // The 410, the test message and the held alert.
    const [, test, alert] = await receiver!.waitFor('/hook', 3);
    expect(JSON.parse(test!.body).alert.event).to.equal('test');
    expect(JSON.parse(alert!.body).alert.event).to.equal('consentNeeded');
  });

  it('a channel deleted while it holds deliveries ends them, and the audit says how many', async () => {
    const { h, partnerId, base, channelId } = await brokenChannel();
    await raise(h, consentNeeded(partnerId));
    expect((await h.api('delete', `${base}/${channelId}`)).status).to.equal(204);
    const [audit] = await h.runtime.store.db
      .select()
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.subjectId, channelId),
          eq(auditEvents.action, 'notification_channel.deleted'),
        ),
      );
    expect(audit!.details).to.deep.equal({ unsentDeliveries: 1 });
    expect(await reconciled(h)).to.include({ alertDeliveries: 0 });
    expect(receiver!.received('/hook')).to.have.length(1);
  });
});
