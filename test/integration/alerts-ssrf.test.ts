import { expect } from 'chai';
import { jobIds } from '../../src/queue/catalog.js';
import { enqueueAlertDeliveries } from '../../src/services/alert-delivery.js';
import { raiseAlert } from '../../src/store/alert-outbox.js';
import { startHarness, type Harness } from '../support/harness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

describe('alert webhooks never reach private addresses unless ALLOW_PRIVATE_WEBHOOKS is set', function () {
  this.timeout(60_000);
  let h: Harness;
  let receiver: WebhookReceiver;
  let partnerId: string;

  before(async () => {
    h = await startHarness();
    receiver = await startWebhookReceiver();
    partnerId = (
      (await h.api('post', '/partners', { name: 'Guarded Partner' })).body as { id: string }
    ).id;
  });
  after(async function () {
    await receiver?.close();
    await h?.close(this.currentTest?.state === 'failed');
  });

  it('refuses loopback, private, link-local, IPv6 loopback and a name resolving to loopback with a 400 naming it', async () => {
    const refused: [string, RegExp][] = [
      ['http://127.0.0.1:9/hook', /^url: 127\.0\.0\.1 is a loopback address/],
      ['http://10.0.0.5/hook', /^url: 10\.0\.0\.5 is a private address/],
      ['http://192.168.1.20/hook', /private address/],
      ['http://100.64.3.4/hook', /carrier-grade NAT/],
      [
        'http://169.254.169.254/latest/meta-data/',
        /^url: 169\.254\.169\.254 is a link-local address/,
      ],
      ['http://[::1]:9/hook', /^url: ::1 is a loopback address/],
      ['http://[::ffff:127.0.0.1]/hook', /loopback address/],
      ['http://[fd00::1]/hook', /unique-local/],
      ['http://0.0.0.0:9/hook', /unspecified/],
      [
        `http://localhost:${receiver.port}/hook`,
        /^url: localhost resolves to (127\.0\.0\.1|::1), a loopback address/,
      ],
      ['http://user:secret@hooks.example.com/x', /credentials in the URL/],
      ['ftp://hooks.example.com/x', /expected an http\(s\) URL/],
    ];
    for (const [url, sentence] of refused) {
      for (const base of [`/partners/${partnerId}`, '']) {
        const res = await h.api('post', `${base}/notification-channels`, { kind: 'webhook', url });
        expect(res.status, url).to.equal(400);
        expect(res.body.error.message, url).to.match(sentence);
      }
    }
    const changed = await h.api('get', `/partners/${partnerId}/notification-channels`);
    expect(changed.body.channels).to.deep.equal([]);
    expect(receiver.received('/hook')).to.have.length(0);
  });

  it('checks again at delivery, on the address the connection resolves: a saved URL now on loopback is refused and the channel broken', async () => {
    // Saved past the API's check, as a name that resolved publicly once and now rebinds would be.
    const { channel } = await h.runtime.services.notificationChannels.create(
      partnerId,
      { kind: 'webhook', url: `http://localhost:${receiver.port}/rebound` },
      'test',
    );
    const ids = await h.runtime.store.db.transaction((tx) =>
      raiseAlert(tx, { event: 'consentNeeded', partnerId, details: { reason: 'Revoked.' } }),
    );
    expect(ids).to.have.length(1);
    await enqueueAlertDeliveries(h.runtime.queues, ids);
    const result = await h.finished('alerts', jobIds.deliverAlert(ids[0]!));
    expect(result).to.deep.include({ channelBroken: true });
    expect(String(result.failed)).to.match(
      /^localhost resolves to (127\.0\.0\.1|::1), a loopback address/,
    );
    expect(receiver.received('/rebound')).to.have.length(0);
    const shown = await h.api('get', `/partners/${partnerId}/notification-channels`);
    const broken = (
      shown.body.channels as { id: string; broken: { reason: string } | null }[]
    ).find((c) => c.id === channel.id);
    expect(broken!.broken!.reason).to.match(/loopback/);
    // The test-send goes through the same guard.
    const test = await h.api(
      'post',
      `/partners/${partnerId}/notification-channels/${channel.id}/test`,
    );
    expect(test.body.ok).to.equal(false);
    expect(test.body.outcome).to.match(/loopback/);
    expect(receiver.received('/rebound')).to.have.length(0);
  });
});

describe('alert webhooks in production', function () {
  this.timeout(60_000);
  let h: Harness;

  before(async () => {
    h = await startHarness(undefined, {
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://license-sync.example.com',
      ALLOW_PRIVATE_WEBHOOKS: 'true',
    });
  });
  after(async function () {
    await h?.close(this.currentTest?.state === 'failed');
  });

  it('must be https, even with ALLOW_PRIVATE_WEBHOOKS', async () => {
    const refused = await h.api('post', '/notification-channels', {
      kind: 'teams',
      url: 'http://127.0.0.1:9/hook',
    });
    expect(refused.status).to.equal(400);
    expect(refused.body.error.message).to.equal('url: webhooks must use https in production.');
    const taken = await h.api('post', '/notification-channels', {
      kind: 'teams',
      url: 'https://127.0.0.1:9/hook',
    });
    expect(taken.status).to.equal(201);
    expect(taken.body).not.to.have.property('signingSecret');
  });
});
