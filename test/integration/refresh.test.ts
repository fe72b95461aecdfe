import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import type { ScenarioInput } from '../../emulator/scenario.js';
import { jobIds } from '../../src/queue/catalog.js';
import { refreshResults } from '../../src/store/schema.js';
import { licensesReadIn, skusPerTenantReadIn } from '../support/license-state.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { licenseCases } from '../support/license-scenario.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';

interface RunView {
  id: string;
  status: string;
  total: number;
  succeeded: number;
  failed: number;
  pending: number;
}

interface ListedCompany {
  customerTenantId: string;
  licenses: {
    skuId: string;
    skuPartNumber: string;
    activeUnits: number;
    consumedUnits: number;
    availableUnits: number;
    suspendedUnits: number;
    billedQuantity: number;
  }[];
  licensesRefreshedAt: string | null;
}

type Customers = ScenarioInput['partners'][number]['customers'];

/**
 * A service, emulator and partner of its own, with a company per customer of the first
 * partner's `customers`, all under one legacy delegated admin; and the waits on its runs.
 */
async function partnerWith(customers: Customers, env: Record<string, string> = {}) {
  const h: Harness = await startHarness(
    {
      ...scenarioWith((p) =>
        p.tenantId === partnerTenant
          ? { ...p, rateLimits: { partnerCenterRps: 500 }, customers }
          : p,
      ),
      // Shorter than MSAL's five-minute renewal margin: every job redeems the refresh token,
      // as jobs do an hour into a long run, so Entra's answers (50076, 50173) reach them.
      tokenLifetimes: { accessTokenSec: 299 },
    },
    { PARTNER_CENTER_REQUESTS_PER_SECOND: '400', ...env },
  );
  const partnerId = (
    (await h.api('post', '/partners', { name: 'Refresh Partner' })).body as {
      id: string;
    }
  ).id;
  const legacy = (
    await h.api('post', `/partners/${partnerId}/delegated-admins`, {
      username: 'sync@first.example',
      password: 'legacy-pw-test-only',
    })
  ).body as { id: string };
  const tenants = h.emulator.state.directory.partner(partnerTenant)!.customers.map((c) => {
    return { tenantId: c.tenantId, name: c.name };
  });
  for (const c of tenants) {
    await h.runtime.services.partners.addCompany(
      partnerId,
      { name: c.name, customerTenantId: c.tenantId, delegatedAdminId: legacy.id },
      'test',
    );
  }

  const status = async () =>
    (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      run: RunView | null;
      consent: { status: string } | null;
      nextAction: string | null;
    };

  /** Waits for the run's listing job and every customer job it fanned out. */
  async function runToEnd(runId: string): Promise<RunView> {
    await h.finished('partners', jobIds.refreshPartner(runId));
    const rows = await h.runtime.store.db
      .select({ tenant: refreshResults.customerTenantId })
      .from(refreshResults)
      .where(eq(refreshResults.runId, runId));
    await Promise.all(
      rows.map((r) => h.finished('refresh', jobIds.refreshCustomer(runId, r.tenant))),
    );
    return (await status()).run!;
  }

  /** Consents as admin@first.example and waits for the initial run to end. */
  async function consented(): Promise<RunView> {
    await h.grant(partnerId, 'admin@first.example');
    return runToEnd((await status()).run!.id);
  }

  /** One customer tenant's current licenses, read by the run, as the companies listing compares them. */
  async function storedSnapshots(runId: string, customerTenantId: string) {
    return licensesReadIn(h.runtime.store.db, runId, customerTenantId);
  }

  return {
    h,
    partnerId,
    tenants: tenants.map((t) => t.tenantId),
    status,
    runToEnd,
    consented,
    storedSnapshots,
  };
}

type PartnerUnderTest = Awaited<ReturnType<typeof partnerWith>>;

