import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { accessSentences } from '../../src/domain/access.js';
import { microsoftSeatValues } from '../../src/domain/seat-history.js';
import { recordSeatChanges } from '../../src/store/seat-history.js';
import { startHarness, type Harness } from '../support/harness.js';
import { removePrefix } from '../support/redis.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, csrfOf, loggedIn, testPassword } from '../support/pages.js';

describe('pages: login, sessions, CSRF and who sees what', function () {
  this.timeout(60_000);
  let h: Harness;
  let partnerId: string;
  let otherPartnerId: string;
  let people: Awaited<ReturnType<typeof createPeople>>;

  before(async () => {
    h = await startHarness();
    partnerId = (await h.runtime.services.partners.create('Own Partner', 'test')).id;
    otherPartnerId = (await h.runtime.services.partners.create('Other Partner', 'test')).id;
    people = await createPeople(h, partnerId);
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  it('logs a partner user in to their Delegated Admin page, with a safe session cookie', async () => {
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const home = await agent.get('/');
    expect(home.status).to.equal(303);
    expect(home.headers.location).to.equal(`/partners/${partnerId}/delegated-admin`);
    const page = await agent.get(home.headers.location as string);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('<h1>Own Partner · Delegated Admin</h1>');
    expect(page.text).to.contain(
      '<button type="submit" class="primary">Grant Partner Center Consent</button>',
    );

    // The login answer set the cookie: HttpOnly, and SameSite=Lax so the redirect back from
    // Microsoft (a top-level navigation) still carries it.
    const browser = (await import('supertest')).default.agent(h.app);
    const form = await browser.get('/login');
    const login = await browser
      .post('/login')
      .type('form')
      .send({ _csrf: csrfOf(form.text), email: people.partnerUser!.email, password: testPassword });
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).to.match(/ls\.sid=/);
    expect(cookie).to.match(/HttpOnly/i);
    expect(cookie).to.match(/SameSite=Lax/i);
  });

  it("answers 404 for another partner's pages, and refuses Bull Board to a partner user", async () => {
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    expect((await agent.get(`/partners/${otherPartnerId}/delegated-admin`)).status).to.equal(404);
    expect((await agent.get(`/partners/${otherPartnerId}/companies`)).status).to.equal(404);
    expect((await agent.get('/admin/queues')).status).to.equal(403);
    expect((await agent.get('/operator')).status).to.equal(403);
    const operator = await loggedIn(h.app, people.operator.email);
    expect((await operator.get('/admin/queues')).status).to.equal(200);
    expect((await operator.get(`/partners/${otherPartnerId}/delegated-admin`)).status).to.equal(
      200,
    );
  });

  it('answers a browser with styled error pages and a way back, and the API with JSON', async () => {
    const html = 'text/html,application/xhtml+xml,*/*;q=0.8';
    const styled = (text: string) => {
      expect(text).to.contain('<link rel="stylesheet" href="/static/style.css">');
      expect(text).to.contain('<link rel="icon" href="/favicon.ico"');
      expect(text).to.match(/<a class="button primary" href="[^"]+">/);
    };
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const missing = await agent.get('/nope').set('Accept', html);
    expect(missing.status).to.equal(404);
    expect(missing.type).to.equal('text/html');
    expect(missing.text).to.contain('<h1>Page not found</h1>');
    styled(missing.text);
    const board = await agent.get('/admin/queues').set('Accept', html);
    expect(board.status).to.equal(403);
    expect(board.type).to.equal('text/html');
    expect(board.text).to.contain('The queue dashboard is for operators only.');
    styled(board.text);
    const other = await agent
      .get(`/partners/${otherPartnerId}/delegated-admin`)
      .set('Accept', html);
    expect(other.status).to.equal(404);
    styled(other.text);
    // The API, and a client that does not ask for HTML, keep the JSON answer.
    const api = await agent.get('/api/v1/nope').set('Accept', html);
    expect(api.status).to.equal(401);
    expect(api.type).to.equal('application/json');
    const script = await agent.get('/nope');
    expect(script.body).to.deep.equal({
      error: { code: 'not_found', message: 'No such resource.' },
    });

    const icon = await agent.get('/favicon.ico');
    expect(icon.status).to.equal(200);
    expect(icon.type).to.equal('image/svg+xml');
    expect(String(icon.body ?? icon.text)).to.contain('<svg');
    const page = await agent.get(`/partners/${partnerId}/delegated-admin`);
    expect(page.text).to.contain('<link rel="icon" href="/favicon.ico" type="image/svg+xml"/>');
  });

  it('answers a consent response it cannot use (unknown, expired, already used) with a styled page that leads back', async () => {
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const page = await agent.get('/auth/callback?code=c&state=unknown-state');
    expect(page.status).to.equal(400);
    expect(page.text).to.contain('<link rel="stylesheet" href="/static/style.css">');
    expect(page.text).to.contain(
      '<a class="button primary" href="/company/delegated-admin">Back to the Delegated Admin page</a>',
    );
  });

  it('refuses a form without its CSRF token, and changes nothing', async () => {
    const operator = await loggedIn(h.app, people.operator.email);
    const before = (await h.runtime.services.partners.list()).length;
    const refused = await operator.post('/operator/partners').type('form').send({ name: 'Sneaky' });
    expect(refused.status).to.equal(403);
    expect(refused.text).to.contain(
      'The form expired or did not come from this site. Reload the page and try again.',
    );
    const wrong = await operator
      .post('/operator/partners')
      .type('form')
      .send({ name: 'Sneaky', _csrf: 'not-the-token' });
    expect(wrong.status).to.equal(403);
    expect((await h.runtime.services.partners.list()).length).to.equal(before);

    const page = await operator.get('/operator');
    const added = await operator
      .post('/operator/partners')
      .type('form')
      .send({ name: 'Added Partner', _csrf: csrfOf(page.text) });
    expect(added.status).to.equal(303);
    expect((await h.runtime.services.partners.list()).map((p) => p.name)).to.include(
      'Added Partner',
    );
  });

  it("refuses the Access tab's forms without CSRF, and for another partner's customers", async () => {
    // Each partner knows one customer's access, its app not consented.
    const customerOf = {
      own: 'c1000001-0000-4000-8000-000000000001',
      other: 'c1000002-0000-4000-8000-000000000002',
    };
    const notConsented = {
      state: 'app_not_consented' as const,
      features: {
        licenses: { ok: false },
        mailboxes: { ok: false },
        directory: { ok: false },
      },
      reason: accessSentences.appNotConsented,
      relationships: [],
    };
    await h.runtime.services.access.saveRead(partnerId, [
      { ...notConsented, customerTenantId: customerOf.own, customerName: 'Own Customer' },
    ]);
    await h.runtime.services.access.saveRead(otherPartnerId, [
      { ...notConsented, customerTenantId: customerOf.other, customerName: 'Other Customer' },
    ]);
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const page = await agent.get(`/partners/${partnerId}/access`);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('Own Customer');
    expect(page.text).to.not.contain('Other Customer');
    const post = (path: string, form: Record<string, string>) =>
      agent.post(path).type('form').send(form);

    const withoutToken = await post(`/partners/${partnerId}/access/app-consents`, {
      customerTenantId: customerOf.own,
    });
    expect(withoutToken.status).to.equal(403);
    expect(withoutToken.text).to.contain('The form expired or did not come from this site.');
    const token = csrfOf(page.text);
    // Another partner's path, and another partner's customer on this partner's path.
    for (const [path, form] of [
      [`/partners/${otherPartnerId}/access/app-consents`, { customerTenantId: customerOf.other }],
      [`/partners/${otherPartnerId}/access/refresh`, {}],
      [`/partners/${otherPartnerId}/access/relationships/r-1/auto-extend`, {}],
      [`/partners/${partnerId}/access/app-consents`, { customerTenantId: customerOf.other }],
    ] as const) {
      const refused = await post(path, { ...form, _csrf: token });
      expect(refused.status, path).to.equal(404);
    }
    expect((await agent.get(`/partners/${otherPartnerId}/access`)).status).to.equal(404);
    // Nothing was attempted: no fix is audited for either partner.
    expect(await h.runtime.services.access.actions(partnerId)).to.deep.equal([]);
    expect(await h.runtime.services.access.actions(otherPartnerId)).to.deep.equal([]);
    expect((await h.runtime.services.access.get(otherPartnerId, customerOf.other))?.state).to.equal(
      'app_not_consented',
    );
  });

  it('lets an operator add a partner user, who can then log in', async () => {
    const operator = await loggedIn(h.app, people.operator.email);
    const page = await operator.get('/operator');
    const res = await operator
      .post('/operator/users')
      .type('form')
      .send({
        _csrf: csrfOf(page.text),
        partnerId: otherPartnerId,
        email: 'new.user@other.example',
        password: testPassword,
      });
    expect(res.status).to.equal(303);
    const agent = await loggedIn(h.app, 'new.user@other.example');
    expect((await agent.get('/')).headers.location).to.equal(
      `/partners/${otherPartnerId}/delegated-admin`,
    );
  });

  it('logs out, after which the pages ask for a login again', async () => {
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const page = await agent.get(`/partners/${partnerId}/delegated-admin`);
    expect(
      (
        await agent
          .post('/logout')
          .type('form')
          .send({ _csrf: csrfOf(page.text) })
      ).status,
    ).to.equal(303);
    const after = await agent.get(`/partners/${partnerId}/delegated-admin`);
    expect(after.status).to.equal(303);
    expect(after.headers.location).to.match(/^\/login/);
  });

  it("shows a company's seat history as a table and a chart, and 404 for another partner's", async () => {
    const services = h.runtime.services;
    const company = await services.partners.addCompany(
      partnerId,
      { name: 'History Company', customerTenantId: randomUUID() },
      'test',
    );
    const theirs = await services.partners.addCompany(
      otherPartnerId,
      { name: 'Not Yours', customerTenantId: randomUUID() },
      'test',
    );
    const spb = { skuId: 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46', skuPartNumber: 'SPB' };
    for (const [runId, activeUnits] of [
      [randomUUID(), 10],
      [randomUUID(), 12],
    ] as const) {
      await h.runtime.store.db.transaction((tx) =>
        recordSeatChanges(tx, {
          companyId: company.id,
          runId,
          fields: ['purchased', 'assigned', 'billed'],
          next: microsoftSeatValues([
            { ...spb, activeUnits, consumedUnits: 5, billedQuantity: activeUnits },
          ]),
        }),
      );
    }
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const companies = await agent.get(`/partners/${partnerId}/companies`);
    expect(companies.text).to.contain(
      `<a href="/partners/${partnerId}/companies/${company.id}">History Company</a>`,
    );
    const page = await agent.get(`/partners/${partnerId}/companies/${company.id}`);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('<h1>Own Partner · History Company</h1>');
    const rows = page.text.match(/<tr data-testid="seat-change">/g) ?? [];
    expect(rows).to.have.length(5);
    // Newest first: the two seats bought, then the first reading.
    expect(page.text).to.match(
      /<td data-label="Change" class="num">\+2<\/td><td data-label="From → to" class="num">10 → 12<\/td>/,
    );
    expect(page.text).to.contain('<span class="muted">first reading</span>');
    // The chart: inline SVG, named and described, no script; the tables stack on a phone.
    expect(page.text).to.match(/<svg viewBox="0 0 320 120" role="img" aria-labelledby="[^"]+"/);
    expect(page.text).to.contain('Microsoft 365 Business Premium: seats over 90 days</title>');
    // The first reading starts the lines: it is not a purchase from 0.
    expect(page.text).to.contain(
      'Over the last 90 days, purchased went from 10 to 12 in 1 change; assigned stayed at 5.',
    );
    expect(page.text).to.match(/<path class="seat-purchased" d="M[^"]+"/);
    expect(page.text).not.to.contain('<script');
    expect(page.text).to.contain('<table class="stack">');

    const csv = await agent.get(`/partners/${partnerId}/companies/${company.id}?format=csv`);
    expect(csv.headers['content-type']).to.match(/^text\/csv/);
    const parsed = parse<Record<string, string>>(csv.text, { columns: true });
    expect(parsed.map((r) => [r.product, r.field, r.change])).to.deep.equal([
      ['Microsoft 365 Business Premium', 'billed', '2'],
      ['Microsoft 365 Business Premium', 'purchased', '2'],
      ['Microsoft 365 Business Premium', 'billed', '10'],
      ['Microsoft 365 Business Premium', 'assigned', '5'],
      ['Microsoft 365 Business Premium', 'purchased', '10'],
    ]);

    expect((await agent.get(`/partners/${partnerId}/companies/${theirs.id}`)).status).to.equal(404);
    expect((await agent.get(`/partners/${otherPartnerId}/companies/${theirs.id}`)).status).to.equal(
      404,
    );
  });

  it('rate-limits login attempts: wrong passwords, then 429 even with the right one', async () => {
    // An account of its own: the failures below would hold back the suite's operator too.
    const { operator } = await createPeople(h);
    const agent = (await import('supertest')).default.agent(h.app);
    const form = await agent.get('/login');
    const token = csrfOf(form.text);
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        statuses.push(
          (
            await agent
              .post('/login')
              .type('form')
              .send({ _csrf: token, email: operator.email, password: 'wrong password' })
          ).status,
        );
      }
      expect(statuses).to.deep.equal(new Array(10).fill(401));
      const limited = await agent
        .post('/login')
        .type('form')
        .send({ _csrf: token, email: operator.email, password: testPassword });
      expect(limited.status).to.equal(429);
      expect(limited.text).to.contain(
        '<p class="notice bad" role="alert">Too many login attempts. Wait 15 minutes and try again.</p>',
      );
    } finally {
      // Every test logs in from this one address: its failures must not lock the others out.
      await removePrefix(`${h.prefix}:login`);
    }
  });
});
