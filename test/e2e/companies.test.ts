import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, testPassword } from '../support/pages.js';
import { closedPort } from '../support/redis.js';
import { termsCustomer } from '../support/subscriptions.js';

const secondPartner = 'bbbbbbbb-0000-4000-8000-000000000002';
const explicitCustomer = 'cccccccc-0000-4000-8000-000000000003';

// The Companies tab after two real refreshes, the second failing for one company: search,
// filters, the CSV download, the stale mark, and a company's own page.

describe('the Companies tab in a browser', function () {
  this.timeout(240_000);
  let h: Harness;
  let server: Server;
  let browser: Browser;
  let base: string;
  let partnerId: string;
  let email: string;
  const contexts: BrowserContext[] = [];

  before(async () => {
    const port = await closedPort();
    base = `http://localhost:${port}`;
    h = await startHarness(
      scenarioWith((p) =>
        p.tenantId === secondPartner
          ? {
              ...p,
              customers: [...(p.customers as unknown[]), termsCustomer] as typeof p.customers,
            }
          : p,
      ),
      { PARTNER_CENTER_REQUESTS_PER_SECOND: '20' },
    );
    partnerId = (
      (await h.api('post', '/partners', { name: 'Browser Companies' })).body as { id: string }
    ).id;
    const legacy = (
      await h.api('post', `/partners/${partnerId}/delegated-admins`, {
        username: 'sync@second.example',
        password: 'legacy-pw-test-only',
      })
    ).body as { id: string };
    for (const [customerTenantId, name] of [
      [explicitCustomer, 'Explicit Customer'],
      [termsCustomer.tenantId, 'Terms Customer'],
    ] as const)
      await h.runtime.services.partners.addCompany(
        partnerId,
        { name, customerTenantId, delegatedAdminId: legacy.id },
        'test',
      );
    await h.grant(partnerId, 'admin@second.example');
    const { run } = (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      run: { id: string };
    };
    expect(await h.runEnded(run.id)).to.include({ status: 'completed', succeeded: 2 });
    // A second run that fails for one company: its counts are now stale.
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, [
      { path: `/v1/customers/${explicitCustomer}/subscribedskus`, status: 403 },
    ]);
    try {
      const started = await h.api('post', `/partners/${partnerId}/refresh`);
      expect(await h.runEnded((started.body as { runId: string }).runId)).to.include({
        failed: 1,
      });
    } finally {
      await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    }
    email = (await createPeople(h, partnerId)).partnerUser!.email;
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

  async function signedIn(viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(testPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Browser Companies · Delegated Admin' }).waitFor();
    await page.getByRole('link', { name: 'Companies', exact: true }).click();
    await page.getByRole('heading', { name: 'Browser Companies · Companies' }).waitFor();
    return page;
  }

  const companyNames = (page: Page) =>
    page.getByTestId('company-row').locator('td:first-child a').allTextContents();

  it('searches, filters, downloads the view as CSV, and marks stale counts', async () => {
    const page = await signedIn({ width: 1280, height: 900 });
    expect(await companyNames(page)).to.deep.equal(['Explicit Customer', 'Terms Customer']);
    expect(await page.getByTestId('product-total').count()).to.be.greaterThan(0);
    const stale = page.getByTestId('company-row').filter({ hasText: 'Explicit Customer' });
    expect(await stale.getByTestId('stale').textContent()).to.match(
      /^Stale: The latest refresh failed for this company\./,
    );

    // Search, then a filter on top (a GET form: the query string carries both).
    await page.getByLabel('Search by name, domain or tenant id').fill('customer');
    await page.getByLabel('Stale counts').check();
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/search=customer&filter=stale/);
    expect(await companyNames(page)).to.deep.equal(['Explicit Customer']);
    expect(await page.getByTestId('showing').textContent()).to.match(/^Showing 1 of 2 companies/);
    await page.getByLabel('Stale counts').uncheck();
    await page.getByLabel('Search by name, domain or tenant id').fill('terms');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/search=terms/);
    expect(await companyNames(page)).to.deep.equal(['Terms Customer']);

    // The CSV of this view: RFC 4180, parsed back, one row per product of Terms Customer.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download CSV' }).click(),
    ]);
    const csv = readFileSync(await download.path(), 'utf8');
    expect(csv.replace(/\r\n/g, '')).to.not.include('\n');
    const rows = parse<Record<string, string>>(csv, { columns: true });
    expect(rows.length).to.be.greaterThan(0);
    for (const r of rows) {
      expect(r).to.include({
        company: 'Terms Customer',
        customer_tenant_id: termsCustomer.tenantId,
        stale: 'false',
      });
      expect(r.as_of).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    expect(rows.map((r) => r.product)).to.include('Microsoft 365 Business Premium');

    // An unknown filter is ignored, with a notice.
    await page.goto(`${base}/partners/${partnerId}/companies?filter=cheap`);
    expect(await page.getByTestId('query-notice').textContent()).to.contain('filter=cheap');
    expect(await companyNames(page)).to.have.length(2);
  });

  it('keeps counts whole on a phone, and shows a company with its access and last run', async () => {
    const page = await signedIn({ width: 390, height: 844 });
    // Each count group sits on one line: its height is one line's.
    for (const counts of await page.locator('[data-testid="license"] .nowrap').all()) {
      const box = (await counts.boundingBox())!;
      const lineHeight = await counts.evaluate((e) => parseFloat(getComputedStyle(e).lineHeight));
      expect(box.height).to.be.at.most(lineHeight * 1.5);
    }
    const scrolls = await page.evaluate(
      () => document.documentElement.scrollWidth > document.documentElement.clientWidth,
    );
    expect(scrolls, 'the page scrolls sideways on a phone').to.equal(false);

    await page.getByRole('link', { name: 'Explicit Customer' }).click();
    await page.getByRole('heading', { name: 'Browser Companies · Explicit Customer' }).waitFor();
    expect(await page.getByTestId('last-run').textContent()).to.contain(
      'The refresh failed for this company.',
    );
    expect(await page.getByTestId('stale').textContent()).to.match(/^Stale counts: /);
    expect(await page.getByTestId('access').count()).to.equal(1);
    expect(await page.getByRole('heading', { name: 'Custom licenses' }).count()).to.equal(1);
    expect(await page.getByTestId('license').first().locator('td').first().textContent()).to.match(
      /^Microsoft 365|^Exchange/,
    );
  });
});
