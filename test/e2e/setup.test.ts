import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { tooManySyncs } from '../../src/server/request-limits.js';
import { auditEvents, delegatedAdmins } from '../../src/store/schema.js';
import { launchBrowser } from '../support/browser.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, testPassword } from '../support/pages.js';
import { closedPort } from '../support/redis.js';

const secondPartner = 'bbbbbbbb-0000-4000-8000-000000000002';
/** Partner Center customers of the consenting partner, besides its Explicit Customer. */
const listed = [
  {
    tenantId: 'eeeeeeee-0000-4000-8000-000000000011',
    name: 'Northwind',
    domain: 'northwind.example',
  },
  {
    tenantId: 'eeeeeeee-0000-4000-8000-000000000012',
    name: 'Tailspin',
    domain: 'tailspin.example',
  },
  { tenantId: 'eeeeeeee-0000-4000-8000-000000000013', name: 'Litware', domain: 'litware.example' },
];

// The Setup tab in a browser: each form refused with its reason beside it and the input kept,
// then accepted; customers added from the Partner Center list; sync now limited; and who may
// change which partner's setup.

describe('the Setup tab in a browser', function () {
  this.timeout(120_000);
  let h: Harness;
  let server: Server;
  let browser: Browser;
  let base: string;
  let partnerId: string;
  let otherPartnerId: string;
  let people: Awaited<ReturnType<typeof createPeople>>;
  let otherPeople: Awaited<ReturnType<typeof createPeople>>;
  const sessions = new Map<string, BrowserContext>();

  before(async () => {
    const port = await closedPort();
    base = `http://localhost:${port}`;
    h = await startHarness(
      scenarioWith((p) =>
        p.tenantId === secondPartner
          ? {
              ...p,
              customers: [...(p.customers as unknown[]), ...listed] as typeof p.customers,
            }
          : p,
      ),
    );
    partnerId = (await h.runtime.services.partners.create('Setup Browser', 'test')).id;
    otherPartnerId = (await h.runtime.services.partners.create('Other Browser', 'test')).id;
    people = await createPeople(h, partnerId);
    otherPeople = await createPeople(h, otherPartnerId);
    // The consent's first refresh lists the Partner Center customers: none is a company yet.
    await h.grant(partnerId, 'admin@second.example');
    const { run } = (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      run: { id: string };
    };
    expect(await h.runEnded(run.id)).to.include({ status: 'completed' });
    server = createServer(h.app);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    browser = await launchBrowser();
  });
  after(async function () {
    for (const context of sessions.values()) await context.close();
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await h?.close(suiteFailed(this));
  });

  /** A fresh page of `email`'s browser session (logged in once per person), on a Setup page. */
  async function signedIn(email: string, partner = partnerId): Promise<Page> {
    let context = sessions.get(email);
    if (!context) {
      context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      // An element that is not there fails the test in seconds, not after the mocha timeout.
      context.setDefaultTimeout(5_000);
      sessions.set(email, context);
      const login = await context.newPage();
      await login.goto(`${base}/login`);
      await login.getByLabel('Email').fill(email);
      await login.getByLabel('Password').fill(testPassword);
      await submits(login, login.getByRole('button', { name: 'Log in' }));
      await login.close();
    }
    const page = await context.newPage();
    await page.goto(`${base}/partners/${partner}/setup`);
    return page;
  }

  /** Clicks a submit button and waits for the page the server answers with. */
  async function submits(page: Page, button: Locator) {
    const navigated = page.waitForEvent('framenavigated', {
      predicate: (frame) => frame === page.mainFrame(),
      timeout: 10_000,
    });
    await button.click();
    await navigated;
    await page.waitForLoadState('load');
  }

  /** A section's form: its summary clicked open unless the page already shows it open. */
  async function opened(details: Locator) {
    if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open)))
      await details.locator('summary').click();
    return details;
  }

  /** A form's field by its label; "Name" exactly, since other labels mention a display name. */
  const field = (form: Locator, label: string) =>
    form.getByLabel(label, { exact: label === 'Name' });
  /** The sentence on top of the page, or what the page says instead (failing fast, readably). */
  async function flash(page: Page) {
    const top = page.getByTestId('flash');
    if ((await top.count()) > 0) return top.textContent();
    const beside = await page.getByTestId('form-error').allTextContents();
    return `no sentence on top; ${beside.length > 0 ? `beside a form: ${beside.join(' ')}` : `the page: ${await page.title()}`}`;
  }
  /** The sentence beside a form, or what the page says instead. */
  async function refusal(form: Locator) {
    const beside = form.getByTestId('form-error');
    if ((await beside.count()) > 0) return beside.textContent();
    return `nothing beside the form; ${await flash(form.page())}`;
  }
  const companies = () => h.runtime.services.partners.companies(partnerId);
  const setupRows = (page: Page) =>
    page.getByTestId('setup-company').locator('td:first-child').allTextContents();

  it('refuses a bad company beside its form with the input kept, then adds, edits and links one', async () => {
    const page = await signedIn(people.partnerUser!.email);
    await page.getByRole('heading', { name: 'Setup Browser · Setup' }).waitFor();
    const add = await opened(page.locator('#add-company'));
    await add.getByLabel('Name').fill('Fabrikam');
    await add.getByLabel('Domain').fill('not a domain');
    await submits(page, add.getByRole('button', { name: 'Add the company' }));
    expect(new URL(page.url()).hash).to.equal('#add-company');
    expect(await add.evaluate((d) => (d as HTMLDetailsElement).open)).to.equal(true);
    expect(await refusal(add)).to.equal('Invalid request: domain: expected a DNS domain.');
    expect(await add.getByLabel('Name').inputValue()).to.equal('Fabrikam');
    expect(await add.getByLabel('Domain').inputValue()).to.equal('not a domain');
    expect(await page.getByTestId('flash').count()).to.equal(0);

    await add.getByLabel('Name').fill('  ');
    await add.getByLabel('Domain').fill('fabrikam.example');
    await submits(page, add.getByRole('button', { name: 'Add the company' }));
    expect(await refusal(add)).to.equal('Invalid request: name: must not be empty.');
    expect(await add.getByLabel('Domain').inputValue()).to.equal('fabrikam.example');
    expect(await companies()).to.have.length(0);

    await add.getByLabel('Name').fill('Fabrikam');
    await submits(page, add.getByRole('button', { name: 'Add the company' }));
    expect(await flash(page)).to.equal('Added Fabrikam.');
    expect(await setupRows(page)).to.deep.equal(['Fabrikam']);
    // The form is empty and closed again once it was accepted.
    expect(await add.getByTestId('form-error').count()).to.equal(0);
    expect(await add.getByLabel('Name').inputValue()).to.equal('');
    const [company] = await companies();
    expect(company).to.include({ name: 'Fabrikam', domain: 'fabrikam.example' });

    // Edit: a bad tenant id is refused beside this company's form, the new name kept.
    const row = page.getByTestId('setup-company').filter({ hasText: 'Fabrikam' });
    let edit = await opened(row.locator('details'));
    await edit.getByLabel('Name').fill('Fabrikam Inc');
    await edit.getByLabel('Customer tenant id').fill('nope');
    await submits(page, edit.getByRole('button', { name: 'Save' }));
    edit = page.locator(`#company-${company!.id}`);
    expect(await refusal(edit)).to.equal('Invalid request: customerTenantId: expected a GUID.');
    expect(await edit.getByLabel('Name').inputValue()).to.equal('Fabrikam Inc');
    expect(await edit.getByLabel('Customer tenant id').inputValue()).to.equal('nope');
    expect(await setupRows(page)).to.deep.equal(['Fabrikam']);
    expect(await h.runtime.services.partners.company(partnerId, company!.id)).to.include({
      name: 'Fabrikam',
      customerTenantId: null,
    });

    await edit.getByLabel('Customer tenant id').fill('');
    await submits(page, edit.getByRole('button', { name: 'Save' }));
    expect(await flash(page)).to.equal('Saved Fabrikam Inc.');
    expect(await setupRows(page)).to.deep.equal(['Fabrikam Inc']);

    // Linked to a Partner Center customer chosen from the list, which no longer offers it.
    const northwind = listed[0]!;
    edit = await opened(page.locator(`#company-${company!.id}`));
    await edit
      .getByLabel('Or link to a Partner Center customer')
      .selectOption({ label: `${northwind.name} (${northwind.domain})` });
    await submits(page, edit.getByRole('button', { name: 'Save' }));
    expect(await flash(page)).to.equal('Saved Fabrikam Inc.');
    expect(await page.getByTestId('setup-company').first().textContent()).to.contain(
      northwind.tenantId,
    );
    expect(await page.getByTestId('not-yet-added').textContent()).not.to.contain(northwind.name);
    expect(await h.runtime.services.partners.company(partnerId, company!.id)).to.include({
      name: 'Fabrikam Inc',
      customerTenantId: northwind.tenantId,
    });
  });

  it('adds customers not yet added, one then all, seen in Setup and on the Companies tab', async () => {
    const page = await signedIn(people.partnerUser!.email);
    const waiting = await page
      .getByTestId('not-yet-added')
      .locator('tr td:first-child')
      .allTextContents();
    expect(waiting).to.include.members(['Explicit Customer', 'Tailspin', 'Litware']);
    const before = (await companies()).length;

    const tailspin = page
      .getByTestId('not-yet-added')
      .locator('tr')
      .filter({ hasText: 'Tailspin' });
    await submits(page, tailspin.getByRole('button', { name: 'Add' }));
    expect(await flash(page)).to.equal('Added Tailspin; the next sync refreshes it.');
    expect(await setupRows(page)).to.include('Tailspin');
    const left = await page
      .getByTestId('not-yet-added')
      .locator('tr td:first-child')
      .allTextContents();
    expect(left).to.have.members(waiting.filter((n) => n !== 'Tailspin'));

    await submits(page, page.getByRole('button', { name: `Add all ${left.length}` }));
    expect(await flash(page)).to.equal(
      left.length === 1
        ? `Added ${left[0]}; the next sync refreshes it.`
        : `Added ${left.length} companies; the next sync refreshes them.`,
    );
    expect(await page.getByTestId('not-yet-added').count()).to.equal(0);
    expect(await page.locator('section[aria-labelledby="not-yet-added"]').textContent()).to.contain(
      'is a company',
    );
    expect(await setupRows(page)).to.include.members(waiting);
    const saved = await companies();
    expect(saved).to.have.length(before + waiting.length);
    const tenants = saved.map((c) => c.customerTenantId);
    for (const customer of listed.slice(1)) expect(tenants).to.include(customer.tenantId);

    await page.getByRole('link', { name: 'Companies', exact: true }).click();
    await page.getByRole('heading', { name: 'Setup Browser · Companies' }).waitFor();
    const shown = await page
      .getByTestId('company-row')
      .locator('td:first-child a')
      .allTextContents();
    expect(shown).to.include.members(waiting);
  });

  it('refuses a bad legacy account with the name kept, adds a good one, and never shows the password', async () => {
    const page = await signedIn(people.partnerUser!.email);
    const password = `legacy-${Date.now()}-pw`;
    const form = await opened(page.locator('#add-legacy'));
    await form.getByLabel('User principal name').fill('no-at-sign');
    await form.getByLabel('Password').fill(password);
    await submits(page, form.getByRole('button', { name: 'Add the account' }));
    expect(await refusal(form)).to.equal(
      'Invalid request: username: expected a user principal name such as sync@contoso.com.',
    );
    expect(await form.getByLabel('User principal name').inputValue()).to.equal('no-at-sign');
    expect(await form.getByLabel('Password').inputValue()).to.equal('');
    expect(await page.content()).not.to.contain(password);
    const legacyRows = () =>
      h.runtime.store.db
        .select()
        .from(delegatedAdmins)
        .where(and(eq(delegatedAdmins.partnerId, partnerId), eq(delegatedAdmins.kind, 'legacy')));
    expect(await legacyRows()).to.have.length(0);

    await form.getByLabel('User principal name').fill('Sync@Fabrikam.example');
    await form.getByLabel('Password').fill(password);
    await submits(page, form.getByRole('button', { name: 'Add the account' }));
    expect(await flash(page)).to.equal('Added the legacy account sync@fabrikam.example.');
    expect(await page.getByTestId('legacy-accounts').locator('td').first().textContent()).to.equal(
      'sync@fabrikam.example',
    );
    expect(await page.content()).not.to.contain(password);
    expect(await form.getByLabel('Password').inputValue()).to.equal('');
    const [row] = await legacyRows();
    expect(row!.passwordEnc).to.be.a('string').and.not.contain(password);
    // A company can now be added through it.
    expect(
      await page
        .locator('#add-company')
        .getByLabel('Legacy account')
        .locator('option')
        .allTextContents(),
    ).to.include('sync@fabrikam.example');
  });

  it('refuses each kind of custom license beside its form with the input kept, then creates, edits and deletes', async () => {
    const counted = await h.runtime.services.partners.addCompany(
      partnerId,
      { name: 'Counted Ltd', domain: 'counted.example' },
      'test',
    );
    const page = await signedIn(people.partnerUser!.email);
    const longName = 'x'.repeat(201);
    const kinds: {
      kind: string;
      summary: string;
      bad: Record<string, string>;
      good: Record<string, string>;
      says: string;
    }[] = [
      {
        kind: 'licensed_users',
        summary: 'Licensed users',
        bad: { Name: 'Staff', 'Only users in these domains': 'nodots' },
        good: { 'Only users in these domains': 'fabrikam.example, contoso.example' },
        says: 'domains.0: expected a DNS domain such as contoso.com',
      },
      {
        kind: 'group_members',
        summary: 'Members of a group',
        bad: { Name: 'Backup users', Group: ' ' },
        good: { Group: 'Backup' },
        says: 'group: must not be empty',
      },
      {
        kind: 'user_mailboxes',
        summary: 'User mailboxes',
        bad: { Name: '' },
        good: { Name: 'Mailboxes' },
        says: 'name: must not be empty',
      },
      {
        kind: 'shared_mailboxes',
        summary: 'Shared mailboxes',
        bad: { Name: longName },
        good: { Name: 'Shared' },
        says: 'name: must be at most 200 characters',
      },
      {
        kind: 'sku_quantity',
        summary: 'Quantity of a Microsoft license',
        bad: { Name: 'E3 seats', 'SKU part number': 'not a sku' },
        good: { 'SKU part number': 'SPE_E3' },
        says: 'skuPartNumber: expected a SKU part number such as SPE_E3',
      },
      {
        kind: 'fixed',
        summary: 'A fixed quantity',
        bad: { Name: 'Firewall', Quantity: 'three' },
        good: { Quantity: '3' },
        says: 'quantity: expected a whole number, 0 or more, such as 3',
      },
    ];
    for (const k of kinds) {
      const form = page.locator(`#new-license-${k.kind}`);
      await form.locator('summary', { hasText: k.summary }).click();
      for (const [label, value] of Object.entries(k.bad)) await field(form, label).fill(value);
      if (k.kind === 'sku_quantity') await form.getByRole('combobox').selectOption('assigned');
      if (k.kind === 'fixed') await form.getByLabel('Counted Ltd').check();
      await submits(page, form.getByRole('button', { name: 'Create' }));
      expect(await refusal(form), k.kind).to.equal(`Invalid request: ${k.says}.`);
      for (const [label, value] of Object.entries(k.bad))
        expect(await field(form, label).inputValue(), `${k.kind} ${label}`).to.equal(value);
      if (k.kind === 'sku_quantity')
        expect(await form.getByRole('combobox').inputValue()).to.equal('assigned');
      if (k.kind === 'fixed')
        expect(await form.getByLabel('Counted Ltd').isChecked()).to.equal(true);
      expect(await h.runtime.services.customLicenses.definitions(partnerId), k.kind).to.have.length(
        kinds.indexOf(k),
      );

      for (const [label, value] of Object.entries(k.good)) await field(form, label).fill(value);
      await submits(page, form.getByRole('button', { name: 'Create' }));
      const name = k.good.Name ?? k.bad.Name;
      expect(await flash(page), k.kind).to.equal(
        `Created the custom license ${name}; the next sync counts it.`,
      );
    }
    const listedNames = await page
      .getByTestId('custom-license')
      .locator('strong')
      .allTextContents();
    expect(listedNames).to.have.members([
      'Staff',
      'Backup users',
      'Mailboxes',
      'Shared',
      'E3 seats',
      'Firewall',
    ]);
    const saved = new Map(
      (await h.runtime.services.customLicenses.definitions(partnerId)).map((d) => [d.kind, d]),
    );
    expect(saved.get('licensed_users')!.params).to.deep.equal({
      domains: ['fabrikam.example', 'contoso.example'],
    });
    expect(saved.get('group_members')!.params).to.deep.equal({ group: 'Backup' });
    expect(saved.get('sku_quantity')!.params).to.deep.equal({
      skuPartNumber: 'SPE_E3',
      measure: 'assigned',
    });
    expect(saved.get('fixed')).to.deep.include({
      params: { quantity: 3 },
      companyIds: [counted.id],
    });
    expect(saved.get('user_mailboxes')!.companyIds).to.equal(null);

    // Edit the fixed one: refused beside its own form, then saved; then deleted.
    const fixed = saved.get('fixed')!;
    const item = page.getByTestId('custom-license').filter({ hasText: 'Firewall' });
    let edit = await opened(item.locator('details'));
    await edit.getByLabel('Name').fill('Firewall boxes');
    await edit.getByLabel('Quantity').fill('-1');
    await submits(page, edit.getByRole('button', { name: 'Save' }));
    edit = page.locator(`#license-${fixed.id}`);
    expect(await refusal(edit)).to.equal(
      'Invalid request: quantity: expected a whole number, 0 or more, such as 3.',
    );
    expect(await edit.getByLabel('Name').inputValue()).to.equal('Firewall boxes');
    expect(await edit.getByLabel('Quantity').inputValue()).to.equal('-1');
    expect(await edit.getByLabel('Counted Ltd').isChecked()).to.equal(true);
    expect(
      (await h.runtime.services.customLicenses.definition(partnerId, fixed.id))!.params,
    ).to.deep.equal({
      quantity: 3,
    });
    await edit.getByLabel('Quantity').fill('5');
    await submits(page, edit.getByRole('button', { name: 'Save' }));
    expect(await flash(page)).to.equal('Saved the custom license Firewall boxes.');
    expect(await h.runtime.services.customLicenses.definition(partnerId, fixed.id)).to.deep.include(
      {
        name: 'Firewall boxes',
        params: { quantity: 5 },
        companyIds: [counted.id],
      },
    );

    edit = await opened(page.locator(`#license-${fixed.id}`));
    await submits(page, edit.getByRole('button', { name: 'Delete' }));
    expect(await flash(page)).to.equal('Deleted the custom license Firewall boxes.');
    expect(
      await page.getByTestId('custom-license').locator('strong').allTextContents(),
    ).not.to.include('Firewall boxes');
    expect(await h.runtime.services.customLicenses.definition(partnerId, fixed.id)).to.equal(
      undefined,
    );
  });

  it("shows a partner user only their own partner's setup; an operator changes any partner's", async () => {
    const before = await companies();
    const stranger = await signedIn(otherPeople.partnerUser!.email, otherPartnerId);
    await stranger.getByRole('heading', { name: 'Other Browser · Setup' }).waitFor();
    const answer = await stranger.goto(`${base}/partners/${partnerId}/setup`);
    expect(answer!.status()).to.equal(404);
    expect(await stranger.getByRole('heading', { level: 1 }).textContent()).to.equal(
      'Page not found',
    );
    expect(await stranger.getByRole('alert').textContent()).to.equal(
      'There is no page at this address.',
    );
    expect(await stranger.content()).not.to.contain('Setup Browser');

    // Their own form sent to the other partner's address is refused the same way.
    await stranger.goto(`${base}/partners/${otherPartnerId}/setup`);
    const add = await opened(stranger.locator('#add-company'));
    await add.getByLabel('Name').fill('Intruder');
    await add.getByLabel('Domain').fill('intruder.example');
    await add
      .locator('form')
      .evaluate(
        (f, to) => (f as HTMLFormElement).setAttribute('action', to),
        `/partners/${partnerId}/setup/companies`,
      );
    await submits(stranger, add.getByRole('button', { name: 'Add the company' }));
    expect(await stranger.getByRole('heading', { level: 1 }).textContent()).to.equal(
      'Page not found',
    );
    expect(await companies()).to.deep.equal(before);

    // Their own partner's setup they change.
    await stranger.goto(`${base}/partners/${otherPartnerId}/setup`);
    const own = await opened(stranger.locator('#add-company'));
    await own.getByLabel('Name').fill('Own Ltd');
    await own.getByLabel('Domain').fill('own.example');
    await submits(stranger, own.getByRole('button', { name: 'Add the company' }));
    expect(await flash(stranger)).to.equal('Added Own Ltd.');

    // An operator changes either partner's.
    const operator = await signedIn(people.operator.email);
    for (const [partner, name] of [
      [partnerId, 'Operator One'],
      [otherPartnerId, 'Operator Two'],
    ] as const) {
      await operator.goto(`${base}/partners/${partner}/setup`);
      const form = await opened(operator.locator('#add-company'));
      await form.getByLabel('Name').fill(name);
      await form.getByLabel('Domain').fill(`${name.replace(' ', '-').toLowerCase()}.example`);
      await submits(operator, form.getByRole('button', { name: 'Add the company' }));
      expect(await flash(operator)).to.equal(`Added ${name}.`);
    }
    expect((await companies()).map((c) => c.name)).to.include('Operator One');
    expect(
      (await h.runtime.services.partners.companies(otherPartnerId)).map((c) => c.name),
    ).to.have.members(['Own Ltd', 'Operator Two']);
    const added = await h.runtime.store.db
      .select()
      .from(auditEvents)
      .where(
        and(eq(auditEvents.partnerId, otherPartnerId), eq(auditEvents.action, 'company.added')),
      );
    expect(added.map((a) => a.actor)).to.have.members([
      otherPeople.partnerUser!.email,
      people.operator.email,
    ]);
  });

  it('starts a sync on click and refuses a second within the minute, readably', async () => {
    const page = await signedIn(people.partnerUser!.email);
    const previous = await h.runtime.services.runs.latest(partnerId);
    await submits(page, page.getByRole('button', { name: 'Sync now' }));
    expect(await flash(page)).to.equal('Sync started.');
    const run = await h.runtime.services.runs.latest(partnerId);
    expect(run!.id).not.to.equal(previous!.id);

    const answer = page.waitForResponse((r) => r.url().endsWith('/setup/sync'));
    await submits(page, page.getByRole('button', { name: 'Sync now' }));
    expect((await answer).status()).to.equal(429);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal(
      'Too many requests',
    );
    expect(await page.getByRole('alert').textContent()).to.equal(tooManySyncs);
    expect((await h.runtime.services.runs.latest(partnerId))!.id).to.equal(run!.id);
    await page.getByRole('link', { name: 'Back to Setup' }).click();
    await page.getByRole('heading', { name: 'Setup Browser · Setup' }).waitFor();
    expect(await h.runEnded(run!.id)).to.include({ status: 'completed' });
  });
});
