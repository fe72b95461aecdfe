import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import { subscribedSkus } from '../../emulator/tenants.js';
import { jobIds } from '../../src/queue/catalog.js';
import { licenseSnapshots, refreshResults } from '../../src/store/schema.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';

interface RunView {
  id: string;
  status: string;
  total: number;
  succeeded: number;
  failed: number;
  pending: number;
}

describe('license refresh: every customer, one snapshot set each, failures alone', function () {
  this.timeout(120_000);
  let h: Harness;
  let partnerId: string;
  let tenants: string[];

  // Each test has its own service, emulator and partner: the daily schedule counts every
  // consented partner, and tests change the emulator's users (MFA policy, revoked tokens).
  beforeEach(async () => {
    h = await startHarness(
      {
        ...scenarioWith((p) =>
          p.tenantId === partnerTenant
            ? {
                ...p,
                rateLimits: { partnerCenterRps: 500 },
                customers: { generate: { seed: 11, count: 250 } },
              }
            : p,
        ),
        // Shorter than MSAL's five-minute renewal margin: every job redeems the refresh token,
        // as jobs do an hour into a long run, so Entra's answers (50076, 50173) reach them.
        tokenLifetimes: { accessTokenSec: 299 },
      },
      { PARTNER_CENTER_REQUESTS_PER_SECOND: '400' },
    );
    const partner = (await h.api('post', '/partners', { name: 'Refresh Partner' })).body as {
      id: string;
    };
    partnerId = partner.id;
    const legacy = (
      await h.api('post', `/partners/${partnerId}/delegated-admins`, {
        username: 'sync@first.example',
        password: 'legacy-pw-test-only',
      })
    ).body as { id: string };
    const customers = h.emulator.state.directory.partner(partnerTenant)!.customers;
    tenants = customers.map((c) => c.tenantId);
    for (const c of customers) {
      await h.runtime.services.partners.addCompany(
        partnerId,
        { name: c.name, customerTenantId: c.tenantId, delegatedAdminId: legacy.id },
        'test',
      );
    }
  });
  afterEach(async function () {
    await h?.close(this.currentTest?.state === 'failed');
  });

  const status = async () =>
    (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      run: RunView | null;
      consent: { status: string } | null;
      nextAction: string | null;
    };

  /** Waits for the run's listing job and every customer job it fanned out. */
  async function runToEnd(runId: string): Promise<RunView> {
    await h.finished('refresh', jobIds.refreshPartner(runId));
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
    const run = await runToEnd((await status()).run!.id);
    expect(run).to.include({ status: 'completed', succeeded: 250 });
    return run;
  }

  it('the consent starts the initial refresh: 250 customers over 3 pages, 250 snapshot sets', async () => {
    await h.grant(partnerId, 'admin@first.example');
    const run = await runToEnd((await status()).run!.id);
    expect(run).to.include({
      status: 'completed',
      total: 250,
      succeeded: 250,
      failed: 0,
      pending: 0,
    });
    const perTenant = await h.runtime.store.db
      .select({
        tenant: licenseSnapshots.customerTenantId,
        n: sql<number>`count(*)`.mapWith(Number),
      })
      .from(licenseSnapshots)
      .where(eq(licenseSnapshots.runId, run.id))
      .groupBy(licenseSnapshots.customerTenantId);
    expect(perTenant.map((r) => r.tenant).sort()).to.deep.equal([...tenants].sort());
    // The numbers are Partner Center's: compare one customer with the emulator's directory.
    const customer = h.emulator.state.directory.customer(tenants[17]!)!;
    const detail = h.emulator.state.directory.detail(customer);
    const expected = subscribedSkus(detail).map((s) => ({
      skuId: s.sku.skuId,
      activeUnits: s.activeUnits,
      consumedUnits: s.consumedUnits,
      billedQuantity: detail.subscriptions
        .filter((x) => x.sku.skuId === s.sku.skuId && x.status === 'active')
        .reduce((n, x) => n + x.quantity, 0),
    }));
    const stored = await h.runtime.store.db
      .select({
        skuId: licenseSnapshots.skuId,
        activeUnits: licenseSnapshots.activeUnits,
        consumedUnits: licenseSnapshots.consumedUnits,
        billedQuantity: licenseSnapshots.billedQuantity,
      })
      .from(licenseSnapshots)
      .where(
        and(
          eq(licenseSnapshots.runId, run.id),
          eq(licenseSnapshots.customerTenantId, customer.tenantId),
        ),
      );
    expect(stored).to.have.deep.members(expected);
    const listed = (await h.api('get', `/partners/${partnerId}/companies`)).body as {
      companies: {
        customerTenantId: string;
        licenses: { skuId: string; billedQuantity: number }[];
        licensesRefreshedAt: string | null;
      }[];
    };
    expect(listed.companies).to.have.length(250);
    expect(listed.companies.every((c) => c.licenses.length > 0 && c.licensesRefreshedAt)).to.be
      .true;
    const shown = listed.companies.find((c) => c.customerTenantId === customer.tenantId)!;
    expect(shown.licenses.map((l) => [l.skuId, l.billedQuantity]).sort()).to.deep.equal(
      expected.map((e) => [e.skuId, e.billedQuantity]).sort(),
    );
    const pages = h.emulator.state.log.filter(
      (e) =>
        e.path === '/v1/customers' &&
        e.status === 200 &&
        !e.query.includes('size=1&') &&
        e.query !== 'size=1',
    );
    expect(pages).to.have.length(3);
  });

  it('sync now joins an open run, and a faulty customer fails alone and at once', async () => {
    await consented();
    const faulty = tenants[3]!;
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, [
      { path: `/v1/customers/${faulty}/subscribedskus`, status: 403 },
      { path: '/v1/customers/*/subscriptions', status: 503, count: 5 },
    ]);
    try {
      const first = await h.api('post', `/partners/${partnerId}/refresh`);
      const second = await h.api('post', `/partners/${partnerId}/refresh`);
      expect(first.status).to.equal(202);
      expect(second.body).to.deep.equal({
        runId: (first.body as { runId: string }).runId,
        deduplicated: true,
      });
      const run = await runToEnd((first.body as { runId: string }).runId);
      expect(run).to.include({ status: 'completed', total: 250, succeeded: 249, failed: 1 });
      const [failed] = await h.runtime.store.db
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
      await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    }
  });

  it('lists the failed customer and retries it from the API once the fault is gone', async () => {
    await consented();
    const faulty = tenants[3]!;
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, [
      { path: `/v1/customers/${faulty}/subscribedskus`, status: 403 },
    ]);
    try {
      const { runId } = (await h.api('post', `/partners/${partnerId}/refresh`)).body as {
        runId: string;
      };
      expect(await runToEnd(runId)).to.include({ status: 'completed', failed: 1 });
    } finally {
      await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    }
    const listed = (await h.api('get', `/partners/${partnerId}/refresh-failures`)).body as {
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
    const retry = await h.api('post', `/partners/${partnerId}/refresh-failures/retry`, {
      customerTenantIds: [faulty],
    });
    expect(retry.status).to.equal(202);
    expect(retry.body).to.deep.equal({ runId: listed.runId, retried: [faulty] });
    await h.finished('refresh', jobIds.retryCustomer(listed.runId, faulty, 1));
    const run = (await status()).run!;
    expect(run).to.include({ id: listed.runId, status: 'completed', succeeded: 250, failed: 0 });
    const after = (await h.api('get', `/partners/${partnerId}/refresh-failures`)).body as {
      failures: unknown[];
    };
    expect(after.failures).to.deep.equal([]);
  });

  it('a 429 storm and 5xx faults: every customer is still refreshed, once', async () => {
    await consented();
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, [
      { path: '/v1/customers/*/subscribedskus', status: 429, probability: 0.3, retryAfterSec: 1 },
      { path: '/v1/customers/*/subscriptions', status: 503, probability: 0.05 },
    ]);
    try {
      const since = h.emulator.state.log.at(-1)?.id ?? 0;
      const { runId } = (await h.api('post', `/partners/${partnerId}/refresh`)).body as {
        runId: string;
      };
      const run = await runToEnd(runId);
      expect(run).to.include({ status: 'completed', total: 250, succeeded: 250, failed: 0 });
      const faults = h.emulator.state.log.filter((e) => e.id > since && e.fault);
      expect(faults.filter((e) => e.status === 429).length).to.be.greaterThan(20);
      const [{ n }] = (await h.runtime.store.db
        .select({
          n: sql<number>`count(distinct ${licenseSnapshots.customerTenantId})`.mapWith(Number),
        })
        .from(licenseSnapshots)
        .where(eq(licenseSnapshots.runId, runId))) as [{ n: number }];
      expect(n).to.equal(250);
    } finally {
      await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    }
  });

  it('the daily schedule refreshes every partner with an active consent', async () => {
    await consented();
    const schedulers = await h.runtime.queues.get('maintenance').getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.pattern])).to.deep.include([
      'refreshAllPartners',
      '0 0 3 * * *',
    ]);
    const job = await h.runtime.queues.enqueue('refreshAllPartners', {}, { jobId: 'daily-test' });
    expect(await h.finished('maintenance', job.id!)).to.deep.equal({ partners: 1, joined: 0 });
    const run = (await status()).run!;
    expect(await runToEnd(run.id)).to.include({ status: 'completed', succeeded: 250 });
  });

  it('MFA expired under Conditional Access: the consent needs renewing and the run stops without a retry storm', async () => {
    await consented();
    await h.emulator.http.post(`${h.emulator.url}/_emulator/users/admin@first.example/policy`, {
      mfaMaxAgeSec: 60,
    });
    await h.emulator.http.post(`${h.emulator.url}/_emulator/clock`, { advanceSeconds: 61 });
    const since = h.emulator.state.log.at(-1)?.id ?? 0;
    const started = await h.api('post', `/partners/${partnerId}/refresh`);
    const runId = (started.body as { runId: string }).runId;
    await h.finished('refresh', jobIds.refreshPartner(runId));
    const s = await status();
    expect(s.consent!.status).to.equal('needs_reconsent');
    expect(s.run).to.include({ id: runId, status: 'stopped' });
    expect(s.nextAction).to.match(
      /multi-factor authentication.*Grant Partner Center consent again/,
    );
    const tokenCalls = h.emulator.state.log.filter((e) => e.id > since && e.surface === 'identity');
    expect(tokenCalls.length).to.be.at.most(3);
  });

  it('tokens revoked mid-run: the consent needs renewing within one job and the rest of the run stops', async () => {
    const granted = await h.grant(partnerId, 'admin@first.example');
    expect(granted.outcome.outcome).to.equal('completed');
    const runId = (await status()).run!.id;
    const fanOut = await h.finished('refresh', jobIds.refreshPartner(runId));
    expect(fanOut.refreshing).to.equal(250);
    await h.emulator.http.post(`${h.emulator.url}/_emulator/users/admin@first.example/revoke`);
    const since = h.emulator.state.log.at(-1)?.id ?? 0;

    const run = await h.runEnded(runId);
    expect(run.status).to.equal('stopped');
    expect(run.succeeded).to.be.below(250);
    const s = await status();
    expect(s.consent!.status).to.equal('needs_reconsent');
    expect(s.nextAction).to.match(/Grant Partner Center consent again/);
    // The remaining customers end without calling Microsoft: no retry storm.
    const after = h.emulator.state.log.filter((e) => e.id > since);
    expect(after.filter((e) => e.surface === 'identity').length).to.be.at.most(5);
    expect(after.filter((e) => e.surface === 'partnerCenter').length).to.be.at.most(20);
  });
});
