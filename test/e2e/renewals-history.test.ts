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
import { skuIds } from '../support/subscriptions.js';

import {
  dayIn,
  dayMs,
  historyCustomer,
  historyTenant,
  renewalsCustomer,
  renewalsTenant,
  today,
  windowClosesAfterBuying,
} from '../support/renewal-terms.js';

const secondPartner = 'bbbbbbbb-0000-4000-8000-000000000002';

const spb = 'Microsoft 365 Business Premium';
const exchange = 'Exchange Online (Plan 1)';
const basic = 'Microsoft 365 Business Basic';

describe('Renewals and a company’s seat history in a browser', function () {
  this.timeout(120_000);
  let h: Harness;
  let server: Server;
  let browser: Browser;
  let base: string;
  let partnerId: string;
  let historyCompanyId: string;
  let firstRun: string;
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
              customers: [
                ...(p.customers as unknown[]),
                renewalsCustomer,
                historyCustomer,
              ] as typeof p.customers,
            }
          : p,
      ),
      { PARTNER_CENTER_REQUESTS_PER_SECOND: '20' },
    );
    partnerId = (
      (await h.api('post', '/partners', { name: 'Browser Renewals' })).body as { id: string }
    ).id;
    const add = (name: string, customerTenantId: string) =>
      h.runtime.services.partners.addCompany(partnerId, { name, customerTenantId }, 'test');
    await add('Renewals Customer', renewalsTenant);
    historyCompanyId = (await add('History Customer', historyTenant)).id;
    // A count that needs no token, and one that needs the second token, which is not there.
    for (const body of [
      { name: 'Managed Users', kind: 'fixed', quantity: 7 },
      { name: 'Exclaimer', kind: 'group_members', group: 'Signatures' },
    ]) {
      const res = await h.api('post', `/partners/${partnerId}/custom-licenses`, {
        ...body,
        companyIds: [historyCompanyId],
      });
      expect(res.status, res.text).to.equal(201);
    }
    await h.grant(partnerId, 'admin@second.example');
    firstRun = (await h.runtime.services.runs.latest(partnerId))!.id;
    expect(await h.runEnded(firstRun)).to.include({ status: 'completed', succeeded: 2 });
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

  /** A partner user logged in through the form, on the Delegated Admin tab. */
  async function signedIn(options: { javaScriptEnabled: boolean }): Promise<Page> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
      ...options,
    });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(testPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Browser Renewals · Delegated Admin' }).waitFor();
    return page;
  }

  async function downloadedCsv(page: Page, link: string): Promise<Record<string, string>[]> {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: link, exact: true }).click(),
    ]);
    return parse<Record<string, string>>(readFileSync(await download.path(), 'utf8'), {
      columns: true,
    });
  }

  /** Each row of a Renewals table as the page shows it, cell by cell. */
  const tableRows = (page: Page, testId: string) =>
    page.getByTestId(testId).evaluateAll((rows) =>
      rows.map((tr) => {
        // No named functions in here: the test's compiler would wrap them in a helper the page
        // does not have.
        const cell: Record<string, HTMLElement | undefined> = Object.fromEntries(
          [...tr.querySelectorAll('td')].map((td) => [td.dataset.label, td]),
        );
        const ends = cell['Commitment ends'];
        const highlight = cell.Unassigned!.querySelector('strong');
        return {
          company: cell.Company!.textContent,
          product: cell.Product!.firstChild!.textContent,
          term: cell.Product!.querySelector('.muted.small')!.textContent,
          ends: ends ? ends.firstChild!.textContent : null,
          inDays: ends ? ends.querySelector('.muted')!.textContent : null,
          until: cell.Until?.textContent ?? null,
          then: cell.Then?.textContent ?? null,
          seats: [cell.Purchased, cell.Assigned, cell.Unassigned].map((td) => td!.textContent),
          // Set apart: bold, and another colour than the seats beside it.
          highlighted:
            highlight !== null &&
            Number(getComputedStyle(highlight).fontWeight) >= 600 &&
            getComputedStyle(highlight).color !== getComputedStyle(cell.Purchased!).color,
        };
      }),
    );

  const renewal = (
    product: string,
    term: string,
    endsIn: number,
    then: string,
    seats: [number, number, number],
  ) => ({
    company: 'Renewals Customer',
    product,
    term,
    ends: dayIn(endsIn),
    inDays: `in ${endsIn} days`,
    until: null,
    then,
    seats: seats.map(String),
    highlighted: seats[2] > 0,
  });
  const a = renewal(spb, 'Yearly, billed yearly', 10, 'Renews', [6, 3, 3]);
  const d = renewal(exchange, 'Yearly, billed yearly', 30, 'Renews', [3, 0, 3]);
  const e = renewal(exchange, 'Yearly, billed yearly', 31, 'Ends (auto-renew off)', [2, 2, 0]);
  const f = renewal(basic, 'Yearly, billed monthly', 61, 'Renews', [5, 0, 5]);
  const b = renewal(spb, 'Three years, billed every three years', 75, 'Renews', [4, 4, 0]);
  const openWindow = (product: string, term: string, boughtAgo: number, seats: number[]) => ({
    company: 'Renewals Customer',
    product,
    term,
    ends: null,
    inDays: null,
    until: windowClosesAfterBuying(boughtAgo),
    then: null,
    seats: seats.map(String),
    highlighted: seats[2]! > 0,
  });
  const h3 = openWindow(basic, 'Yearly, billed yearly', 3, [2, 1, 1]);
  const c2 = openWindow(spb, 'Monthly, billed monthly', 2, [5, 5, 0]);

  it('lists what renews in 30, 60 or 90 days with its seats, chosen by links without script', async () => {
    const page = await signedIn({ javaScriptEnabled: false });
    await page.getByRole('link', { name: 'Renewals', exact: true }).click();
    await page.getByRole('heading', { name: 'Browser Renewals · Renewals' }).waitFor();
    const shown = async (days: number) => {
      const span = page.getByRole('navigation', { name: 'How far ahead' });
      expect(await span.locator('[aria-current="page"]').textContent()).to.equal(`${days} days`);
      expect(
        await page.getByRole('heading', { level: 2, name: /^Commitments ending/ }).textContent(),
      ).to.equal(`Commitments ending in the next ${days} days`);
      return {
        rows: await tableRows(page, 'renewal-row'),
        summary: await page.getByTestId('renewals-summary').textContent(),
        open: await tableRows(page, 'open-window-row'),
      };
    };

    // 30 days unless asked: the last day in exactly 30 days is in; the monthly term whose month
    // ends within them is not renewing, and the unassigned seats of the yearly are set apart.
    const in30 = await shown(30);
    expect(in30.rows).to.deep.equal([a, d]);
    expect(in30.summary).to.equal(
      '2 commitments end with 6 unassigned seats that could be dropped at renewal.',
    );
    // Open now: bought 3 and 2 days ago, the one that closes first on top; not the one bought 7½
    // days ago.
    expect(in30.open).to.deep.equal([h3, c2]);

    await page.getByRole('link', { name: '60 days', exact: true }).click();
    await page.waitForURL(`${base}/partners/${partnerId}/renewals?days=60`);
    const in60 = await shown(60);
    expect(in60.rows).to.deep.equal([a, d, e]);
    expect(in60.summary).to.equal(
      '3 commitments end with 6 unassigned seats that could be dropped at renewal.',
    );
    expect(in60.open).to.deep.equal([h3, c2]);

    await page.getByRole('link', { name: '90 days', exact: true }).click();
    await page.waitForURL(`${base}/partners/${partnerId}/renewals?days=90`);
    const in90 = await shown(90);
    expect(in90.rows).to.deep.equal([a, d, e, f, b]);
    expect(in90.summary).to.equal(
      '5 commitments end with 11 unassigned seats that could be dropped at renewal.',
    );
    expect(in90.open).to.deep.equal([h3, c2]);

    await page.getByRole('link', { name: '30 days', exact: true }).click();
    await page.waitForURL(`${base}/partners/${partnerId}/renewals?days=30`);
    expect((await shown(30)).rows).to.deep.equal([a, d]);
  });

  it('downloads the chosen window as CSV with the rows the page shows', async () => {
    const page = await signedIn({ javaScriptEnabled: true });
    await page.goto(`${base}/partners/${partnerId}/renewals?days=60`);
    const csv = await downloadedCsv(page, 'Export CSV');
    // Soonest commitment end first: A, C (its month), D, E, then H (its year).
    expect(
      csv.map((r) => [
        r.product,
        r.term,
        r.billing_cycle,
        r.purchased,
        r.assigned,
        r.unassigned,
        r.renewing,
        r.window_open,
      ]),
    ).to.deep.equal([
      [spb, 'yearly', 'annual', '6', '3', '3', 'true', 'false'],
      [spb, 'monthly', 'monthly', '5', '5', '0', 'false', 'true'],
      [exchange, 'yearly', 'annual', '3', '0', '3', 'true', 'false'],
      [exchange, 'yearly', 'annual', '2', '2', '0', 'true', 'false'],
      [basic, 'yearly', 'annual', '2', '1', '1', 'false', 'true'],
    ]);
    for (const r of csv)
      expect(r).to.include({ company: 'Renewals Customer', customer_tenant_id: renewalsTenant });
    // The dates the page shows, in ISO 8601.
    const renewing = csv.filter((r) => r.renewing === 'true');
    expect(renewing.map((r) => r.commitment_end_date)).to.deep.equal(
      [10, 30, 31].map((n) => new Date(today + n * dayMs).toISOString()),
    );
    expect(renewing.map((r) => r.auto_renew)).to.deep.equal(['true', 'true', 'false']);
    const page60 = await tableRows(page, 'renewal-row');
    expect(renewing.map((r) => [r.product, r.purchased, r.assigned, r.unassigned])).to.deep.equal(
      page60.map((r) => [r.product, ...r.seats]),
    );
    const open = csv.filter((r) => r.window_open === 'true');
    expect(
      open.map((r) => `${r.cancellable_until!.slice(0, 16).replace('T', ' ')} UTC`),
    ).to.have.members((await tableRows(page, 'open-window-row')).map((r) => r.until));
    for (const r of open)
      expect(r.cancellable_until).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('shows a company’s seat changes newest first, its chart and its CSV after a sync now', async () => {
    // Between the runs: 3 more Business Premium seats and one fewer Exchange seat bought; Cy
    // loses Business Premium, Cy gets Exchange.
    const detail = h.emulator.state.directory.detail(
      h.emulator.state.directory.customer(historyTenant)!,
    );
    detail.subscriptions.find((s) => s.sku.skuPartNumber === 'SPB')!.quantity = 13;
    detail.subscriptions.find((s) => s.sku.skuPartNumber === 'EXCHANGESTANDARD')!.quantity = 3;
    detail.users.find((u) => u.upn === 'cy@history.example')!.licenses = [skuIds.EXCHANGESTANDARD];

    const page = await signedIn({ javaScriptEnabled: true });
    await page.getByRole('link', { name: 'Setup', exact: true }).click();
    await page.getByRole('button', { name: 'Sync now' }).click();
    expect(await page.getByTestId('flash').textContent()).to.equal('Sync started.');
    const secondRun = (await h.runtime.services.runs.latest(partnerId))!.id;
    expect(secondRun).to.not.equal(firstRun);
    expect(await h.runEnded(secondRun)).to.include({ status: 'completed', succeeded: 2 });

    await page.getByRole('link', { name: 'Companies', exact: true }).click();
    await page.getByRole('link', { name: 'History Customer', exact: true }).click();
    await page.getByRole('heading', { name: 'Browser Renewals · History Customer' }).waitFor();
    expect(page.url()).to.equal(`${base}/partners/${partnerId}/companies/${historyCompanyId}`);

    expect(await page.getByTestId('last-run').textContent()).to.match(
      new RegExp(`^Refreshed\\. \\(run ${secondRun.slice(0, 8)}, started .* UTC, done .* UTC\\)$`),
    );
    expect(
      await page
        .getByTestId('license')
        .evaluateAll((rows) =>
          rows.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
        ),
    ).to.have.deep.members([
      [`${spb} (SPB)`, '13', '2', '13'],
      [`${exchange} (EXCHANGESTANDARD)`, '3', '3', '3'],
    ]);
    expect(
      await page
        .getByTestId('custom-license')
        .evaluateAll((rows) =>
          rows.map((tr) => [
            tr.querySelector('td[data-label="Name"]')!.textContent,
            tr.querySelector('td[data-label="Count"]')!.textContent,
          ]),
        ),
    ).to.have.deep.members([
      ['Managed Users', '7'],
      ['Exclaimer', '—'],
    ]);
    expect(
      await page.getByTestId('custom-license').filter({ hasText: 'Exclaimer' }).textContent(),
    ).to.contain('Will fail to update:');
    // The emulator gives each customer a default relationship with Global Reader.
    const access = page.getByTestId('access');
    expect(await access.locator('p').first().textContent()).to.match(
      /^Access is in order\. · checked \d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
    );
    expect(await access.locator('li').allTextContents()).to.deep.equal([
      `Default admin relationship (active, ends ${dayIn(365)}): Global Reader`,
    ]);

    // Newest first: this run's six changes, then the first reading's six.
    const history = await page
      .getByTestId('seat-change')
      .evaluateAll((rows) =>
        rows.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
      );
    const run2 = secondRun.slice(0, 8);
    const run1 = firstRun.slice(0, 8);
    const withoutWhen = (rows: string[][]) => rows.map((r) => r.slice(1));
    expect(history).to.have.length(12);
    expect(withoutWhen(history.slice(0, 6))).to.have.deep.members([
      [spb, 'Purchased', '+3', '10 → 13', run2],
      [spb, 'Billed by Microsoft', '+3', '10 → 13', run2],
      [spb, 'Assigned', '\u22121', '3 → 2', run2],
      [exchange, 'Purchased', '\u22121', '4 → 3', run2],
      [exchange, 'Billed by Microsoft', '\u22121', '4 → 3', run2],
      [exchange, 'Assigned', '+1', '2 → 3', run2],
    ]);
    expect(withoutWhen(history.slice(6))).to.have.deep.members([
      [spb, 'Purchased', 'first reading', '0 → 10', run1],
      [spb, 'Assigned', 'first reading', '0 → 3', run1],
      [spb, 'Billed by Microsoft', 'first reading', '0 → 10', run1],
      [exchange, 'Purchased', 'first reading', '0 → 4', run1],
      [exchange, 'Assigned', 'first reading', '0 → 2', run1],
      [exchange, 'Billed by Microsoft', 'first reading', '0 → 4', run1],
    ]);
    const times = history.map((r) => r[0]!);
    expect(times).to.deep.equal([...times].sort().reverse());

    // One chart per product, drawn on the server: a title, words for what changed, a step line
    // per count, the purchased line rising to the top of its scale (13 is the most).
    const chart = page.getByTestId('seat-chart').filter({ hasText: spb });
    expect(await chart.locator('title').textContent()).to.equal(`${spb}: seats over 90 days`);
    expect(await chart.locator('desc').textContent()).to.equal(
      'Over the last 90 days, purchased went from 10 to 13 in 1 change; assigned went from 3 to 2 in 1 change.',
    );
    expect(await chart.locator('text').first().textContent()).to.equal('13');
    const purchased = (await chart.locator('path[data-field="purchased"]').getAttribute('d'))!;
    expect(purchased).to.match(/^M[\d.]+ [\d.]+ H[\d.]+ V8 H312$/);
    const assigned = (await chart.locator('path[data-field="assigned"]').getAttribute('d'))!;
    expect(assigned).to.match(/^M[\d.]+ [\d.]+ H[\d.]+ V[\d.]+ H312$/);
    expect(
      await page
        .locator('figure.seat-chart figcaption')
        .evaluateAll((captions) =>
          captions.map((c) => [...c.querySelectorAll('.key')].map((k) => k.textContent)),
        ),
    ).to.deep.equal([
      ['Purchased 3', 'Assigned 3'],
      ['Purchased 13', 'Assigned 2'],
    ]);
    expect(await page.getByTestId('seat-chart').count()).to.equal(2);
    const exchangeChart = page.getByTestId('seat-chart').filter({ hasText: exchange });
    expect(await exchangeChart.locator('desc').textContent()).to.equal(
      'Over the last 90 days, purchased went from 4 to 3 in 1 change; assigned went from 2 to 3 in 1 change.',
    );

    // The history as CSV: the same rows in the same order, ISO 8601 times, names and tenant.
    const csv = await downloadedCsv(page, 'CSV');
    const fieldWords: Record<string, string> = {
      purchased: 'Purchased',
      assigned: 'Assigned',
      billed: 'Billed by Microsoft',
    };
    expect(
      csv.map((r) => [
        `${r.at!.slice(0, 16).replace('T', ' ')} UTC`,
        r.product,
        fieldWords[r.field!],
        r.initial === 'true'
          ? 'first reading'
          : r.change!.replace('-', '\u2212').replace(/^(\d)/, '+$1'),
        `${r.from} → ${r.to}`,
        r.run_id!.slice(0, 8),
      ]),
    ).to.deep.equal(history);
    for (const r of csv) {
      expect(r.at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(r).to.include({
        company: 'History Customer',
        company_id: historyCompanyId,
        customer_tenant_id: historyTenant,
      });
    }
  });
});
