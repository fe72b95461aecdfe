import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type request from 'supertest';
import { auditEvents, delegatedAdmins } from '../../src/store/schema.js';
import { tooManySyncs } from '../../src/server/request-limits.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, csrfOf, loggedIn } from '../support/pages.js';

type Agent = ReturnType<typeof request.agent>;

describe('pages: Setup (companies, legacy accounts, custom licenses, sync now)', function () {
  this.timeout(60_000);
  let h: Harness;
  let partnerId: string;
  let otherPartnerId: string;
  let people: Awaited<ReturnType<typeof createPeople>>;
  let otherPeople: Awaited<ReturnType<typeof createPeople>>;

  before(async () => {
    h = await startHarness();
    partnerId = (await h.runtime.services.partners.create('Setup Partner', 'test')).id;
    otherPartnerId = (await h.runtime.services.partners.create('Other Setup Partner', 'test')).id;
    people = await createPeople(h, partnerId);
    otherPeople = await createPeople(h, otherPartnerId);
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  /** Posts a Setup form of `partner` as the page would, and reads the flash it leads back to. */
  async function submit(agent: Agent, partner: string, path: string, fields: object) {
    const page = await agent.get(`/partners/${partner}/setup`);
    const res = await agent
      .post(`/partners/${partner}/setup${path}`)
      .type('form')
      .send({ ...fields, _csrf: csrfOf(page.text) });
    if (res.status !== 303) return { status: res.status, text: res.text, flash: '' };
    // A refused form leads back to itself on the page, its reason beside it.
    const [to, form] = (res.headers.location as string).split('#');
    expect(to).to.equal(`/partners/${partner}/setup`);
    const next = await agent.get(to!);
    const said = form ? `form-error" id="${form}-error` : 'flash';
    const flash = new RegExp(`data-testid="${said}">([^<]*)<`).exec(next.text)?.[1] ?? '';
    return { status: res.status, text: next.text, flash };
  }

  const audited = (action: string) =>
    h.runtime.store.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.partnerId, partnerId), eq(auditEvents.action, action)));

  it('adds and changes companies, refused with the API’s words, audited with who did it', async () => {
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const page = await agent.get(`/partners/${partnerId}/setup`);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('<h1>Setup Partner · Setup</h1>');
    expect(page.text).to.contain(`href="/partners/${partnerId}/setup" aria-current="page"`);

    const missing = await submit(agent, partnerId, '/companies', { name: 'Nowhere Ltd' });
    expect(missing.flash).to.equal('Invalid request: body: give customerTenantId or domain.');
    const badDomain = await submit(agent, partnerId, '/companies', {
      name: 'Bad Ltd',
      domain: 'not a domain',
    });
    expect(badDomain.flash).to.equal('Invalid request: domain: expected a DNS domain.');
    const badTenant = await submit(agent, partnerId, '/companies', {
      name: 'Bad Ltd',
      customerTenantId: 'nope',
    });
    expect(badTenant.flash).to.equal('Invalid request: customerTenantId: expected a GUID.');
    expect(await h.runtime.services.partners.companies(partnerId)).to.have.length(0);

    const added = await submit(agent, partnerId, '/companies', {
      name: 'Fabrikam',
      domain: 'Fabrikam.example',
      customerTenantId: '',
    });
    expect(added.flash).to.equal('Added Fabrikam.');
    const [company] = await h.runtime.services.partners.companies(partnerId);
    expect(company).to.include({ name: 'Fabrikam', domain: 'fabrikam.example' });
    expect(added.text).to.contain('<td>Fabrikam</td>');

    const tenant = randomUUID();
    const changed = await submit(agent, partnerId, `/companies/${company!.id}`, {
      name: 'Fabrikam Inc',
      domain: 'fabrikam.example',
      customerTenantId: tenant,
    });
    expect(changed.flash).to.equal('Saved Fabrikam Inc.');
    expect(await h.runtime.services.partners.company(partnerId, company!.id)).to.include({
      name: 'Fabrikam Inc',
      customerTenantId: tenant,
    });
    const refused = await submit(agent, partnerId, `/companies/${company!.id}`, {
      name: '',
      domain: 'fabrikam.example',
    });
    expect(refused.flash).to.match(/^Invalid request: name: /);
    // A second company of the same tenant is refused as the API refuses it.
    const twice = await submit(agent, partnerId, '/companies', {
      name: 'Copy',
      customerTenantId: tenant,
    });
    expect(twice.flash).to.equal(
      'A company with this customer tenant already exists for this partner.',
    );

    expect((await audited('company.added')).map((a) => a.actor)).to.deep.equal([
      people.partnerUser!.email,
    ]);
    const [update] = await audited('company.updated');
    expect(update!.actor).to.equal(people.partnerUser!.email);
    expect(update!.details).to.deep.include({ name: 'Fabrikam Inc', customerTenantId: tenant });
  });

  it('adds Partner Center customers not yet added, one or all, and links one to a company', async () => {
    const customers = [1, 2, 3].map((n) => ({
      customerTenantId: randomUUID(),
      domain: `customer${n}.example`,
      name: `Customer ${n}`,
    }));
    const { run } = await h.runtime.services.runs.start(partnerId, 'manual');
    await h.runtime.services.runs.addTenants(run.id, [], customers);
    const operator = await loggedIn(h.app, people.operator.email);
    const page = await operator.get(`/partners/${partnerId}/setup`);
    for (const c of customers) expect(page.text).to.contain(`<td>${c.name}</td>`);
    expect(page.text).to.contain('Add all 3');

    // Linking a company to a listed customer takes it off the list.
    const linked = await h.runtime.services.partners.addCompany(
      partnerId,
      { name: 'Woodgrove', domain: 'woodgrove.example' },
      'test',
    );
    const link = await submit(operator, partnerId, `/companies/${linked.id}`, {
      name: 'Woodgrove',
      domain: 'woodgrove.example',
      customerTenantId: '',
      linkTenantId: customers[0]!.customerTenantId,
    });
    expect(link.flash).to.equal('Saved Woodgrove.');
    expect(link.text).not.to.contain('<td>Customer 1</td>');

    const one = await submit(operator, partnerId, '/customers', {
      customerTenantId: customers[1]!.customerTenantId,
    });
    expect(one.flash).to.equal('Added Customer 2; the next sync refreshes it.');
    expect(one.text).to.contain('Add all 1');
    const all = await submit(operator, partnerId, '/customers', { scope: 'all' });
    expect(all.flash).to.equal('Added Customer 3; the next sync refreshes it.');
    const again = await submit(operator, partnerId, '/customers', { scope: 'all' });
    expect(again.flash).to.equal('No customer left to add.');
    const byTenant = new Map(
      (await h.runtime.services.partners.companies(partnerId)).map((c) => [c.customerTenantId, c]),
    );
    expect(byTenant.get(customers[0]!.customerTenantId)!.id).to.equal(linked.id);
    expect(byTenant.get(customers[1]!.customerTenantId)).to.include({
      name: 'Customer 2',
      domain: 'customer2.example',
    });
    expect(byTenant.get(customers[2]!.customerTenantId)!.name).to.equal('Customer 3');
    expect((await audited('company.added')).map((a) => a.actor)).to.include(people.operator.email);
    await h.runtime.services.runs.stop(run.id, 'test over');
  });

  it('adds a legacy account with its password sealed, never shown', async () => {
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const password = `legacy-${randomUUID()}`;
    const bad = await submit(agent, partnerId, '/delegated-admins', {
      username: 'no-at-sign',
      password,
    });
    expect(bad.flash).to.equal(
      'Invalid request: username: expected a user principal name such as sync@contoso.com.',
    );
    const empty = await submit(agent, partnerId, '/delegated-admins', {
      username: 'sync@fabrikam.example',
      password: '',
    });
    expect(empty.flash).to.match(/^Invalid request: password: /);
    const added = await submit(agent, partnerId, '/delegated-admins', {
      username: 'Sync@Fabrikam.example',
      password,
    });
    expect(added.flash).to.equal('Added the legacy account sync@fabrikam.example.');
    expect(added.text).to.contain('<td>sync@fabrikam.example</td>');
    expect(added.text).not.to.contain(password);
    const [row] = await h.runtime.store.db
      .select()
      .from(delegatedAdmins)
      .where(and(eq(delegatedAdmins.partnerId, partnerId), eq(delegatedAdmins.kind, 'legacy')));
    expect(row!.passwordEnc).to.be.a('string').and.not.contain(password);
    const [event] = await audited('delegated_admin.legacy_added');
    expect(event!.actor).to.equal(people.partnerUser!.email);
    expect(JSON.stringify(event!.details)).not.to.contain(password);
  });

  it('creates, changes and deletes custom licenses of every kind, refused with the schema’s words', async () => {
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const company = await h.runtime.services.partners.addCompany(
      partnerId,
      { name: 'Counted Ltd', domain: 'counted.example' },
      'test',
    );
    const forms = [
      { kind: 'licensed_users', name: 'Staff', domains: 'fabrikam.example, contoso.example' },
      { kind: 'group_members', name: 'Backup users', group: 'Backup' },
      { kind: 'user_mailboxes', name: 'Mailboxes' },
      { kind: 'shared_mailboxes', name: 'Shared' },
      { kind: 'sku_quantity', name: 'E3 seats', skuPartNumber: 'SPE_E3', measure: 'assigned' },
      { kind: 'fixed', name: 'Firewall', quantity: '3', companyIds: company.id },
    ];
    for (const form of forms) {
      const created = await submit(agent, partnerId, '/custom-licenses', form);
      expect(created.flash).to.equal(
        `Created the custom license ${form.name}; the next sync counts it.`,
      );
    }
    const saved = new Map(
      (await h.runtime.services.customLicenses.definitions(partnerId)).map((d) => [d.kind, d]),
    );
    expect(saved.size).to.equal(6);
    expect(saved.get('licensed_users')!.params).to.deep.equal({
      domains: ['fabrikam.example', 'contoso.example'],
    });
    expect(saved.get('sku_quantity')!.params).to.deep.equal({
      skuPartNumber: 'SPE_E3',
      measure: 'assigned',
    });
    expect(saved.get('fixed')!.params).to.deep.equal({ quantity: 3 });
    expect(saved.get('fixed')!.companyIds).to.deep.equal([company.id]);
    expect(saved.get('group_members')!.companyIds).to.equal(null);

    const refusals: [object, string][] = [
      [
        { kind: 'fixed', name: 'Bad', quantity: 'three' },
        'Invalid request: quantity: expected a whole number, 0 or more, such as 3.',
      ],
      [
        { kind: 'sku_quantity', name: 'Bad', skuPartNumber: 'not a sku' },
        'Invalid request: skuPartNumber: expected a SKU part number such as SPE_E3.',
      ],
      [
        { kind: 'licensed_users', name: 'Bad', domains: 'nodots' },
        'Invalid request: domains.0: expected a DNS domain such as contoso.com.',
      ],
      [{ kind: 'group_members', name: 'Bad', group: '' }, 'Invalid request: group: '],
      [{ kind: 'user_mailboxes', name: '' }, 'Invalid request: name: '],
      [
        { kind: 'fixed', name: 'Bad', quantity: '1', companyIds: randomUUID() },
        'companyIds: not companies of this partner: ',
      ],
    ];
    for (const [form, words] of refusals) {
      const refused = await submit(agent, partnerId, '/custom-licenses', form);
      expect(refused.flash, JSON.stringify(form)).to.contain(words);
    }
    expect(await h.runtime.services.customLicenses.definitions(partnerId)).to.have.length(6);

    const fixed = saved.get('fixed')!;
    const badEdit = await submit(agent, partnerId, `/custom-licenses/${fixed.id}`, {
      name: 'Firewall',
      quantity: '-1',
    });
    expect(badEdit.flash).to.match(/^Invalid request: quantity: /);
    const edited = await submit(agent, partnerId, `/custom-licenses/${fixed.id}`, {
      name: 'Firewall boxes',
      quantity: '5',
    });
    expect(edited.flash).to.equal('Saved the custom license Firewall boxes.');
    const after = await h.runtime.services.customLicenses.definition(partnerId, fixed.id);
    expect(after).to.deep.include({ name: 'Firewall boxes', params: { quantity: 5 } });
    // No company ticked: every company.
    expect(after!.companyIds).to.equal(null);
    const users = saved.get('licensed_users')!;
    await submit(agent, partnerId, `/custom-licenses/${users.id}`, { name: 'Staff', domains: '' });
    expect(
      (await h.runtime.services.customLicenses.definition(partnerId, users.id))!.params,
    ).to.deep.equal({});

    const deleted = await submit(agent, partnerId, `/custom-licenses/${fixed.id}/delete`, {});
    expect(deleted.flash).to.equal('Deleted the custom license Firewall boxes.');
    expect(await h.runtime.services.customLicenses.definition(partnerId, fixed.id)).to.equal(
      undefined,
    );
    const actions = (
      await h.runtime.store.db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.partnerId, partnerId))
    )
      .filter((a) => a.action.startsWith('custom_license'))
      .map((a) => a.actor);
    expect(actions.length).to.be.at.least(9);
    expect(new Set(actions)).to.deep.equal(new Set([people.partnerUser!.email]));
  });

  it("refuses another partner's Setup page and forms with 404, and changes nothing", async () => {
    const stranger = await loggedIn(h.app, otherPeople.partnerUser!.email);
    expect((await stranger.get(`/partners/${partnerId}/setup`)).status).to.equal(404);
    const company = await h.runtime.services.partners.addCompany(
      partnerId,
      { name: 'Guarded Ltd', domain: 'guarded.example' },
      'test',
    );
    const definition = await h.runtime.services.customLicenses.createDefinition(
      partnerId,
      { name: 'Guarded', companyIds: null, spec: { kind: 'fixed', quantity: 1 } },
      'test',
    );
    const own = await stranger.get(`/partners/${otherPartnerId}/setup`);
    const _csrf = csrfOf(own.text);
    const before = {
      companies: await h.runtime.services.partners.companies(partnerId),
      admins: await h.runtime.services.partners.admins(partnerId),
      definitions: await h.runtime.services.customLicenses.definitions(partnerId),
    };
    const attempts: [string, object][] = [
      ['/companies', { name: 'Intruder', domain: 'intruder.example' }],
      [`/companies/${company.id}`, { name: 'Taken', domain: 'taken.example' }],
      ['/customers', { scope: 'all' }],
      ['/delegated-admins', { username: 'evil@intruder.example', password: 'x' }],
      ['/custom-licenses', { kind: 'fixed', name: 'Intruder', quantity: '1' }],
      [`/custom-licenses/${definition.id}`, { name: 'Taken' }],
      [`/custom-licenses/${definition.id}/delete`, {}],
      ['/sync', {}],
    ];
    for (const [path, fields] of attempts) {
      const res = await stranger
        .post(`/partners/${partnerId}/setup${path}`)
        .type('form')
        .send({ ...fields, _csrf });
      expect(res.status, path).to.equal(404);
    }
    // Nor through their own partner's address with this partner's ids.
    const cross = await stranger
      .post(`/partners/${otherPartnerId}/setup/companies/${company.id}`)
      .type('form')
      .send({ name: 'Taken', domain: 'taken.example', _csrf });
    expect(cross.status).to.equal(404);
    const crossDelete = await stranger
      .post(`/partners/${otherPartnerId}/setup/custom-licenses/${definition.id}/delete`)
      .type('form')
      .send({ _csrf });
    expect(crossDelete.status).to.equal(404);
    expect({
      companies: await h.runtime.services.partners.companies(partnerId),
      admins: await h.runtime.services.partners.admins(partnerId),
      definitions: await h.runtime.services.customLicenses.definitions(partnerId),
    }).to.deep.equal(before);
  });

  it('limits sync now to once a minute per partner, with a clear refusal', async () => {
    // The stranger's 404 above spent nothing of this partner's budget.
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const first = await submit(agent, partnerId, '/sync', {});
    expect(first.flash).to.equal(
      'This partner has no active consent: grant Partner Center consent first.',
    );
    const second = await submit(agent, partnerId, '/sync', {});
    expect(second.status).to.equal(429);
    expect(second.text).to.contain(tooManySyncs);
    // Per partner: an operator is refused too, another partner is not.
    const operator = await loggedIn(h.app, people.operator.email);
    expect((await submit(operator, partnerId, '/sync', {})).status).to.equal(429);
    const other = await loggedIn(h.app, otherPeople.partnerUser!.email);
    expect((await submit(other, otherPartnerId, '/sync', {})).status).to.equal(303);
  });
});
