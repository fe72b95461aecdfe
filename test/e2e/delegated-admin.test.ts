import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import request from 'supertest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { jobIds, queueNames } from '../../src/queue/catalog.js';
import { launchBrowser } from '../support/browser.js';
import { testScenario } from '../support/emulator.js';
import { releaseTenants, startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, testPassword } from '../support/pages.js';
import { closedPort } from '../support/redis.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';

describe('the Delegated Admin page in a browser (help page steps, against the emulator)', function () {
  this.timeout(180_000);
  let h: Harness;
  let server: Server;
  let browser: Browser;
  let base: string;
  /** What Chromium refused under the Content-Security-Policy, on the pages of the current test. */
  const refusedByPolicy: string[] = [];
  /** The browser contexts of the current test, closed after it. */
  const contexts: BrowserContext[] = [];

  before(async () => {
    const port = await closedPort();
    base = `http://localhost:${port}`;
    const scenario = testScenario();
    scenario.clients[0]!.redirectUris = [`${base}/auth/callback`];
    h = await startHarness(scenario, { PUBLIC_URL: base });
    server = createServer(h.app);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    browser = await launchBrowser();
  });
  after(async function () {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await h?.close(suiteFailed(this));
  });
  // Each test's partner consents with the first partner's accounts.
  beforeEach(async () => {
    refusedByPolicy.length = 0;
    await releaseTenants(h);
  });
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  /** A partner like the help page's: a legacy sync@ account serving every company. */
  async function seededPartner(name: string) {
    const partner = await h.runtime.services.partners.create(name, 'test');
    const legacy = await h.runtime.services.partners.addLegacyAdmin(
      partner.id,
      'sync@first.example',
      'legacy-pw-test-only',
      'test',
    );
    for (const c of h.emulator.state.directory.partner(partnerTenant)!.customers) {
      await h.runtime.services.partners.addCompany(
        partner.id,
        { name: c.name, customerTenantId: c.tenantId, delegatedAdminId: legacy.id },
        'test',
      );
    }
    const { partnerUser } = await createPeople(h, partner.id);
    return { partner, user: partnerUser! };
  }

  /** Consent by `upn` straight through at Microsoft, without a browser; resolves once it is in place. */
  async function grantThroughApi(partnerId: string, upn: string) {
    const started = await h.api('post', `/partners/${partnerId}/consents`, {
      returnTo: '/company/delegated-admin',
      loginHint: upn,
    });
    expect(started.status).to.equal(201);
    const { attemptId, authorizeUrl } = started.body as { attemptId: string; authorizeUrl: string };
    const atMicrosoft = await h.emulator.http.get(authorizeUrl);
    expect(atMicrosoft.status).to.equal(302);
    const callback = new URL(String(atMicrosoft.headers.location));
    expect((await request(h.app).get(callback.pathname + callback.search)).status).to.equal(303);
    const outcome = await h.finished('consent', jobIds.exchangeConsentCode(attemptId));
    expect(outcome).to.include({ outcome: 'completed' });
    await h.finished('consent', jobIds.replaceLegacyAdmins(outcome.delegatedAdminId as string));
  }

  async function newPage(): Promise<Page> {
    // The emulator's certificate is its own: accepted here as a person would once.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) refusedByPolicy.push(message.text());
    });
    return page;
  }

  /** Step 1: log in; the partner's Delegated Admin tab opens. */
  async function logIn(page: Page, email: string, partnerName: string) {
    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(testPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page
      .getByRole('heading', { name: `${partnerName} · Delegated Admin`, exact: true, level: 1 })
      .waitFor();
  }

  /** The row `testId` of the table after heading `#sectionId`, as read under its column headings. */
  async function tableRow(page: Page, sectionId: string, testId: string) {
    const headings = await page.locator(`#${sectionId} + table thead th`).allTextContents();
    const cells = await page.getByTestId(testId).locator('td').allTextContents();
    return Object.fromEntries(headings.map((heading, i) => [heading, cells[i]]));
  }

  /** The line of the License refresh section. */
  const runLine = async (page: Page) => (await page.getByTestId('run').textContent())?.trim();
  const completed = (refreshed: string) =>
    new RegExp(`^Refresh completed \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC: ${refreshed}\\.$`);

  /** Steps 2-3: the button, then Microsoft's account picker and consent page. */
  async function grantAs(page: Page, upn: string, decision: 'Accept' | 'Cancel') {
    await page.getByRole('button', { name: 'Grant Partner Center Consent' }).click();
    await page.getByRole('heading', { name: 'Pick an account' }).waitFor();
    await page.getByRole('button', { name: new RegExp(upn.replace('.', '\\.')) }).click();
    // Microsoft asks for consent once per account; an account that gave it goes straight back.
    const consentPage = page.getByRole('button', { name: decision });
    const back = page.waitForURL(`${base}/partners/**`);
    await Promise.race([back, consentPage.waitFor()]);
    if (await consentPage.isVisible()) await consentPage.click();
    await back;
  }

  it('walks the six steps: log in, grant with the MFA admin, accept, watch the refresh, see the account replaced and every company licensed', async () => {
    const { partner, user } = await seededPartner('Browser Partner');
    const page = await newPage();
    await logIn(page, user.email, partner.name);
    expect(await tableRow(page, 'accounts', 'legacy-row')).to.deep.include({
      Account: 'sync@first.example',
      Model: 'Old (delegated admin)',
      Status: 'In use',
    });

    await grantAs(page, 'admin@first.example', 'Accept');
    // Back on the page: it follows the consent and the initial refresh until both are done.
    await page.getByText(/Refresh completed/).waitFor({ timeout: 90_000 });
    const consent = await tableRow(page, 'accounts', 'consent-row');
    expect(consent).to.deep.include({
      Account: 'admin@first.example',
      Model: 'New (Secure Application Model)',
      MFA: 'Yes',
      'Admin Agent': 'Yes',
    });
    expect(consent.Status).to.match(/^Consent granted \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(await tableRow(page, 'accounts', 'legacy-row')).to.deep.include({
      Account: 'sync@first.example',
      Status: 'Replaced by admin@first.example',
    });
    expect(await page.getByTestId('replaced').textContent()).to.equal(
      'Replaced sync@first.example with admin@first.example; 30 companies are on the new model.',
    );
    expect(await runLine(page)).to.match(completed('30 of 30 companies refreshed'));

    await page.getByRole('link', { name: 'Companies' }).click();
    const rows = page.getByTestId('company-row');
    expect(await rows.count()).to.equal(30);
    for (const row of await rows.all()) {
      expect(await row.getByTestId('license').count()).to.be.greaterThan(0);
    }
    expect(page.url()).to.equal(`${base}/partners/${partner.id}/companies`);
    expect(refusedByPolicy).to.deep.equal([]);
  });

  it('Cancel at Microsoft: a clear message, and nothing changed', async () => {
    const { partner, user } = await seededPartner('Cancelling Partner');
    const page = await newPage();
    await logIn(page, user.email, partner.name);
    // An account that never consented, so Microsoft shows the consent page.
    await grantAs(page, 'staff@first.example', 'Cancel');
    expect(await page.getByTestId('next-action').textContent()).to.equal(
      'Consent was cancelled at Microsoft, so nothing changed. Click Grant Partner Center Consent to try again.',
    );
    expect(await tableRow(page, 'accounts', 'legacy-row')).to.deep.include({ Status: 'In use' });
  });

  it('an account without MFA: the page says to enable MFA and grant again', async () => {
    const { partner, user } = await seededPartner('No MFA Partner');
    const page = await newPage();
    await logIn(page, user.email, partner.name);
    await grantAs(page, 'nomfa@first.example', 'Accept');
    await page.getByText(/without multi-factor authentication/).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('next-action').textContent()).to.equal(
      'nomfa@first.example signed in without multi-factor authentication. Enable MFA on this account, then grant consent again.',
    );
    expect(await tableRow(page, 'accounts', 'legacy-row')).to.deep.include({ Status: 'In use' });
  });

  it('a failed company is retried from the page once its fault is gone', async () => {
    const { partner, user } = await seededPartner('Retrying Partner');
    const failing = h.emulator.state.directory.partner(partnerTenant)!.customers[3]!;
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, {
      path: `/v1/customers/${failing.tenantId}/subscribedskus`,
      status: 403,
    });
    const page = await newPage();
    await logIn(page, user.email, partner.name);
    try {
      await grantAs(page, 'admin@first.example', 'Accept');
      await page.getByText(/Refresh completed/).waitFor({ timeout: 90_000 });
      expect(await page.getByTestId('failure-row').count()).to.equal(1);
      expect(await tableRow(page, 'failures', 'failure-row')).to.deep.include({
        Company: failing.name,
        Attempts: '1',
      });
      expect(await runLine(page)).to.match(completed('29 of 30 companies refreshed, 1 failed'));
    } finally {
      await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    }
    await page.getByRole('button', { name: `Retry ${failing.name}` }).click();
    await page.getByText('Retrying 1 company.', { exact: true }).waitFor();
    // The page follows the reopened run until it completes, with no failure left.
    await page
      .getByText(/Refresh completed.*30 of 30 companies refreshed/)
      .waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('failure-row').count()).to.equal(0);
    expect(await runLine(page)).to.match(completed('30 of 30 companies refreshed'));
  });

  it('an operator sees every partner, starts a sync and opens Bull Board from the page', async () => {
    // A consented partner whose initial refresh has ended, so Sync now starts a new one.
    const { partner } = await seededPartner('Operated Partner');
    await grantThroughApi(partner.id, 'admin@first.example');
    await h.runEnded((await h.runtime.services.runs.latest(partner.id))!.id);
    await h.runtime.services.partners.create('Unconsented Partner', 'test');
    const { operator } = await createPeople(h);
    const page = await newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill(operator.email);
    await page.getByLabel('Password').fill(testPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Partners', exact: true, level: 1 }).waitFor();
    for (const name of ['Operated Partner', 'Unconsented Partner']) {
      expect(await page.getByRole('link', { name, exact: true }).count(), name).to.equal(1);
    }
    await page.getByRole('button', { name: 'Sync now Operated Partner', exact: true }).click();
    await page.waitForURL(`${base}/partners/${partner.id}/delegated-admin`);
    await page.getByRole('status').getByText('Refresh started.', { exact: true }).waitFor();
    await page.getByRole('link', { name: 'Queues', exact: true }).click();
    await page.waitForURL(`${base}/admin/queues**`);
    await page.getByRole('banner').getByText('license-sync', { exact: true }).waitFor();
    expect(await page.title()).to.equal('license-sync');
    // Its script ran under the dashboard's policy: the queues are listed, by name.
    const queueLinks = page.getByRole('navigation').getByRole('link');
    await queueLinks.getByText('maintenance', { exact: true }).waitFor();
    expect(await queueLinks.allTextContents()).to.deep.equal(queueNames);
    // Its own calls that change a queue pass the origin check.
    const paused = await page.evaluate(async () => {
      const pause = await fetch('api/queues/maintenance/pause', { method: 'PUT' });
      const resume = await fetch('api/queues/maintenance/resume', { method: 'PUT' });
      return [pause.status, resume.status];
    });
    expect(paused).to.deep.equal([200, 200]);
    // Only the third-party web fonts Bull Board asks for are refused.
    expect(refusedByPolicy.filter((text) => !text.includes('fonts.googleapis.com'))).to.deep.equal(
      [],
    );
  });
});
