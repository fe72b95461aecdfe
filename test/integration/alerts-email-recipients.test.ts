import { expect } from 'chai';
import { startMailSink, type MailSink } from '../../emulator/mail-sink.js';
import type { AlertEvent } from '../../src/domain/alert-events.js';
import { jobIds } from '../../src/queue/catalog.js';
import { enqueueAlertDeliveries } from '../../src/services/alert-delivery.js';
import { raiseAlert } from '../../src/store/alert-outbox.js';
import { testScenario } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';

const consentNeeded = (partnerId: string): AlertEvent => ({
  event: 'consentNeeded',
  partnerId,
  details: { reason: 'The consent was revoked.' },
});

/** The reply a server gives for a mailbox it does not have (RFC 3463 5.1.1). */
const noSuchMailbox = { code: 550, message: '5.1.1 Mailbox unavailable' };

interface DeliveryView {
  channelId: string;
  status: string;
  lastError: string | null;
}

describe('alerts by email: recipients the mail server refuses', function () {
  this.timeout(90_000);
  let h: Harness | undefined;
  let sink: MailSink | undefined;

  afterEach(async function () {
    await sink?.close();
    await h?.close(this.currentTest?.state === 'failed');
    h = sink = undefined;
  });

  async function setup() {
    sink = await startMailSink({
      answerRecipient: (address) => (address.startsWith('gone') ? noSuchMailbox : undefined),
    });
    h = await startHarness(testScenario(), {
      SMTP_URL: sink.smtpUrl,
      SMTP_FROM: 'License sync <alerts@license-sync.example>',
    });
    const partnerId = (await h.runtime.services.partners.create('Mailed Partner', 'test')).id;
    return { h, sink, partnerId };
  }

  async function addEmailChannel(harness: Harness, partnerId: string, addresses: string[]) {
    const res = await harness.api('post', `/partners/${partnerId}/notification-channels`, {
      kind: 'email',
      addresses,
    });
    expect(res.status, res.text).to.equal(201);
    return (res.body as { id: string }).id;
  }

  it('some refused, others accepted: sent, and the history names the refused addresses', async () => {
    const { h, sink, partnerId } = await setup();
    const channelId = await addEmailChannel(h, partnerId, [
      'it@mailed.example',
      'gone@mailed.example',
      'ops@mailed.example',
    ]);
    const [id] = await h.runtime.store.db.transaction((tx) =>
      raiseAlert(tx, consentNeeded(partnerId)),
    );
    await enqueueAlertDeliveries(h.runtime.queues, [id!]);
    const sentence =
      'The mail server refused 1 of 3 recipients: gone@mailed.example (550 5.1.1 Mailbox unavailable).';
    expect(await h.finished('alerts', jobIds.deliverAlert(id!))).to.deep.equal({
      sent: true,
      note: sentence,
    });
    const [mail] = await sink.waitFor(1);
    expect(mail!.envelope.to).to.deep.equal(['it@mailed.example', 'ops@mailed.example']);
    const history = await h.api('get', `/partners/${partnerId}/alerts`);
    const [alert] = (history.body as { alerts: { deliveries: DeliveryView[] }[] }).alerts;
    expect(alert!.deliveries).to.deep.equal([
      { ...alert!.deliveries[0], channelId, status: 'sent', lastError: sentence },
    ]);
    // Not a refusal of the channel: it stays OK.
    const channel = await h.api('get', `/partners/${partnerId}/notification-channels`);
    expect((channel.body as { channels: { broken: unknown }[] }).channels[0]!.broken).to.equal(
      null,
    );
    // A test-send says it too.
    const tested = await h.api(
      'post',
      `/partners/${partnerId}/notification-channels/${channelId}/test`,
    );
    expect(tested.body).to.deep.equal({
      ok: true,
      outcome: `Delivered: the mail server accepted it. ${sentence}`,
    });
  });

  it('every recipient refused: the delivery fails and the channel is broken, as a 5xx does', async () => {
    const { h, sink, partnerId } = await setup();
    await addEmailChannel(h, partnerId, ['gone@mailed.example', 'gone.too@mailed.example']);
    const [id] = await h.runtime.store.db.transaction((tx) =>
      raiseAlert(tx, consentNeeded(partnerId)),
    );
    await enqueueAlertDeliveries(h.runtime.queues, [id!]);
    const result = await h.finished('alerts', jobIds.deliverAlert(id!));
    expect(result).to.deep.include({ channelBroken: true });
    expect(String(result.failed)).to.match(/^The mail server answered 550 5\.1\.1/);
    expect(sink.offered()).to.equal(0);
  });
});