/** What the store holds for each hand-written customer: exactly its expected SKUs, once each. */
async function expectHandWrittenCounts(p: PartnerUnderTest, runId: string): Promise<void> {
  for (const { customer, expected } of licenseCases) {
    const stored = await p.storedSnapshots(runId, customer.tenantId);
    expect(stored, customer.name).to.have.deep.members(
      expected.map(({ availableUnits: _shownOnly, ...row }) => row),
    );
  }
}

describe('license refresh: every customer, its counts as Partner Center gives them, failures alone', function () {
  this.timeout(60_000);
  let p: PartnerUnderTest;

  // Each test has its own service, emulator and partner: the daily schedule counts every
  // consented partner, and tests change the emulator's users (MFA policy, revoked tokens).
  // One customer job at a time: a run lasts long enough for a revocation to land in it.
  beforeEach(async () => {
    p = await partnerWith(
      licenseCases.map((c) => c.customer),
      { REFRESH_CONCURRENCY: '1' },
    );
  });
  afterEach(async function () {
    await p?.h.close(this.currentTest?.state === 'failed');
  });

  it('the consent starts the initial refresh: each customer gets the counts written beside its data', async () => {
    const run = await p.consented();
    expect(run).to.include({
      status: 'completed',
      total: licenseCases.length,
      succeeded: licenseCases.length,
      failed: 0,
      pending: 0,
    });
    await expectHandWrittenCounts(p, run.id);
    const listed = (await p.h.api('get', `/partners/${p.partnerId}/companies`)).body as {
      companies: ListedCompany[];
    };
    for (const { customer, expected } of licenseCases) {
      const shown = listed.companies.find((c) => c.customerTenantId === customer.tenantId)!;
      expect(
        shown.licenses.map(
          ({
            skuId,
            skuPartNumber,
            activeUnits,
            consumedUnits,
            availableUnits,
            suspendedUnits,
            billedQuantity,
          }) => ({
            skuId,
            skuPartNumber,
            activeUnits,
            consumedUnits,
            availableUnits,
            suspendedUnits,
            billedQuantity,
          }),
        ),
        customer.name,
      ).to.have.deep.members(
        expected.map(({ warningUnits: _storedOnly, ...shownFields }) => shownFields),
      );
    }
  });

  it('sync now joins an open run, and a faulty customer fails alone and at once', async () => {
    expect(await p.consented()).to.include({ status: 'completed', failed: 0 });
    const faulty = p.tenants[3]!;
    await p.h.emulator.http.post(`${p.h.emulator.url}/_emulator/faults`, [
      { path: `/v1/customers/${faulty}/subscribedskus`, status: 403 },
      { path: '/v1/customers/*/subscriptions', status: 503, count: 2 },
    ]);
    try {
      const first = await p.h.api('post', `/partners/${p.partnerId}/refresh`);
      const second = await p.h.api('post', `/partners/${p.partnerId}/refresh`);
      expect(first.status).to.equal(202);
      expect(second.body).to.deep.equal({
        runId: (first.body as { runId: string }).runId,
        deduplicated: true,
      });
      const run = await p.runToEnd((first.body as { runId: string }).runId);
      expect(run).to.include({
        status: 'completed',
        total: licenseCases.length,
        succeeded: licenseCases.length - 1,
        failed: 1,
      });
      const [failed] = await p.h.runtime.store.db
        .select()
        .from(refreshResults)
        .where(and(eq(refreshResults.runId, run.id), eq(refreshResults.status, 'failed')));
      expect(failed).to.include({
        customerTenantId: faulty,
        attempts: 1,
        classification: 'permanent',
        errorCode: '403',
      });
    } finally {
      await p.h.emulator.http.delete(`${p.h.emulator.url}/_emulator/faults`);
    }
  });

  it('lists the failed customer and retries it from the API once the fault is gone', async () => {
    expect(await p.consented()).to.include({ status: 'completed', failed: 0 });
    const faulty = p.tenants[3]!;
    await p.h.emulator.http.post(`${p.h.emulator.url}/_emulator/faults`, [
      { path: `/v1/customers/${faulty}/subscribedskus`, status: 403 },
    ]);
    try {
      const { runId } = (await p.h.api('post', `/partners/${p.partnerId}/refresh`)).body as {
        runId: string;
      };
      expect(await p.runToEnd(runId)).to.include({ status: 'completed', failed: 1 });
    } finally {
      await p.h.emulator.http.delete(`${p.h.emulator.url}/_emulator/faults`);
    }
    const listed = (await p.h.api('get', `/partners/${p.partnerId}/refresh-failures`)).body as {
      runId: string;
      failures: {
        customerTenantId: string;
        code: string;
        kind: string;
        attempts: number;
        error: string;
      }[];
    };
    expect(listed.failures).to.have.length(1);
    expect(listed.failures[0]).to.include({
      customerTenantId: faulty,
      code: '403',
      kind: 'permanent',
      attempts: 1,
    });
    expect(listed.failures[0]!.error).to.match(/commerce relationship/);
    const retry = await p.h.api('post', `/partners/${p.partnerId}/refresh-failures/retry`, {
      customerTenantIds: [faulty],
    });
    expect(retry.status).to.equal(202);
    expect(retry.body).to.deep.equal({ runId: listed.runId, retried: [faulty] });
    await p.h.finished('refresh', jobIds.retryCustomer(listed.runId, faulty, 1));
    const run = (await p.status()).run!;
    expect(run).to.include({
      id: listed.runId,
      status: 'completed',
      succeeded: licenseCases.length,
      failed: 0,
    });
    const after = (await p.h.api('get', `/partners/${p.partnerId}/refresh-failures`)).body as {
      failures: unknown[];
    };
    expect(after.failures).to.deep.equal([]);
  });

  it('429s and 5xx faults: every customer is still refreshed, once, with the same counts', async () => {
    expect(await p.consented()).to.include({ status: 'completed', failed: 0 });
    await p.h.emulator.http.post(`${p.h.emulator.url}/_emulator/faults`, [
      { path: '/v1/customers/*/subscribedskus', status: 429, count: 4, retryAfterSec: 1 },
      { path: '/v1/customers/*/subscriptions', status: 503, count: 2 },
    ]);
    try {
      const since = p.h.emulator.state.log.at(-1)?.id ?? 0;
      const { runId } = (await p.h.api('post', `/partners/${p.partnerId}/refresh`)).body as {
        runId: string;
      };
      const run = await p.runToEnd(runId);
      expect(run).to.include({
        status: 'completed',
        total: licenseCases.length,
        succeeded: licenseCases.length,
        failed: 0,
      });
      const faults = p.h.emulator.state.log.filter((e) => e.id > since && e.fault);
      expect(faults.map((e) => e.status).sort()).to.deep.equal([429, 429, 429, 429, 503, 503]);
      await expectHandWrittenCounts(p, runId);
    } finally {
      await p.h.emulator.http.delete(`${p.h.emulator.url}/_emulator/faults`);
    }
  });

  it('the daily schedule refreshes every partner with an active consent', async () => {
    expect(await p.consented()).to.include({ status: 'completed', failed: 0 });
    const schedulers = await p.h.runtime.queues.get('maintenance').getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.pattern])).to.deep.include([
      'refreshAllPartners',
      '0 0 3 * * *',
    ]);
    const job = await p.h.runtime.queues.enqueue('refreshAllPartners', {}, { jobId: 'daily-test' });
    expect(await p.h.finished('maintenance', job.id!)).to.deep.equal({ partners: 1, joined: 0 });
    const run = (await p.status()).run!;
    expect(await p.runToEnd(run.id)).to.include({
      status: 'completed',
      succeeded: licenseCases.length,
    });
  });

  it('MFA expired under Conditional Access: the consent needs renewing and the run stops without a retry storm', async () => {
    expect(await p.consented()).to.include({ status: 'completed', failed: 0 });
    await p.h.emulator.http.post(`${p.h.emulator.url}/_emulator/users/admin@first.example/policy`, {
      mfaMaxAgeSec: 60,
    });
    await p.h.emulator.http.post(`${p.h.emulator.url}/_emulator/clock`, { advanceSeconds: 61 });
    const since = p.h.emulator.state.log.at(-1)?.id ?? 0;
    const started = await p.h.api('post', `/partners/${p.partnerId}/refresh`);
    const runId = (started.body as { runId: string }).runId;
    await p.h.finished('partners', jobIds.refreshPartner(runId));
    const s = await p.status();
    expect(s.consent!.status).to.equal('needs_reconsent');
    expect(s.run).to.include({ id: runId, status: 'stopped' });
    expect(s.nextAction).to.match(
      /multi-factor authentication.*Grant Partner Center consent again/,
    );
    const tokenCalls = p.h.emulator.state.log.filter(
      (e) => e.id > since && e.surface === 'identity',
    );
    expect(tokenCalls.length).to.be.at.most(3);
  });

  it('tokens revoked mid-run: the consent needs renewing within one job and the rest of the run stops', async () => {
    // Each customer's listing answers late: the run is still under way when the tokens go.
    await p.h.emulator.http.post(`${p.h.emulator.url}/_emulator/faults`, [
      { path: '/v1/customers/*/subscribedskus', delayMs: 300 },
    ]);
    const granted = await p.h.grant(p.partnerId, 'admin@first.example');
    expect(granted.outcome.outcome).to.equal('completed');
    const runId = (await p.status()).run!.id;
    const fanOut = await p.h.finished('partners', jobIds.refreshPartner(runId));
    expect(fanOut.refreshing).to.equal(licenseCases.length);
    await p.h.emulator.http.post(`${p.h.emulator.url}/_emulator/users/admin@first.example/revoke`);
    const since = p.h.emulator.state.log.at(-1)?.id ?? 0;

    const run = await p.h.runEnded(runId);
    expect(run.status).to.equal('stopped');
    expect(run.succeeded).to.be.below(licenseCases.length);
    const s = await p.status();
    expect(s.consent!.status).to.equal('needs_reconsent');
    expect(s.nextAction).to.match(/Grant Partner Center consent again/);
    // The remaining customers end without calling Microsoft: no retry storm.
    const after = p.h.emulator.state.log.filter((e) => e.id > since);
    expect(after.filter((e) => e.surface === 'identity').length).to.be.at.most(5);
    expect(after.filter((e) => e.surface === 'partnerCenter').length).to.be.at.most(20);
  });
});

