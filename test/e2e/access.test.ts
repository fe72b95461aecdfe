import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { stepSentences } from '../../src/microsoft/error-table.js';
import { launchBrowser } from '../support/browser.js';
import { gdapCustomers, gdapScenario, restoreGdapCustomer } from '../support/gdap.js';
import { releaseTenants, startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, testPassword } from '../support/pages.js';
import { closedPort } from '../support/redis.js';

const partnerTenant = '8f3c2b1a-6d4e-4f70-9a1b-2c3d4e5f6a7b';

describe('the Access tab in a browser (GDAP scenario: one customer per case)', function () {
  this.timeout(180_000);
  let h: Harness;
  let server: Server;
  let browser: Browser;
  let base: string;
  const contexts: BrowserContext[] = [];

  before(async () => {
    const port = await closedPort();
    base = `http://localhost:${port}`;
    h = await startHarness(gdapScenario(), { PARTNER_CENTER_REQUESTS_PER_SECOND: '15' });
    server = createServer(h.app);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    browser = await launchBrowser();
  });
  after(async function () {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await h?.close(suiteFailed(this));
  });
  beforeEach(async () => {
    await releaseTenants(h);
  });
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  /** The customer's name in the scenario. */
  const nameOf = (tenantId: string) => h.emulator.state.directory.customer(tenantId)!.name;

  /**
   * A partner with a company per customer of the scenario, consented by the admin, its first
   * run (which reads access) ended; and a user of it logged in on the Delegated Admin tab.
   */
  async function consentedPartnerPage(name: string): Promise<{ page: Page; partnerId: string }> {
    const partner = await h.runtime.services.partners.create(name, 'test');
    for (const c of h.emulator.state.directory.partner(partnerTenant)!.customers) {
      await h.runtime.services.partners.addCompany(
        partner.id,
        { name: c.name, customerTenantId: c.tenantId },
        'test',
      );
    }
    await h.grant(partner.id, 'admin@s365l.com');
    await h.runEnded((await h.runtime.services.runs.latest(partner.id))!.id);
    const { partnerUser } = await createPeople(h, partner.id);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill(partnerUser!.email);
    await page.getByLabel('Password').fill(testPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page
      .getByRole('heading', { name: `${name} · Delegated Admin`, exact: true, level: 1 })
      .waitFor();
    return { page, partnerId: partner.id };
  }

  const row = (page: Page, tenantId: string) =>
    page.locator(`[data-testid="access-row"][data-tenant="${tenantId}"]`);
  const stateOf = async (page: Page, tenantId: string) =>
    (await row(page, tenantId).getByTestId('state').textContent())?.trim();
  const shownNames = async (page: Page) =>
    (await page.getByTestId('access-row').locator('td:first-child').allInnerTexts()).map((t) =>
      t.split('\n')[0]!.trim(),
    );
  /** The count a filter link shows, by its words. */
  const filterCount = async (page: Page, problem: string) =>
    (await page.getByTestId(`filter-${problem}`).locator('.count').textContent())?.trim();
  /** The day the emulator's relationship ends, as a person writes it ("12 Dec 2026"). */
  const endOf = (tenantId: string, index = 0) => {
    const end = new Date(h.emulator.state.directory.customer(tenantId)!.gdap[index]!.endDateTime);
    const months = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');
    return `${end.getUTCDate()} ${months[end.getUTCMonth()]} ${end.getUTCFullYear()}`;
  };

  it('lists every customer with its state in words, counts each problem, and filters by it without script', async () => {
    const { page } = await consentedPartnerPage('Access Partner');
    await page.getByRole('link', { name: 'Access', exact: true }).click();
    await page.getByRole('heading', { name: 'Access Partner · Access', level: 1 }).waitFor();

    expect(await page.getByTestId('access-row').count()).to.equal(11);
    expect(await stateOf(page, gdapCustomers.allGood)).to.equal('OK');
    expect(await stateOf(page, gdapCustomers.noRelationship)).to.equal('No relationship');
    expect(await stateOf(page, gdapCustomers.terminated)).to.equal('No relationship');
    expect(await stateOf(page, gdapCustomers.expiring)).to.equal(
      `Expiring ${endOf(gdapCustomers.expiring)}`,
    );
    // Its latest relationship ended two days ago (the other, 20).
    expect(await stateOf(page, gdapCustomers.expired)).to.equal(
      `Expired ${endOf(gdapCustomers.expired, 1)}`,
    );
    expect(await stateOf(page, gdapCustomers.mailboxOnly)).to.equal('Missing role');
    expect(await stateOf(page, gdapCustomers.notConsented)).to.equal('App not consented');
    expect(await row(page, gdapCustomers.mailboxOnly).getByTestId('reason').textContent()).to.equal(
      "Give the group 'GDAP Mail' Directory Readers in the relationship 'Exchange support', or use a relationship that has it.",
    );
    // Where Microsoft's rules refuse auto-extend, the reason instead of the button.
    expect(
      await row(page, gdapCustomers.globalAdmin).getByTestId('auto-extend-blocked').textContent(),
    ).to.equal(stepSentences.autoExtendGlobalAdministrator('Full administration'));
    const led = h.emulator.state.directory.customer(gdapCustomers.microsoftLed)!.gdap[0]!;
    expect(
      await row(page, gdapCustomers.microsoftLed).getByTestId('auto-extend-blocked').textContent(),
    ).to.equal(stepSentences.autoExtendMicrosoftLed(led.displayName));
    expect(
      await row(page, gdapCustomers.globalAdmin)
        .getByRole('button', { name: /Turn on auto-extend/ })
        .count(),
    ).to.equal(0);

    // Days, dates and counts stay on one line at 1280 px.
    const wrapped = await page
      .locator('.nowrap')
      .evaluateAll((els) =>
        els.filter((e) => e.getClientRects().length > 1).map((e) => e.textContent),
      );
    expect(wrapped).to.deep.equal([]);

    // The counts from the scenario: one customer per case.
    expect(await filterCount(page, 'attention')).to.equal('7');
    expect(await filterCount(page, 'ok')).to.equal('4');
    expect(await filterCount(page, 'no_relationship')).to.equal('2');
    expect(await filterCount(page, 'app_not_consented')).to.equal('2');
    expect(await filterCount(page, 'no_auto_extend')).to.equal('2');

    await page.getByTestId('filter-no_relationship').click();
    await page.waitForURL(/\?show=no_relationship$/);
    expect(await shownNames(page)).to.have.members([
      nameOf(gdapCustomers.noRelationship),
      nameOf(gdapCustomers.terminated),
    ]);
    await page.getByTestId('filter-app_not_consented').click();
    expect(await shownNames(page)).to.have.members([
      nameOf(gdapCustomers.notConsented),
      nameOf(gdapCustomers.partlyConsented),
    ]);
    await page.getByRole('link', { name: /^All / }).click();
    expect(await page.getByTestId('access-row').count()).to.equal(11);

    // A new read on request, said in a sentence; the job reads the same eleven.
    await page.getByRole('button', { name: 'Check access now' }).click();
    expect(await page.getByRole('status').textContent()).to.equal(
      'Checking access now; reload this page in a minute to see the result.',
    );

    // On a phone the table becomes cards: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);
  });

  it('consents the app for a customer that lacks it, which is then OK, and says so', async () => {
    const { page, partnerId } = await consentedPartnerPage('Consenting Partner');
    const tenant = gdapCustomers.notConsented;
    try {
      await page.goto(`${base}/partners/${partnerId}/access?show=app_not_consented`);
      await row(page, tenant)
        .getByRole('button', { name: `Consent the app in ${nameOf(tenant)}` })
        .click();
      expect(await page.getByRole('status').textContent()).to.equal(
        `The app is consented in ${nameOf(tenant)}; its access is now: OK.`,
      );
      // Back on the filter the form was sent from.
      expect(page.url()).to.match(/\?show=app_not_consented$/);
      // No longer among those that need it.
      expect(await shownNames(page)).to.deep.equal([nameOf(gdapCustomers.partlyConsented)]);
      await page.getByRole('link', { name: /^All / }).click();
      expect(await stateOf(page, tenant)).to.equal('OK');
    } finally {
      await restoreGdapCustomer(h, tenant);
    }
  });

  it('turns on auto-extend for an expiring relationship, which is then OK', async () => {
    const { page, partnerId } = await consentedPartnerPage('Extending Partner');
    const tenant = gdapCustomers.expiring;
    try {
      await page.goto(`${base}/partners/${partnerId}/access?show=expiring`);
      await row(page, tenant)
        .getByRole('button', { name: 'Turn on auto-extend for Expiring managed services' })
        .click();
      expect(await page.getByRole('status').textContent()).to.equal(
        "Auto-extend is on for 'Expiring managed services'; the customer's access is now: OK.",
      );
      expect(page.url()).to.match(/\?show=expiring$/);
      expect(await page.getByTestId('access-row').count()).to.equal(0);
      await page.getByRole('link', { name: /^All / }).click();
      expect(await stateOf(page, tenant)).to.equal('OK');
    } finally {
      await restoreGdapCustomer(h, tenant);
    }
  });

  it('summarises access on the Delegated Admin tab, each count a link to its customers', async () => {
    const { page, partnerId } = await consentedPartnerPage('Summary Partner');
    expect(await page.getByTestId('access-total').textContent()).to.match(
      /^7 of 11 customers need attention\./,
    );
    const counts = Object.fromEntries(
      await page
        .getByTestId('access-summary')
        .locator('li')
        .evaluateAll((items) =>
          items.map((li) => [
            li.getAttribute('data-problem'),
            li.querySelector('.count')?.textContent,
          ]),
        ),
    );
    expect(counts).to.deep.equal({
      expiring: '1',
      expiring_7_days: '0',
      expired: '1',
      no_relationship: '2',
      missing_role: '1',
      app_not_consented: '2',
      no_auto_extend: '2',
    });
    // The run counts customers without access apart from failures.
    expect((await page.getByTestId('run').textContent())?.trim()).to.match(
      /: 5 of 11 companies refreshed, 6 without access\.$/,
    );
    await page.getByRole('link', { name: 'missing a role' }).click();
    await page.waitForURL(`${base}/partners/${partnerId}/access?show=missing_role`);
    expect(await shownNames(page)).to.deep.equal([nameOf(gdapCustomers.mailboxOnly)]);
  });
});
