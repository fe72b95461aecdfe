import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ConnectwiseState } from '../../emulator/psa/connectwise/state.js';
import {
  customers,
  fixture,
  partnerTenant,
  seedBillingPartner,
  sku,
  tenant,
} from '../support/billing-fixture.js';
import { launchBrowser } from '../support/browser.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, testPassword } from '../support/pages.js';
import { startTestPsa, type TestPsa } from '../support/psa.js';
import { closedPort } from '../support/redis.js';
import { within } from '../support/within.js';

// The Billing tab as a partner's user works it, against ConnectWise PSA's emulator holding the
// fixture of test/support/billing-fixture.ts; every number below is written by hand from it.

describe('the Billing tab in a browser (ConnectWise PSA emulator)', function () {
  this.timeout(240_000);
  let h: Harness;
  let psa: TestPsa;
  let server: Server;
  let browser: Browser;
  let base: string;
  const contexts: BrowserContext[] = [];

  before(async () => {
    psa = await startTestPsa('connectwise', fixture);
    const port = await closedPort();
    base = `http://localhost:${port}`;
    h = await startHarness(
      scenarioWith((p) => (p.tenantId === partnerTenant ? { ...p, customers } : p)),
      { PARTNER_CENTER_REQUESTS_PER_SECOND: '200' },
      { extraCaPem: psa.emulator.ca },
    );
    server = createServer(h.app);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    browser = await launchBrowser();
  });
  after(async function () {
    for (const context of contexts.splice(0)) await context.close();
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await h?.close(suiteFailed(this));
    await psa?.emulator.stop();
  });

  /**
   * Resolves once billing jobs whose ids start with each given prefix completed, as many as
   * counted; listening starts here, before the click that queues them.
   */
  function billingJobsCompleted(expected: Record<string, number>, what: string): Promise<void> {
    const events = h.events('billing');
    const left = { ...expected };
    return within(
      60_000,
      what,
      new Promise<void>((resolve, reject) => {
        const done = () => {
          events.off('completed', completed);
          events.off('failed', failed);
        };
        const completed = ({ jobId }: { jobId: string }) => {
          const prefix = Object.keys(left).find((p) => jobId.startsWith(p));
          if (!prefix) return;
          left[prefix]! -= 1;
          if (Object.values(left).every((n) => n <= 0)) {
            done();
            resolve();
          }
        };
        const failed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => {
          if (!Object.keys(left).some((p) => jobId.startsWith(p))) return;
          done();
          reject(new Error(`${jobId} failed: ${failedReason}`));
        };
        events.on('completed', completed);
        events.on('failed', failed);
      }),
    );
  }

  /** The rows of the table `testId`, each as its cells' text by the cells' data-label. */
  const tableRows = (page: Page, testId: string, rowTestId: string) =>
    page
      .getByTestId(testId)
      .getByTestId(rowTestId)
      .evaluateAll((rows): Record<string, string>[] =>
        rows.map((row) => {
          const cells: Record<string, string> = {};
          for (const td of row.querySelectorAll('td'))
            cells[td.getAttribute('data-label') ?? ''] = (td.textContent ?? '').trim();
          return cells;
        }),
      );
  /** Each reconciliation row as [company, product, purchased, assigned, PSA bills, difference]. */
  const reconciliation = async (page: Page) =>
    (await tableRows(page, 'reconciliation', 'reconciliation-row')).map((r) => [
      r.Company,
      r.Product,
      r.Purchased,
      r.Assigned,
      r['PSA bills'],
      r.Difference,
    ]);
  const flash = async (page: Page) => (await page.getByRole('status').textContent())?.trim();
  /** Numbers, quantities and days laid out on more than one line (none should be). */
  const wrappedValues = (page: Page) =>
    page.locator('.num, .nowrap').evaluateAll((els) =>
      els
        .filter((e) => {
          const range = document.createRange();
          range.selectNodeContents(e);
          const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
          return tops.size > 1;
        })
        .map((e) => e.textContent),
    );

  /** The header's height and its words broken over two lines (none should be). */
  const header = (page: Page) =>
    page.locator('header').evaluate((el) => ({
      height: Math.round(el.getBoundingClientRect().height),
      broken: [...el.querySelectorAll('a, .brand, .who, button')]
        .filter((e) => {
          const range = document.createRange();
          range.selectNodeContents(e);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
        })
        .map((e) => e.textContent),
    }));

  it('connects ConnectWise PSA, links and maps, compares, writes what was approved and records it', async () => {
    const { partnerId, company } = await seedBillingPartner(h, 'Billing Browser Partner');
    const { partnerUser } = await createPeople(h, partnerId);
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill(partnerUser!.email);
    await page.getByLabel('Password').fill(testPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page
      .getByRole('heading', { name: 'Billing Browser Partner · Delegated Admin' })
      .waitFor();

    // Billing, with no PSA yet: the way to the setup.
    await page.getByRole('link', { name: 'Billing', exact: true }).click();
    await page.getByRole('heading', { name: 'Billing Browser Partner · Billing' }).waitFor();
    await page.getByRole('link', { name: 'Connect ConnectWise PSA, Autotask or HaloPSA' }).click();
    await page.getByRole('heading', { name: 'Billing Browser Partner · Billing setup' }).waitFor();

    // A wrong private key: saved, and ConnectWise's refusal in its own words.
    const fill = async (privateKey: string) => {
      await page.getByLabel('Site').fill(psa.fields.siteUrl!);
      await page.getByLabel('Company id').fill(psa.fields.companyId!);
      await page.getByLabel('Public key').fill(psa.fields.publicKey!);
      await page.getByLabel('Private key').fill(privateKey);
      await page.getByLabel('Client id').fill(psa.fields.clientId!);
      await page.getByRole('button', { name: 'Save and try the connection' }).click();
    };
    await fill('not-the-key');
    expect(await flash(page)).to.equal(
      'Saved, but ConnectWise PSA refused: Authentication failed: the company id, public key or private key is not valid.',
    );
    expect(await page.getByTestId('connection-status').textContent()).to.match(
      /^ConnectWise PSA: Refused/,
    );
    expect(await page.content()).to.not.include('not-the-key');

    await fill(psa.fields.privateKey!);
    expect(await flash(page)).to.match(
      /^Connected to ConnectWise PSA: demomsp.*: ConnectWise PSA \S+, codebase \S+[^.]\.$/,
    );
    expect(await page.getByTestId('connection-status').textContent()).to.match(
      /^ConnectWise PSA: Working/,
    );

    // Companies: the suggested PSA company is the one preselected; confirming links it (and
    // its only agreement).
    const linkRow = (name: string) =>
      page.getByTestId('company-link-row').filter({ hasText: name });
    for (const [name, psaName, agreement] of [
      ['Contoso Ltd', 'Contoso', 'Contoso Microsoft 365'],
      ['Fabrikam, Inc.', 'Fabrikam Inc', 'Fabrikam cloud'],
    ] as const) {
      expect(await linkRow(name).textContent()).to.include(`Probably ${psaName} (same domain)`);
      const picked = linkRow(name).getByLabel(`PSA company for ${name}`);
      expect(await picked.locator('option:checked').textContent()).to.equal(psaName);
      await linkRow(name).getByRole('button', { name: 'Confirm' }).click();
      expect(await flash(page)).to.equal(
        `${name} is ${psaName} in the PSA, billed on ${agreement}.`,
      );
    }
    expect(await linkRow('Northwind Traders').textContent()).to.include('Not linked');
    // A linked company shows its own PSA company; one without a suggestion, none at all.
    const chosenCompany = (name: string) =>
      linkRow(name).getByLabel(`PSA company for ${name}`).locator('option:checked').textContent();
    expect(await chosenCompany('Fabrikam, Inc.')).to.equal('Fabrikam Inc');
    expect(await chosenCompany('Northwind Traders')).to.equal('Choose a PSA company');
    expect(
      await linkRow('Northwind Traders')
        .getByLabel('PSA company for Northwind Traders')
        .getAttribute('required'),
    ).to.not.equal(null);

    // Products: each Microsoft product billed as a catalog item, by a basis, in a mode.
    const productRow = (name: string) =>
      page
        .getByTestId('product-row')
        .filter({ has: page.getByLabel(`PSA product for ${name}`, { exact: true }) });
    for (const [name, basis, mode] of [
      ['Microsoft 365 Business Premium', 'Purchased seats', 'After approval'],
      ['Exchange Online (Plan 1)', 'Assigned seats', 'After approval'],
      ['Microsoft 365 Business Basic', 'Purchased seats', 'Automatically'],
    ] as const) {
      const row = productRow(name);
      await row
        .getByLabel(`PSA product for ${name}`, { exact: true })
        .selectOption({ label: name });
      await row.getByLabel(`Count basis for ${name}`, { exact: true }).selectOption({
        label: basis,
      });
      await row
        .getByLabel(`How changes of ${name} are applied`, { exact: true })
        .selectOption({ label: mode });
      await row.getByRole('button', { name: 'Map' }).click();
      expect(await flash(page)).to.equal(`Mapped to ${name}.`);
      // The form shows the mapping as saved, so mapping again changes only what is changed.
      expect(
        await productRow(name)
          .getByLabel(`PSA product for ${name}`, { exact: true })
          .locator('option:checked')
          .textContent(),
      ).to.equal(name);
      expect(await productRow(name).locator('td[data-label="Billed as"]').textContent()).to.equal(
        `${name}, ${basis}, ${mode === 'Automatically' ? 'applied automatically' : 'after approval'}`,
      );
    }

    expect(
      await productRow('Microsoft 365 Business Premium (P1Y)')
        .getByLabel('PSA product for Microsoft 365 Business Premium (P1Y)', { exact: true })
        .locator('option:checked')
        .textContent(),
    ).to.equal('Choose a PSA product');
    expect(
      await productRow('Microsoft 365 Business Premium (P1Y)')
        .locator('td[data-label="Microsoft product"]')
        .textContent(),
    ).to.equal('Microsoft 365 Business Premium (P1Y) (1 company)');

    // Visio, which no company has any more yet Contoso is still billed for: mapped by its SKU
    // id, refused first with the API's own words.
    const other = page.getByTestId('other-product');
    const mapOther = async (skuId: string, term: string, basis: string) => {
      await other.getByLabel('SKU id').fill(skuId);
      await other.getByLabel('Term').selectOption(term);
      await other.getByLabel('PSA product').selectOption({ label: 'Visio Plan 2' });
      await other.getByLabel('Count basis').selectOption({ label: basis });
      await other.getByRole('button', { name: 'Map this product' }).click();
    };
    await mapOther('not-a-sku', '', 'Purchased seats');
    expect(await flash(page)).to.equal('Not mapped: Invalid request: source.skuId: Invalid UUID.');
    await mapOther(sku.visio, 'P1Y', 'Assigned seats');
    expect(await flash(page)).to.equal(
      'Not mapped: Seats of one term can only be billed as purchased: Microsoft assigns seats per product, not per term.',
    );
    await mapOther(sku.visio, '', 'Purchased seats');
    expect(await flash(page)).to.equal('Mapped to Visio Plan 2.');
    const visio = productRow('Visio Plan 2');
    expect(await visio.locator('td[data-label="Microsoft product"]').textContent()).to.equal(
      'Visio Plan 2 (not counted by Microsoft)',
    );
    expect(await visio.locator('td[data-label="Billed as"]').textContent()).to.equal(
      'Visio Plan 2, Purchased seats, after approval',
    );

    // Compare: one job per linked company, and Business Basic, mapped to apply automatically,
    // written to Fabrikam's agreement without a person.
    await page.getByRole('link', { name: 'Billing', exact: true }).click();
    const compared = billingJobsCompleted(
      { 'reconcile-billing-company-': 2, 'apply-billing-': 1 },
      'the comparison of two companies and the automatic write',
    );
    await page.getByRole('button', { name: 'Compare again now' }).click();
    expect(await flash(page)).to.equal('Comparing with the PSA now.');
    await compared;
    expect(psa.billed(21, 103)).to.equal(2);
    // No reload: the page follows the comparison and the write, then stops refreshing.
    await page
      .getByTestId('comparing')
      .filter({ hasText: 'Compared with the PSA: the numbers below are the new ones.' })
      .waitFor({ timeout: 30_000 });
    expect(await page.locator('meta[http-equiv="refresh"]').count()).to.equal(0);

    expect(await reconciliation(page)).to.deep.equal([
      ['Contoso Ltd', 'Exchange Online (Plan 1)', '3', '2', '3', '-1'],
      ['Contoso Ltd', 'Microsoft 365 Business Premium', '15', '12', '14', '+1'],
      ['Contoso Ltd', 'Visio Plan 2', '0', '0', '2', '-2'],
      ['Fabrikam, Inc.', 'Microsoft 365 Business Basic', '2', '1', '2', '0'],
      ['Fabrikam, Inc.', 'Microsoft 365 Business Premium', '4', '4', '4', '0'],
      ['Northwind Traders', 'Microsoft 365 Business Premium (not mapped)', '1', '1', '—', '—'],
    ]);
    expect(
      (await page.getByTestId('totals').locator('th, td').allTextContents()).map((t) => t.trim()),
    ).to.deep.equal(['Totals (6 rows, 3 differing)', '25', '20', '25', '-2', '']);

    expect(await page.getByTestId('unmapped-notice').textContent()).to.equal(
      '1 company is not linked to a PSA company: set them up.',
    );

    // The dry run: what would be written, nothing written yet.
    const plan = async () =>
      (await tableRows(page, 'plan', 'plan-row')).map((r) => [
        r.Company,
        r.Product,
        r['PSA quantity'],
        r.Status,
      ]);
    expect(await plan()).to.have.deep.members([
      ['Contoso Ltd', 'Exchange Online (Plan 1)', '3 → 2', 'Waiting for approval'],
      ['Contoso Ltd', 'Microsoft 365 Business Premium', '14 → 15', 'Waiting for approval'],
      ['Contoso Ltd', 'Visio Plan 2', 'Cancel the line (billed 2)', 'Waiting for approval'],
    ]);
    expect(psa.billed(11, 101)).to.equal(14);
    expect(psa.billed(11, 102)).to.equal(3);

    // Readable at 1280 px: no number or quantity broken over two lines.
    expect(await wrappedValues(page)).to.deep.equal([]);

    // Filters, without script.
    await page.getByRole('link', { name: 'Differences only' }).click();
    await page.waitForURL(/\?differences=true$/);
    expect((await reconciliation(page)).map((r) => [r[0], r[1], r[5]])).to.deep.equal([
      ['Contoso Ltd', 'Exchange Online (Plan 1)', '-1'],
      ['Contoso Ltd', 'Microsoft 365 Business Premium', '+1'],
      ['Contoso Ltd', 'Visio Plan 2', '-2'],
    ]);
    await page.getByRole('link', { name: 'Unmapped' }).click();
    await page.waitForURL(/\?unmapped=true$/);
    expect((await reconciliation(page)).map((r) => [r[0], r[1]])).to.deep.equal([
      ['Northwind Traders', 'Microsoft 365 Business Premium (not mapped)'],
    ]);
    await page.getByRole('link', { name: 'All', exact: true }).click();
    expect(await page.getByTestId('reconciliation-row').count()).to.equal(6);

    // The export: RFC 4180 (CRLF, a name with a comma quoted), product names in full.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export CSV' }).click(),
    ]);
    const csv = readFileSync(await download.path(), 'utf8');
    const lines = csv.split('\r\n');
    expect(lines[0]).to.match(/^company,company_id,customer_tenant_id,product,sku_id,/);
    expect(lines.at(-1)).to.equal('');
    expect(csv.replace(/\r\n/g, '')).to.not.include('\n');
    expect(lines.slice(1, -1).map((l) => l.split(',').slice(0, 5))).to.have.lengthOf(6);
    expect(
      lines.filter((l) => l.startsWith('"Fabrikam, Inc.",')).map((l) => l.split(',')[4]),
    ).to.have.members(['Microsoft 365 Business Basic', 'Microsoft 365 Business Premium']);
    expect(
      lines.some((l) => l.startsWith('Contoso Ltd,') && l.includes(',Exchange Online (Plan 1),')),
    ).to.equal(true);

    // Approve one change of the two: only it is written.
    const applied = billingJobsCompleted({ 'apply-billing-': 1 }, 'the approved write');
    await page
      .getByLabel('Approve Microsoft 365 Business Premium for Contoso Ltd', { exact: true })
      .check();
    await page.getByRole('button', { name: 'Approve selected' }).click();
    expect(await flash(page)).to.equal('Approved 1 change; writing to the PSA now.');
    await applied;
    expect(psa.billed(11, 101)).to.equal(15);
    expect(psa.billed(11, 102)).to.equal(3);
    await page.reload();
    expect(await plan()).to.have.deep.members([
      ['Contoso Ltd', 'Exchange Online (Plan 1)', '3 → 2', 'Waiting for approval'],
      ['Contoso Ltd', 'Visio Plan 2', 'Cancel the line (billed 2)', 'Waiting for approval'],
    ]);
    expect(await reconciliation(page)).to.deep.include([
      'Contoso Ltd',
      'Microsoft 365 Business Premium',
      '15',
      '12',
      '15',
      '0',
    ]);

    // Exchange set to 2 in the PSA itself before its approved change is written: the write
    // finds its target in place, sends nothing, and the ledger says so.
    const exchange = [...(psa.emulator.state as ConnectwiseState).additions.values()].find(
      (a) => a.agreementId === 11 && a.productId === 102,
    )!;
    exchange.quantity = 2;
    const found = billingJobsCompleted({ 'apply-billing-': 1 }, 'the write found in place');
    await page
      .getByLabel('Approve Exchange Online (Plan 1) for Contoso Ltd', { exact: true })
      .check();
    await page.getByRole('button', { name: 'Approve selected' }).click();
    await found;

    // The ledger, for the partner and on the company's page.
    const ledgerRow = {
      Product: 'Microsoft 365 Business Premium',
      Quantity: '14 → 15',
      'Approved by': partnerUser!.email,
    };
    await page.getByRole('link', { name: 'Every change written to the PSA' }).click();
    const written = await tableRows(page, 'ledger', 'ledger-row');
    // Newest first: the approved write, then the automatic one of the comparison.
    expect(written.map((r) => [r.Company, r.Product, r.Quantity, r['Approved by']])).to.deep.equal([
      [
        'Contoso Ltd',
        'Exchange Online (Plan 1)',
        'Already applied: billed 2 (was 3 when planned)',
        partnerUser!.email,
      ],
      ['Contoso Ltd', 'Microsoft 365 Business Premium', '14 → 15', partnerUser!.email],
      ['Fabrikam, Inc.', 'Microsoft 365 Business Basic', '0 → 2', 'automatic'],
    ]);
    expect(written[1]!['PSA record']).to.match(/^ConnectWise PSA \d+$/);
    await page.goto(`${base}/partners/${partnerId}/billing/setup`);
    await linkRow('Contoso Ltd').getByRole('link', { name: 'Agreement and history' }).click();
    await page.getByRole('heading', { name: 'Contoso Ltd · Contoso' }).waitFor();
    expect(
      await page
        .getByLabel('Agreement, contract or recurring invoice')
        .locator('option:checked')
        .textContent(),
    ).to.equal('Contoso Microsoft 365');
    const companyRows = await tableRows(page, 'ledger', 'ledger-row');
    expect(companyRows).to.have.lengthOf(2);
    expect(companyRows[1]).to.include(ledgerRow);
    expect(await wrappedValues(page)).to.deep.equal([]);
    expect(await header(page)).to.deep.equal({ height: 65, broken: [] });

    // On a phone the tables become cards: nothing wider than the screen, no number broken.
    await page.setViewportSize({ width: 375, height: 812 });
    // The header keeps two rows (brand and log-out, then the tabs), no word broken.
    const paths = ['', '/setup', '/ledger', `/companies/${company[tenant.contoso]}`].map(
      (p) => `billing${p}`,
    );
    for (const path of [...paths, 'delegated-admin', 'companies', 'access']) {
      await page.goto(`${base}/partners/${partnerId}/${path}`);
      expect(
        await page.evaluate(() => document.documentElement.scrollWidth),
        `${path} at 375 px`,
      ).to.be.at.most(375);
      expect(await wrappedValues(page), `${path} at 375 px`).to.deep.equal([]);
      const { height, broken } = await header(page);
      expect(broken, `${path}'s header at 375 px`).to.deep.equal([]);
      expect(height, `${path}'s header at 375 px`).to.be.at.most(90);
    }
  });
});
