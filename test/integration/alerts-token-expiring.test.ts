import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { jobIds } from '../../src/queue/catalog.js';
import { delegatedAdmins } from '../../src/store/schema.js';
import { testScenario } from '../support/emulator.js';
import { publicUrl, startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const dayMs = 86_400_000;

describe('custom-license token expiring: raised once by the reconciler within 14 days of the limit, resolved once used again', function () {
  this.timeout(120_000);
  let h: Harness;
  let receiver: WebhookReceiver;
  let partnerId: string;

  const reconcile = async () => {
    const job = await h.runtime.queues.enqueue(
      'reconcile',
      {},
      { jobId: `reconcile-${Date.now()}-${Math.random()}` },
    );
    await h.finished('maintenance', job.id!);
  };
  const messages = () =>
    receiver.received('/hook').map((r) => {
      const m = JSON.parse(r.body) as { type: string; alert: { event: string; key: string } };
      return `${m.type} ${m.alert.event} ${m.alert.key}`;
    });

  before(async function () {
    h = await startHarness(testScenario(), { ALLOW_PRIVATE_WEBHOOKS: 'true' });
    receiver = await startWebhookReceiver();
    partnerId = (
      (await h.api('post', '/partners', { name: 'Token Partner' })).body as { id: string }
    ).id;
    const hook = await h.api('post', `/partners/${partnerId}/notification-channels`, {
      kind: 'webhook',
      url: receiver.url('/hook'),
      events: ['customLicenseTokenExpiring'],
    });
    expect(hook.status, hook.text).to.equal(201);
    await h.grant(partnerId, 'admin@second.example');
    const started = await h.api('post', `/partners/${partnerId}/custom-license-token/consents`, {
      returnTo: '/company/delegated-admin',
      loginHint: 'admin@second.example',
    });
    expect(started.status).to.equal(201);
    const { attemptId, authorizeUrl } = started.body as { attemptId: string; authorizeUrl: string };
    const location = new URL(String((await h.emulator.http.get(authorizeUrl)).headers.location));
    expect(location.origin).to.equal(new URL(publicUrl).origin);
    await request(h.app).get(location.pathname + location.search);
    expect(await h.finished('consent', jobIds.exchangeConsentCode(attemptId))).to.include({
      outcome: 'completed',
    });
  });
  after(async function () {
    await receiver?.close();
    await h?.close(suiteFailed(this));
  });

  it('a token used 80 days ago: one message naming its expiry date, however often the reconciler passes', async () => {
    await reconcile();
    expect(messages()).to.deep.equal([]);
    // The token has not been redeemed for 80 days: 10 days are left of its 90.
    const lastUsedAt = new Date(Date.now() - 80 * dayMs);
    await h.runtime.store.db
      .update(delegatedAdmins)
      .set({ lastUsedAt })
      .where(eq(delegatedAdmins.kind, 'custom_license'));
    await reconcile();
    await receiver.waitFor('/hook', 1, 20_000);
    await reconcile();
    const expiresOn = new Date(lastUsedAt.getTime() + 90 * dayMs).toISOString().slice(0, 10);
    expect(messages()).to.deep.equal([
      `alert.raised customLicenseTokenExpiring custom-license-token-expiring-${expiresOn}`,
    ]);
  });

  it('validating the token uses it: the next pass resolves the alert, once', async () => {
    const asked = await h.api('post', `/partners/${partnerId}/custom-license-token/validate`);
    expect(asked.status).to.equal(202);
    await h.finished('refresh', (asked.body as { jobId: string }).jobId);
    await reconcile();
    await receiver.waitFor('/hook', 2, 20_000);
    await reconcile();
    expect(messages()).to.have.length(2);
    expect(messages()[1]).to.match(/^alert\.resolved customLicenseTokenExpiring /);
  });
});
