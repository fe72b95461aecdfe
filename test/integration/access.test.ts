import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import { accessSentences } from '../../src/domain/access.js';
import { stepSentences } from '../../src/microsoft/error-table.js';
import { jobIds } from '../../src/queue/catalog.js';
import { refreshResults } from '../../src/store/schema.js';
import { gdapCustomers, gdapScenario, restoreGdapCustomer } from '../support/gdap.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';

// GDAP access per customer against the emulator's GDAP scenario (one customer per case):
// what the access API says, what a run does with each customer, and the fixes. Each test
// starts from the scenario as a run reads it, and every customer is put back after it.

const customers = gdapCustomers;
type Case = keyof typeof customers;

interface AccessRow {
  customerTenantId: string;
  customerName: string;
  state: string;
  relationships: {
    id: string;
    displayName: string;
    status: string;
    endDateTime: string;
    autoExtendDuration: string;
    roles: string[];
  }[];
  features: Record<string, { ok: boolean; reason?: string }>;
  reason?: string;
  checkedAt: string | null;
}

describe('GDAP access per customer', function () {
  let h: Harness;
  let partnerId: string;

  const access = async (query = '') => {
    const res = await h.api('get', `/partners/${partnerId}/access${query}`);
    expect(res.status, res.text).to.equal(200);
    const rows = (res.body as { customers: AccessRow[] }).customers;
    return new Map(rows.map((r) => [r.customerTenantId, r]));
  };
  const stateOf = async (which: Case) => (await access()).get(customers[which])?.state;

  /** Starts a run (or waits for the one open) and returns its id once it ended. */
  const runToEnd = async (): Promise<string> => {
    const started = await h.api('post', `/partners/${partnerId}/refresh`);
    expect(started.status, started.text).to.equal(202);
    const runId = (started.body as { runId: string }).runId;
    await h.runEnded(runId);
    return runId;
  };
  const results = async (runId: string) =>
    new Map(
      (
        await h.runtime.store.db
          .select()
          .from(refreshResults)
          .where(eq(refreshResults.runId, runId))
      ).map((r) => [r.customerTenantId, r]),
    );
  before(async function () {
    this.timeout(120_000);
    h = await startHarness(gdapScenario(), { PARTNER_CENTER_REQUESTS_PER_SECOND: '15' });
    partnerId = (
      (await h.api('post', '/partners', { name: 'GDAP Partner' })).body as { id: string }
    ).id;
    for (const [name, tenantId] of Object.entries(customers)) {
      await h.runtime.services.partners.addCompany(
        partnerId,
        { name: `${name} company`, customerTenantId: tenantId },
        'test',
      );
    }
    await h.grant(partnerId, 'admin@s365l.com');
    const status = await h.api('get', `/partners/${partnerId}/delegated-admin`);
    await h.runEnded((status.body as { run: { id: string } }).run.id);
  });
  afterEach(async function () {
    if (!h) return;
    await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    for (const tenantId of Object.values(customers)) await restoreGdapCustomer(h, tenantId);
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  it('reads every customer’s access at the start of the run, with the roles held and what to do', async () => {
    await runToEnd();
    const rows = await access();
    expect(rows.size).to.equal(Object.keys(customers).length);
    const states = Object.fromEntries(
      Object.entries(customers).map(([name, tenant]) => [name, rows.get(tenant)?.state]),
    );
    expect(states).to.deep.equal({
      allGood: 'ok',
      noRelationship: 'no_relationship',
      expired: 'expired',
      expiring: 'expiring',
      mailboxOnly: 'missing_role',
      licensesOnly: 'ok',
      // Known from the run's sign-in to their tenants: 90099 and 65001.
      notConsented: 'app_not_consented',
      microsoftLed: 'ok',
      globalAdmin: 'ok',
      partlyConsented: 'app_not_consented',
      terminated: 'no_relationship',
    });
    const good = rows.get(customers.allGood)!;
    expect(good.customerName).to.equal('allGood company');
    expect(good.relationships).to.have.length(1);
    expect(good.relationships[0]).to.include({
      displayName: 'All Good managed services',
      status: 'active',
      autoExtendDuration: 'P180D',
    });
    expect(good.relationships[0]!.roles).to.have.members([
      'Exchange Administrator',
      'Global Reader',
      'License Administrator',
    ]);
    expect(good.features).to.deep.equal({
      licenses: { ok: true },
      mailboxes: { ok: true },
      directory: { ok: true },
    });
    expect(good.reason).to.equal(undefined);
    expect(good.checkedAt).to.be.a('string');

    const mailboxOnly = rows.get(customers.mailboxOnly)!;
    expect(mailboxOnly.reason).to.equal(
      "Give the group 'GDAP Mail' Directory Readers in the relationship 'Exchange support', or use a relationship that has it.",
    );
    expect(mailboxOnly.features.licenses?.ok).to.equal(false);
    expect(mailboxOnly.features.mailboxes).to.deep.equal({ ok: true });
    // Licenses readable, mailboxes not: said per feature; the partner counts no mailboxes.
    const licensesOnly = rows.get(customers.licensesOnly)!;
    expect(licensesOnly.features.licenses).to.deep.equal({ ok: true });
    expect(licensesOnly.features.mailboxes).to.deep.equal({
      ok: false,
      reason:
        "Give the group 'GDAP Readers' Reports Reader in the relationship 'Licensing', or use a relationship that has it.",
    });
    expect(rows.get(customers.expiring)!.reason).to.match(
      /^The GDAP relationship 'Expiring managed services' ends on \d{4}-\d\d-\d\d and does not auto-extend: turn on auto-extend/,
    );
    expect(rows.get(customers.expired)!.reason).to.match(
      /^The GDAP relationship '(Lapsed|Expired) managed services' ended on/,
    );
    expect(rows.get(customers.noRelationship)!.reason).to.equal(accessSentences.noRelationship);
    expect(rows.get(customers.notConsented)!.reason).to.equal(accessSentences.appNotConsented);
  });

  it('filters by state, and refuses a state that does not exist', async () => {
    await runToEnd();
    const noRelationship = await access('?state=no_relationship');
    expect([...noRelationship.keys()]).to.have.members([
      customers.noRelationship,
      customers.terminated,
    ]);
    const bad = await h.api('get', `/partners/${partnerId}/access?state=broken`);
    expect(bad.status).to.equal(400);
    expect((bad.body as { error: { message: string } }).error.message).to.match(/state/);
  });

  it('records customers without access as no_access in the run, apart from failures and not retried', async () => {
    const since = h.emulator.state.log.at(-1)?.id ?? 0;
    const byTenant = await results(await runToEnd());
    const outcome = (which: Case) => byTenant.get(customers[which])!;
    for (const which of [
      'allGood',
      'expiring',
      'licensesOnly',
      'microsoftLed',
      'globalAdmin',
    ] as const)
      expect(outcome(which).status, which).to.equal('succeeded');
    for (const which of [
      'noRelationship',
      'expired',
      'terminated',
      'mailboxOnly',
      'notConsented',
      'partlyConsented',
    ] as const)
      expect(outcome(which).status, which).to.equal('no_access');
    // The run says what Microsoft refused and what is missing; the access view, read beside
    // the customers, names the group and the relationship.
    expect(outcome('mailboxOnly').errorCode).to.equal('20002');
    expect(outcome('mailboxOnly').errorMessage).to.match(
      /no GDAP role here that reads them \(Directory Readers, Global Reader, User Administrator or License Administrator\)/,
    );
    expect((await access()).get(customers.mailboxOnly)!.reason).to.match(/Directory Readers/);
    expect(outcome('notConsented').errorCode).to.equal('AADSTS90099');
    expect(outcome('partlyConsented').errorCode).to.equal('AADSTS65001');
    for (const which of ['noRelationship', 'expired', 'terminated'] as const)
      expect(outcome(which).errorCode, which).to.equal('AADSTS50020');
    expect((await access()).get(customers.noRelationship)!.reason).to.equal(
      accessSentences.noRelationship,
    );

    const status = await h.api('get', `/partners/${partnerId}/delegated-admin`);
    expect((status.body as { run: object }).run).to.include({
      status: 'completed',
      total: 11,
      succeeded: 5,
      failed: 0,
      noAccess: 6,
      pending: 0,
    });
    const failures = await h.api('get', `/partners/${partnerId}/refresh-failures`);
    expect((failures.body as { failures: unknown[] }).failures).to.deep.equal([]);

    // Those without a relationship were refused at their sign-in and asked nothing more.
    const log = h.emulator.state.log.filter(
      (e) => e.id > since && !e.path.includes('/tenantRelationships/'),
    );
    for (const which of ['noRelationship', 'expired', 'terminated'] as const) {
      const tenant = customers[which];
      const calls = log.filter((e) => e.tenantId === tenant || e.path.includes(tenant));
      expect(
        calls.filter((e) => !e.path.includes('/.well-known/')).map((e) => [e.path, e.status]),
        which,
      ).to.deep.equal([[`/${tenant}/oauth2/v2.0/token`, 400]]);
    }
  });

  it('consents the app in the customers that need it, and they then refresh', async () => {
    await runToEnd();
    const asked = await h.api('post', `/partners/${partnerId}/access/app-consents`, {});
    expect(asked.status, asked.text).to.equal(202);
    const { jobId, customerTenantIds } = asked.body as {
      jobId: string;
      customerTenantIds: string[];
    };
    expect(customerTenantIds).to.have.members([customers.notConsented, customers.partlyConsented]);
    const outcome = (await h.finished('refresh', jobId)) as {
      outcomes: { customerTenantId: string; outcome: string }[];
    };
    expect(outcome.outcomes.map((o) => o.outcome)).to.deep.equal(['done', 'done']);
    expect(await stateOf('notConsented')).to.equal('ok');
    expect(await stateOf('partlyConsented')).to.equal('ok');
    const audit = await h.runtime.services.access.actions(partnerId);
    expect(
      audit.map((a) => [a.action, a.customerTenantId, a.outcome, a.actor]),
    ).to.deep.include.members([
      ['app_consent', customers.notConsented, 'done', 'admin-api'],
      ['app_consent', customers.partlyConsented, 'done', 'admin-api'],
    ]);

    const runId = await runToEnd();
    const byTenant = await results(runId);
    expect(byTenant.get(customers.notConsented)!.status).to.equal('succeeded');
    expect(byTenant.get(customers.partlyConsented)!.status).to.equal('succeeded');
    expect(await stateOf('notConsented')).to.equal('ok');
  });

  it('turns on auto-extend with the relationship’s etag, and refuses it for Global Administrator and Microsoft-led ones', async () => {
    await runToEnd();
    const rows = await access();
    const relationshipOf = (which: Case) => rows.get(customers[which])!.relationships[0]!;
    const autoExtend = (which: Case) =>
      h.api(
        'post',
        `/partners/${partnerId}/access/relationships/${relationshipOf(which).id}/auto-extend`,
      );

    const done = await autoExtend('expiring');
    expect(done.status, done.text).to.equal(200);
    expect(done.body).to.include({ autoExtendDuration: 'P180D' });
    expect((done.body as { access: AccessRow }).access.state).to.equal('ok');
    expect(await stateOf('expiring')).to.equal('ok');
    const live = await h.emulator.http.get(
      `${h.emulator.url}/_emulator/customers/${customers.expiring}`,
    );
    expect(JSON.stringify(live.data)).to.contain('P180D');
    const patches = h.emulator.state.log.filter(
      (e) => e.method === 'PATCH' && e.path.includes(relationshipOf('expiring').id),
    );
    expect(patches.map((p) => p.status)).to.deep.equal([200]);

    const admin = await autoExtend('globalAdmin');
    expect(admin.status).to.equal(422);
    expect((admin.body as { error: { message: string } }).error.message).to.equal(
      stepSentences.autoExtendGlobalAdministrator('Full administration'),
    );
    const led = await autoExtend('microsoftLed');
    expect(led.status).to.equal(422);
    expect((led.body as { error: { message: string } }).error.message).to.equal(
      stepSentences.autoExtendMicrosoftLed(relationshipOf('microsoftLed').displayName),
    );
    const audit = await h.runtime.services.access.actions(partnerId);
    expect(audit.filter((a) => a.action === 'auto_extend').map((a) => a.outcome)).to.have.members([
      'done',
      'refused',
      'refused',
    ]);
  });

  it('ends a customer whose relationship is removed mid-run no_access, without a retry storm, others unaffected', async () => {
    const tenant = customers.allGood;
    // Consented, as every customer but this one is expected to succeed.
    const consented = await h.emulator.http.patch(
      `${h.emulator.url}/_emulator/customers/${customers.notConsented}`,
      { appConsent: true },
    );
    expect(consented.status).to.equal(200);
    const path = `/v1/customers/${tenant}/subscribedskus`;
    // Its licenses read is held at Microsoft while its relationship goes.
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, {
      method: 'GET',
      path,
      count: 1,
      delayMs: 3_000,
    });
    const since = h.emulator.state.log.at(-1)?.id ?? 0;
    const started = await h.api('post', `/partners/${partnerId}/refresh`);
    const runId = (started.body as { runId: string }).runId;
    await h.finished('partners', jobIds.refreshPartner(runId));
    const removed = await h.emulator.http.patch(`${h.emulator.url}/_emulator/customers/${tenant}`, {
      gdap: [],
    });
    expect(removed.status).to.equal(200);
    await h.runEnded(runId);

    const byTenant = await results(runId);
    await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    const result = byTenant.get(tenant)!;
    expect(result.status).to.equal('no_access');
    // Refused at its sign-in (50020) or, when the sign-in came first, at its licenses (20002).
    expect(result.errorCode).to.be.oneOf(['AADSTS50020', '20002']);
    for (const other of [
      'expiring',
      'licensesOnly',
      'microsoftLed',
      'globalAdmin',
      'notConsented',
    ] as const)
      expect(byTenant.get(customers[other])!.status, other).to.equal('succeeded');
    // Calls for the customer, not the partner's reads of its relationships, nor discovery.
    const calls = h.emulator.state.log.filter(
      (e) =>
        e.id > since &&
        (e.tenantId === tenant || e.path.includes(tenant)) &&
        !e.path.includes('/tenantRelationships/') &&
        !e.path.includes('/.well-known/'),
    );
    // At most one sign-in (none while the last run's is in memory), one licenses read and one
    // subscriptions read: nothing retried.
    expect(calls.filter((c) => c.path.endsWith('/oauth2/v2.0/token')).length).to.be.at.most(1);
    expect(calls.filter((c) => c.path === path).length).to.be.at.most(1);
    expect(calls.length).to.be.at.most(3);
    const failures = await h.api('get', `/partners/${partnerId}/refresh-failures`);
    expect((failures.body as { failures: unknown[] }).failures).to.deep.equal([]);

    // The next access read shows it.
    const read = await h.api('post', `/partners/${partnerId}/access/refresh`);
    expect(read.status).to.equal(202);
    await h.finished('partners', (read.body as { jobId: string }).jobId);
    expect(await stateOf('allGood')).to.equal('no_relationship');
  });
});

// The shorthand most scenarios use (`delegatedAccess: true`): one active relationship giving
// Global Reader to the group of every partner user, which the user's memberships list.
describe('GDAP access through the default relationship', function () {
  let h: Harness;
  const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';

  before(async function () {
    this.timeout(120_000);
    h = await startHarness();
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  it('reads every customer with delegated access as ok, and one without as having no relationship', async () => {
    const partnerId = (
      (await h.api('post', '/partners', { name: 'Default Partner' })).body as { id: string }
    ).id;
    const spec = h.emulator.state.directory.partner(partnerTenant)!.customers.slice(0, 4);
    for (const c of spec) {
      await h.runtime.services.partners.addCompany(
        partnerId,
        { name: c.name, customerTenantId: c.tenantId },
        'test',
      );
    }
    const without = spec[3]!.tenantId;
    await h.emulator.http.patch(`${h.emulator.url}/_emulator/customers/${without}`, {
      delegatedAccess: false,
    });
    try {
      await h.grant(partnerId, 'admin@first.example');
      const run = await h.runtime.services.runs.latest(partnerId);
      await h.runEnded(run!.id);
      const res = await h.api('get', `/partners/${partnerId}/access`);
      expect(res.status, res.text).to.equal(200);
      const rows = (res.body as { customers: AccessRow[] }).customers;
      const states = Object.fromEntries(rows.map((r) => [r.customerTenantId, r.state]));
      for (const c of spec.slice(0, 3)) expect(states[c.tenantId], c.name).to.equal('ok');
      expect(states[without]).to.equal('no_relationship');
      // The roles shown are those the emulator's relationships give the account's groups.
      for (const c of spec.slice(0, 3)) {
        const shown = rows.find((r) => r.customerTenantId === c.tenantId)!.relationships;
        const given = h.emulator.state.directory
          .customer(c.tenantId)!
          .gdap.filter((r) => r.status === 'active')
          .map((r) => [...new Set(r.accessAssignments.flatMap((a) => a.roles))].sort());
        expect(
          shown.map((r) => [...r.roles].sort()),
          c.name,
        ).to.deep.equal(given);
      }
    } finally {
      await h.emulator.http.patch(`${h.emulator.url}/_emulator/customers/${without}`, {
        delegatedAccess: true,
      });
    }
  });
});
