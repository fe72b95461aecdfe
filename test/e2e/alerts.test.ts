import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Browser, Locator, Page } from 'playwright-core';
import { webhookSignature } from '../../src/domain/webhook-messages.js';
import { jobIds } from '../../src/queue/catalog.js';
import { alertDeliveries, alerts } from '../../src/store/schema.js';
import { launchBrowser } from '../support/browser.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, testPassword } from '../support/pages.js';
import { closedPort } from '../support/redis.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';

// A partner user adds a webhook on the Alerts tab, copies its signing secret, sends a test, and
// sees the alert that a revoked consent raises, with its delivery, in the history.

describe('the Alerts tab in a browser', function () {
  this.timeout(60_000);
  let h: Harness;
  let server: Server;
  let browser: Browser;
  let receiver: WebhookReceiver;
  let base: string;
  let partnerId: string;
  let page: Page;

  before(async () => {
    const port = await closedPort();
    base = `http://localhost:${port}`;
    // Access tokens live under MSAL's renewal margin, so the next refresh meets the revocation.
    h = await startHarness(
      {
        ...scenarioWith((p) =>
          p.tenantId === partnerTenant
            ? { ...p, customers: { generate: { seed: 5, count: 2 } } }
            : p,
        ),
        tokenLifetimes: { accessTokenSec: 299 },
      },
      { ALLOW_PRIVATE_WEBHOOKS: 'true' },
    );
    partnerId = (await h.runtime.services.partners.create('Alerted Browser', 'test')).id;
    await h.grant(partnerId, 'admin@first.example');
    await h.runEnded((await h.runtime.services.runs.latest(partnerId))!.id);
    receiver = await startWebhookReceiver();
    server = createServer(h.app);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    browser = await launchBrowser();
    const { partnerUser } = await createPeople(h, partnerId);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // An element that is not there fails the test in seconds, not after the mocha timeout.
    context.setDefaultTimeout(5_000);
    page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill(partnerUser!.email);
    await page.getByLabel('Password').fill(testPassword);
    await submits(page.getByRole('button', { name: 'Log in' }));
  });
  after(async function () {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await receiver?.close();
    await h?.close(suiteFailed(this));
  });

  /** Clicks a submit button or link and waits for the page the server answers with. */
  async function submits(target: Locator) {
    const navigated = page.waitForEvent('framenavigated', {
      predicate: (frame) => frame === page.mainFrame(),
      timeout: 10_000,
    });
    await target.click();
    await navigated;
    await page.waitForLoadState('load');
  }
  /** The sentence on top of the page, or what the page says instead (failing fast, readably). */
  async function flash() {
    const top = page.getByTestId('flash');
    if ((await top.count()) > 0) return top.textContent();
    const beside = await page.getByTestId('form-error').allTextContents();
    return `no sentence on top; ${beside.length > 0 ? `beside a form: ${beside.join(' ')}` : `the page: ${await page.title()}`}`;
  }

  it('adds a webhook, shows its secret once, sends a test, and lists the alert a revoked consent raises with its delivery', async () => {
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByRole('heading', { name: 'Alerted Browser · Alerts', level: 1 }).waitFor();
    await page.getByTestId('no-alerts').waitFor();

    const add = page.locator('#add-channel');
    await add.locator('summary').click();
    await add.getByLabel('Kind').selectOption({ label: 'Generic webhook (signed JSON)' });
    await add.getByLabel('URL').fill(receiver.url('/hook'));
    await add.getByLabel('Partner Center consent must be granted again', { exact: false }).check();
    await submits(add.getByRole('button', { name: 'Add the channel' }));
    expect(await flash()).to.equal(
      `Added the Generic webhook (signed JSON) channel to 127.0.0.1:${receiver.port}.`,
    );
    const secret = (await page.getByTestId('signing-secret-value').textContent())!;
    expect(secret).to.match(/^whsec_[A-Za-z0-9_-]{43}$/);
    const channel = page.getByTestId('channel');
    expect(await channel.locator('td').allTextContents()).to.deep.equal([
      'Generic webhook (signed JSON)',
      `127.0.0.1:${receiver.port}`,
      'Partner Center consent must be granted again (revoked, MFA required again, expired).',
      'On',
      'Off',
      'OK',
      await channel.locator('td').last().textContent(),
    ]);
    await page.reload();
    expect(await page.getByTestId('signing-secret').count()).to.equal(0);
    expect(await page.content()).not.to.contain(secret);

    await submits(channel.getByRole('button', { name: 'Send a test' }));
    expect(await flash()).to.equal(
      `Test message sent to 127.0.0.1:${receiver.port}. Delivered: the receiver answered 2xx.`,
    );
    const [test] = receiver.received('/hook');
    expect(JSON.parse(test!.body).type).to.equal('test');
    expect(test!.headers['license-sync-signature']).to.equal(
      webhookSignature(secret, Number(test!.headers['license-sync-timestamp']), test!.body),
    );

    // Microsoft revokes the admin's tokens; the next refresh meets it and raises the alert.
    await h.emulator.http.post(`${h.emulator.url}/_emulator/users/admin@first.example/revoke`);
    const started = await h.api('post', `/partners/${partnerId}/refresh`);
    expect(started.status).to.equal(202);
    await h.finished('partners', jobIds.refreshPartner((started.body as { runId: string }).runId));
    const [delivery] = await h.runtime.store.db
      .select({ id: alertDeliveries.id })
      .from(alertDeliveries)
      .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
      .where(eq(alerts.partnerId, partnerId));
    expect(await h.finished('alerts', jobIds.deliverAlert(delivery!.id))).to.deep.equal({
      sent: true,
    });
    const [, raised] = await receiver.waitFor('/hook', 2);
    expect(JSON.parse(raised!.body).alert.event).to.equal('consentNeeded');

    await page.reload();
    const alert = page.getByTestId('alert');
    expect(await alert.count()).to.equal(1);
    const cells = await alert.locator('td').allTextContents();
    expect(cells[0]).to.match(/^Partner Center consent must be granted again/);
    expect(cells.slice(1, 2)).to.deep.equal(['critical']);
    expect(cells[2]).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(cells[3]).to.equal('not yet');
    expect(await alert.getByTestId('delivery').allTextContents()).to.deep.equal([
      `Generic webhook (signed JSON) · 127.0.0.1:${receiver.port}: sent (1 attempt)`,
    ]);
    await submits(alert.getByRole('link', { name: 'Go to the page that fixes it' }));
    expect(page.url()).to.equal(`${base}/partners/${partnerId}/delegated-admin`);
    await page.getByTestId('consent-row').getByText('Consent must be granted again').waitFor();
  });

  it('deletes a channel after a confirmation page', async () => {
    const { channel } = await h.runtime.services.notificationChannels.create(
      partnerId,
      { kind: 'slack', url: receiver.url('/slack') },
      'test',
    );
    await page.goto(`${base}/partners/${partnerId}/alerts`);
    const row = page.getByTestId('channel').filter({ hasText: 'Slack' });
    await submits(row.getByRole('link', { name: 'Delete…' }));
    await page
      .getByText(`Delete the Slack channel sending to 127.0.0.1:${receiver.port}?`)
      .waitFor();
    await submits(page.getByRole('button', { name: 'Delete the channel' }));
    expect(await flash()).to.equal(`Deleted the channel to 127.0.0.1:${receiver.port}.`);
    expect(await page.getByTestId('channel').filter({ hasText: 'Slack' }).count()).to.equal(0);
    expect(await h.runtime.services.notificationChannels.get(partnerId, channel.id)).to.equal(
      undefined,
    );
  });
});