describe('license refresh of a partner with more customers than a page holds', function () {
  this.timeout(60_000);
  let p: PartnerUnderTest;

  beforeEach(async () => {
    p = await partnerWith({ generate: { seed: 11, count: 201 } });
  });
  afterEach(async function () {
    await p?.h.close(this.currentTest?.state === 'failed');
  });

  it('the consent starts the initial refresh: 201 customers over 3 pages, 201 snapshot sets', async () => {
    const run = await p.consented();
    expect(run).to.include({
      status: 'completed',
      total: 201,
      succeeded: 201,
      failed: 0,
      pending: 0,
    });
    const perTenant = await skusPerTenantReadIn(p.h.runtime.store.db, run.id);
    expect(perTenant.map((r) => r.tenant).sort()).to.deep.equal([...p.tenants].sort());
    const listed = (await p.h.api('get', `/partners/${p.partnerId}/companies`)).body as {
      companies: ListedCompany[];
    };
    expect(listed.companies).to.have.length(201);
    expect(listed.companies.every((c) => c.licenses.length > 0 && c.licensesRefreshedAt)).to.be
      .true;
    const pages = p.h.emulator.state.log.filter(
      (e) =>
        e.path === '/v1/customers' &&
        e.status === 200 &&
        !e.query.includes('size=1&') &&
        e.query !== 'size=1',
    );
    expect(pages).to.have.length(3);
  });
});
