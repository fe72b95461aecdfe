import { Writable } from 'node:stream';
import { expect } from 'chai';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import type { PgTable } from 'drizzle-orm/pg-core';
import { createLogger } from '../../src/logger.js';
import {
  companies,
  customLicenseDefinitions,
  delegatedAdmins,
  partners,
  sessions,
  users,
} from '../../src/store/schema.js';
import { errorStatus } from '../../src/server/http-error.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, csrfOf, loggedIn } from '../support/pages.js';

const nul = '\u0000';

/** What the service's logger writes for a failed request carrying `error`. */
function loggedAsRequestFailure(error: unknown): string {
  const lines: string[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  log.error({ err: error }, 'request failed');
  return lines.join('');
}

describe('bad text input: control characters get a 400 naming the field, and nothing is stored', function () {
  this.timeout(60_000);
  let h: Harness;
  let partnerId: string;
  let people: Awaited<ReturnType<typeof createPeople>>;

  before(async () => {
    h = await startHarness(undefined, {}, { workers: false });
    partnerId = (await h.runtime.services.partners.create('Input Partner', 'test')).id;
    people = await createPeople(h, partnerId);
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  /** Rows of a table, to show a refused request stored nothing. */
  const rows = (table: PgTable) => h.runtime.store.db.$count(table);

  const apiCases: {
    place: string;
    table: PgTable;
    field: string;
    call: () => Promise<request.Response>;
  }[] = [
    {
      place: 'a partner name',
      table: partners,
      field: 'name',
      call: () => h.api('post', '/partners', { name: `Evil${nul}Corp` }),
    },
    {
      place: 'a company name',
      table: companies,
      field: 'name',
      call: () =>
        h.api('post', `/partners/${partnerId}/companies`, {
          name: `Bad${nul}Company`,
          domain: 'bad-company.example',
        }),
    },
    {
      place: 'a legacy account',
      table: delegatedAdmins,
      field: 'username',
      call: () =>
        h.api('post', `/partners/${partnerId}/delegated-admins`, {
          username: `sync${nul}@legacy.example`,
          password: 'legacy password',
        }),
    },
    {
      place: "a custom license's name",
      table: customLicenseDefinitions,
      field: 'name',
      call: () =>
        h.api('post', `/partners/${partnerId}/custom-licenses`, {
          name: `Managed${nul}Users`,
          kind: 'licensed_users',
        }),
    },
    {
      place: "a custom license's group",
      table: customLicenseDefinitions,
      field: 'group',
      call: () =>
        h.api('post', `/partners/${partnerId}/custom-licenses`, {
          name: 'Group members',
          kind: 'group_members',
          group: `Billing${nul}Users`,
        }),
    },
  ];

  for (const { place, table, field, call } of apiCases) {
    it(`API: ${place} with U+0000 → 400 naming ${field}, nothing stored`, async () => {
      const before = await rows(table);
      const res = await call();
      expect(res.status, res.text).to.equal(400);
      expect(res.body.error.message).to.contain(`${field}: must not contain control characters`);
      expect(await rows(table)).to.equal(before);
    });
  }

  it("API: a custom license's new name with U+0000 → 400 naming name, definition unchanged", async () => {
    const created = await h.api('post', `/partners/${partnerId}/custom-licenses`, {
      name: 'Fine name',
      kind: 'fixed',
      quantity: 3,
    });
    expect(created.status, created.text).to.equal(201);
    const id = (created.body as { id: string }).id;
    const res = await h.api('patch', `/partners/${partnerId}/custom-licenses/${id}`, {
      name: `Not${nul}fine`,
    });
    expect(res.status, res.text).to.equal(400);
    expect(res.body.error.message).to.contain('name: must not contain control characters');
    const after = await h.api('get', `/partners/${partnerId}/custom-licenses`);
    expect(
      (after.body as { customLicenses: { id: string; name: string }[] }).customLicenses.find(
        (d) => d.id === id,
      )?.name,
    ).to.equal('Fine name');
  });

  it('pages: a login email with U+0000 → 400 page naming the email, no session stored', async () => {
    const agent = request.agent(h.app);
    const form = await agent.get('/login');
    const before = await rows(sessions);
    const res = await agent
      .post('/login')
      .type('form')
      .send({ _csrf: csrfOf(form.text), email: `someone${nul}@x.example`, password: 'whatever' });
    expect(res.status, res.text).to.equal(400);
    expect(res.text).to.contain('email: must not contain control characters');
    expect(await rows(sessions)).to.equal(before);
  });

  it("pages: an operator's new partner name with U+0000 → 400 page naming the name, nothing stored", async () => {
    const operator = await loggedIn(h.app, people.operator.email);
    const page = await operator.get('/operator');
    const before = await rows(partners);
    const res = await operator
      .post('/operator/partners')
      .type('form')
      .send({ _csrf: csrfOf(page.text), name: `Evil${nul}Partner` });
    expect(res.status, res.text).to.equal(400);
    expect(res.text).to.contain('name: must not contain control characters');
    expect(await rows(partners)).to.equal(before);
  });

  it('a database input error (SQLSTATE class 22) is a 400, and its log line carries no parameter value', async () => {
    const secretEmail = 'leaky-parameter@secret.example';
    const error = await h.runtime.store.db.execute(sql`select ${secretEmail}::int`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, 'the query should have failed').to.be.instanceOf(Error);
    // A real DrizzleQueryError whose message and cause carry the parameter.
    expect(String((error as Error).message)).to.contain(secretEmail);
    expect(errorStatus(error)).to.equal(400);

    const written = loggedAsRequestFailure(error);
    expect(written).to.contain('Failed query');
    // The cause still says what was wrong, without the value.
    expect(written).to.contain('invalid input syntax for type integer');
    expect(written).to.not.contain(secretEmail);
    expect(written).to.not.contain('leaky-parameter');
  });

  it("a unique violation's log line carries neither the parameters nor pg's detail", async () => {
    const taken = people.operator.email;
    const error = await h.runtime.store.db
      .insert(users)
      .values({ email: taken, passwordHash: 'scrypt$not-a-real-hash', role: 'operator' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error, 'the insert should have failed').to.be.instanceOf(Error);
    // pg's detail quotes the value: Key (email)=(...) already exists.
    expect(String((error as { cause?: { detail?: string } }).cause?.detail)).to.contain(taken);
    expect(errorStatus(error)).to.equal(500);

    const written = loggedAsRequestFailure(error);
    expect(written).to.contain('duplicate key value violates unique constraint');
    expect(written).to.not.contain(taken);
    expect(written).to.not.contain('scrypt$not-a-real-hash');
  });

  it('the service logs of these requests carry none of the values sent', async () => {
    // Sent here as well: the tests above may not have run before this one.
    for (const { place, call } of apiCases) {
      expect((await call()).status, place).to.equal(400);
    }
    const browser = request.agent(h.app);
    const form = await browser.get('/login');
    const login = await browser
      .post('/login')
      .type('form')
      .send({ _csrf: csrfOf(form.text), email: `someone${nul}@x.example`, password: 'whatever' });
    expect(login.status).to.equal(400);
    const logs = h.logLines.join('');
    for (const value of ['Evil', 'Bad\\u0000Company', 'legacy password', 'someone']) {
      expect(logs).to.not.contain(value);
    }
  });
});
