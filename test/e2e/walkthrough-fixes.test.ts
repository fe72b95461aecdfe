import { createServer, type Server } from 'node:http';
import { Job } from 'bullmq';
import { expect } from 'chai';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { json, testScenario } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, testPassword } from '../support/pages.js';
import { closedPort } from '../support/redis.js';

// What a walk through the pages found, as a person sees it in a browser: texts, states of the
// buttons, error pages that lead back, and the operators' views of partners and jobs.

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
/** The pages' --accent colour, as Chromium computes a primary button's background. */
const accent = 'rgb(11, 92, 173)';
const utcTime = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC';

describe('fixes from the walk-through, in a browser', function () {
  this.timeout(120_000);
  let h: Harness;
  let server: Server;
  let browser: Browser;
  let base: string;
  const contexts: BrowserContext[] = [];

  before(async () => {
    const port = await closedPort();
    base = `http://localhost:${port}`;
    const scenario = testScenario();
    scenario.clients[0]!.redirectUris = [`${base}/auth/callback`];
    // Shorter than MSAL's five-minute renewal margin: every job redeems the refresh token, so
    // a sign-in Microsoft no longer accepts reaches the next refresh.
    scenario.tokenLifetimes = { accessTokenSec: 299 };
    // The emulated partner allows 50 requests a second: pacing at 40 keeps the refreshes short.
    h = await startHarness(scenario, {
      PUBLIC_URL: base,
      PARTNER_CENTER_REQUESTS_PER_SECOND: '40',
    });
    server = createServer(h.app);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    browser = await launchBrowser();
  });
  after(async function () {
    for (const context of contexts.splice(0)) await context.close();
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await h?.close(suiteFailed(this));
  });

  async function loggedInPage(email: string): Promise<Page> {
    // The emulator's certificate is its own: accepted here as a person would once.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    contexts.push(context);
    const page = await context.newPage();
    // What is on a page shows at once; the waits for background work set their own limits.
    page.setDefaultTimeout(10_000);
    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(testPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1 }).waitFor();
    return page;
  }

  const background = (locator: Locator) =>
    locator.evaluate((element) => getComputedStyle(element).backgroundColor);

  /** An error or message page: its status, heading, sentence, and its styled way back. */
  async function messagePage(page: Page, url: string) {
    const response = await page.goto(url);
    const back = page.locator('main a.button');
    return {
      status: response?.status(),
      type: response?.headers()['content-type'],
      title: await page.getByRole('heading', { level: 1 }).textContent(),
      message: await page.getByRole('alert').textContent(),
      back: { text: await back.textContent(), background: await background(back) },
    };
  }

  /** The table after heading `#sectionId`, each row read under its column headings. */
  async function tableRows(page: Page, sectionId: string, rowTestId: string) {
    const headings = await page.locator(`#${sectionId} + table thead th`).allTextContents();
    const rows = [];
    for (const row of await page.getByTestId(rowTestId).all()) {
      const cells = await row.locator('td').allTextContents();
      rows.push(Object.fromEntries(headings.map((heading, i) => [heading, cells[i]])));
    }
    return { headings, rows };
  }

  /** Microsoft's account picker, then its consent page when this account has not consented. */
  async function signInAtMicrosoft(page: Page, upn: string) {
    await page.getByRole('heading', { name: 'Pick an account' }).waitFor();
    await page.getByRole('button', { name: new RegExp(upn.replace('.', '\\.')) }).click();
    const accept = page.getByRole('button', { name: 'Accept' });
    const back = page.waitForURL(`${base}/partners/**`);
    await Promise.race([back, accept.waitFor()]);
    if (await accept.isVisible()) await accept.click();
    await back;
  }

  /** The emulator's token endpoint answers the next code exchange `ms` late. */
  const slowNextTokenAnswer = (ms: number) =>
    h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, {
      method: 'POST',
      path: '/*/oauth2/v2.0/token',
      delayMs: ms,
      count: 1,
    });

  it('before any partner: the operators’ empty state, a styled 404 that leads home, and the icon', async () => {
    expect(await h.runtime.services.partners.list(), 'a database without partners').to.be.empty;
    const { operator } = await createPeople(h);
    const page = await loggedInPage(operator.email);
    expect(await page.getByTestId('no-partners').textContent()).to.equal(
      'No partners yet. Add the first one below; its users can then grant consent.',
    );
    expect(await page.locator('#partners + table').count()).to.equal(0);

    expect(await messagePage(page, `${base}/nope`)).to.deep.equal({
      status: 404,
      type: 'text/html; charset=utf-8',
      title: 'Page not found',
      message: 'There is no page at this address.',
      back: { text: 'Back to license-sync', background: accent },
    });
    await page.getByRole('link', { name: 'Back to license-sync' }).click();
    await page.getByRole('heading', { name: 'Partners', level: 1, exact: true }).waitFor();

    // The icon the pages link to is an image the browser can draw.
    const icon = await page.locator('link[rel="icon"]').getAttribute('href');
    expect(icon).to.equal('/favicon.ico');
    const drawn = await page.evaluate(async (href) => {
      const image = new Image();
      image.src = href;
      return image.decode().then(
        () => 'drawn',
        () => 'not an image',
      );
    }, icon!);
    expect(drawn).to.equal('drawn');
    const served = await page.goto(`${base}/favicon.ico`);
    expect(served?.status()).to.equal(200);
    expect(served?.headers()['content-type']).to.match(/^image\/svg\+xml/);
  });

  it('a partner consents, counts custom licenses, replays a consent; the operator sees it all', async () => {
    const partner = await h.runtime.services.partners.create('Walkthrough Partner', 'test');
    const legacy = await h.runtime.services.partners.addLegacyAdmin(
      partner.id,
      'sync@first.example',
      'legacy-pw-test-only',
      'test',
    );
    const customers = h.emulator.state.directory.partner(partnerTenant)!.customers;
    const companies = [];
    for (const c of customers) {
      companies.push(
        await h.runtime.services.partners.addCompany(
          partner.id,
          { name: c.name, customerTenantId: c.tenantId, delegatedAdminId: legacy.id },
          'test',
        ),
      );
    }
    // A custom license for three companies, and no custom-license token yet: their counts fail.
    const defined = await h.api('post', `/partners/${partner.id}/custom-licenses`, {
      name: 'Managed Users',
      kind: 'licensed_users',
      companyIds: companies.slice(0, 3).map((c) => c.id),
    });
    expect(defined.status, defined.text).to.equal(201);
    // One company's Partner Center answers 503 on every attempt; its retries are promoted as
    // an operator would from Bull Board, so ten attempts do not take minutes.
    const failing = customers[5]!;
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, {
      path: `/v1/customers/${failing.tenantId}/subscribedskus`,
      status: 503,
    });
    const refreshQueue = h.runtime.queues.get('refresh');
    // Only the wait after a failed attempt: a pacing postponement promoted would start again
    // at once, be put back again, and use up the job's starts.
    let promotedAfter = 0;
    const promoteRetries = ({ jobId }: { jobId: string }) => {
      if (!jobId.includes(failing.tenantId)) return;
      void Job.fromId(refreshQueue, jobId)
        .then(async (job) => {
          if (!job || job.attemptsMade <= promotedAfter) return;
          promotedAfter = job.attemptsMade;
          await job.promote();
        })
        .catch(() => undefined);
    };
    h.events('refresh').on('delayed', promoteRetries);
    const { partnerUser } = await createPeople(h, partner.id);
    const page = await loggedInPage(partnerUser!.email);

    // The exchange answers late and the customer listing too, so both show on the page.
    await slowNextTokenAnswer(3_000);
    // (The consent reads the customer list too: the delay holds until the listing is seen.)
    const slowListing = json<{ faults: { id: string }[] }>(
      await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, {
        path: '/v1/customers',
        // Long enough that a page reload lands inside it on a loaded machine.
        delayMs: 8_000,
      }),
    ).faults[0]!.id;
    await page.getByRole('button', { name: 'Grant Partner Center Consent' }).click();
    await signInAtMicrosoft(page, 'admin@first.example');
    const completing = page.getByRole('button', { name: 'Completing consent…' });
    await completing.waitFor();
    expect(await completing.isDisabled(), 'Grant disabled while completing').to.equal(true);
    expect(await completing.getAttribute('class')).to.equal(null);
    expect(await background(completing)).to.not.equal(accent);
    await page
      .getByRole('status')
      .getByText('Refreshing: listing the partner’s customers…', { exact: true })
      .waitFor({ timeout: 30_000 });
    await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults/${slowListing}`);
    await page.getByText(/Refresh completed/).waitFor({ timeout: 60_000 });
    h.events('refresh').off('delayed', promoteRetries);
    await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    expect(await page.getByTestId('run').textContent()).to.match(
      new RegExp(
        `^Refresh completed ${utcTime}: 29 of 30 companies refreshed, 1 failed; custom licenses failed for 3\\.$`,
      ),
    );
    const grant = page.getByRole('button', { name: 'Grant Partner Center Consent' });
    expect(await grant.isEnabled()).to.equal(true);
    expect(await background(grant)).to.equal(accent);
    // Nothing retries the failed company any more but the Retry button beside it.
    const failures = await tableRows(page, 'failures', 'failure-row');
    expect(failures.rows[0]?.['Last tried']).to.match(new RegExp(`^${utcTime}$`));
    expect(failures.rows).to.deep.equal([
      {
        Company: failing.name,
        Error: 'Partner Center failed on every attempt (503). Retry this customer.',
        Attempts: '10',
        'Last tried': failures.rows[0]?.['Last tried'],
        Action: 'Retry',
      },
    ]);

    // The custom-license token: the page follows its consent to the end, with no reload.
    expect(await page.getByTestId('token-status').textContent()).to.equal('Missing');
    let authorizeUrl: string | undefined;
    page.on('request', (request) => {
      if (request.url().includes('/oauth2/v2.0/authorize?')) authorizeUrl ??= request.url();
    });
    await slowNextTokenAnswer(3_000);
    await page.getByRole('button', { name: 'Generate custom-license token' }).click();
    await signInAtMicrosoft(page, 'admin@first.example');
    const tokenCompleting = page.getByRole('button', { name: 'Completing the token…' });
    await tokenCompleting.waitFor();
    expect(await tokenCompleting.isDisabled()).to.equal(true);
    expect(await page.getByTestId('token-status').textContent()).to.equal('Missing');
    await page
      .getByTestId('token-status')
      .getByText('Valid', { exact: true })
      .waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('token-status').textContent()).to.match(
      new RegExp(`^Valid · admin@first\\.example · validated ${utcTime}$`),
    );

    // Back at Microsoft with the same consent link: a new code for a used consent.
    expect(authorizeUrl).to.be.a('string');
    await page.goto(authorizeUrl!);
    await page.getByRole('heading', { name: 'Pick an account' }).waitFor();
    const used = page.waitForResponse((r) => r.url().startsWith(`${base}/auth/callback`));
    await page.getByRole('button', { name: /admin@first\.example/ }).click();
    expect((await used).status()).to.equal(400);
    await page.getByRole('heading', { name: 'Consent already used', level: 1 }).waitFor();
    const back = page.getByRole('link', { name: 'Back to the Delegated Admin page' });
    expect(await background(back)).to.equal(accent);
    await back.click();
    await page
      .getByRole('heading', { name: 'Walkthrough Partner · Delegated Admin', level: 1 })
      .waitFor();

    // The queue dashboard is for operators: a partner user gets a page saying so.
    expect(await messagePage(page, `${base}/admin/queues`)).to.deep.equal({
      status: 403,
      type: 'text/html; charset=utf-8',
      title: 'Not allowed',
      message: 'The queue dashboard is for operators only.',
      back: { text: 'Back to license-sync', background: accent },
    });

    // The operator's partners: consent, last refresh and failures of each.
    await h.runtime.services.partners.create('Quiet Partner', 'test');
    const { operator } = await createPeople(h);
    const ops = await loggedInPage(operator.email);
    const partnersTable = await tableRows(ops, 'partners', 'partner-row');
    expect(partnersTable.headings).to.deep.equal([
      'Partner',
      'Users',
      'Status',
      'Last refresh',
      'Failures',
      'Actions',
    ]);
    const row = (name: string) => partnersTable.rows.find((r) => r.Partner === name);
    expect(row('Walkthrough Partner')).to.deep.include({
      Status: 'Consent granted',
      Failures: '1 failed',
    });
    expect(row('Walkthrough Partner')!['Last refresh']).to.match(
      new RegExp(`^Completed ${utcTime}$`),
    );
    expect(row('Quiet Partner')).to.deep.include({
      Users: 'none',
      Status: 'No consent yet',
      'Last refresh': 'never',
      Failures: '—',
    });

    // Bull Board names a customer's job with its company (an "attempt #10" mark may follow).
    await ops.goto(`${base}/admin/queues/queue/refresh?status=completed`);
    await ops
      .getByText(new RegExp(`^refreshCustomer · ${failing.name}(attempt #\\d+)?$`))
      .waitFor({ timeout: 15_000 });

    // Microsoft now wants a fresh MFA sign-in: the next refresh stops and says so once.
    await h.emulator.http.post(`${h.emulator.url}/_emulator/users/admin@first.example/policy`, {
      mfaMaxAgeSec: 60,
    });
    await h.emulator.http.post(`${h.emulator.url}/_emulator/clock`, { advanceSeconds: 61 });
    await ops.goto(`${base}/operator`);
    await ops.getByRole('button', { name: 'Sync now Walkthrough Partner', exact: true }).click();
    const stopped = ops.getByTestId('run').getByText(/^Refresh stopped/);
    await stopped.waitFor({ timeout: 30_000 });
    const line = await stopped.textContent();
    // The stop's sentence ends the line with its own period, not a second one.
    expect(line).to.equal(
      "Refresh stopped. The consenting account's multi-factor authentication is older than your Conditional Access policy allows. Grant Partner Center consent again, signing in with MFA.",
    );
    // Its accounts stay replaced: the partner is on the new model, waiting for a new consent.
    const status = await h.api('get', `/partners/${partner.id}/delegated-admin`);
    expect(status.body).to.include({ model: 'sam' });
    await ops.goto(`${base}/operator`);
    const after = await tableRows(ops, 'partners', 'partner-row');
    expect(after.rows.find((r) => r.Partner === 'Walkthrough Partner')).to.include({
      Status: 'Consent must be granted again',
    });
  });
});
