import { expect } from 'chai';
import request from 'supertest';
import { jobIds } from '../../src/queue/catalog.js';
import { scenarioWith, testScenario } from '../support/emulator.js';
import { releaseTenants, startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
/** The emulator's limit for the partner, and the pace we set below it. */
const limit = 20;
const pace = 18;

describe('per-partner pacing', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async () => {
    h = await startHarness(
      scenarioWith((p) =>
        p.tenantId === partnerTenant
          ? {
              ...p,
              rateLimits: { partnerCenterRps: limit },
              customers: { generate: { seed: 5, count: 60 } },
            }
          : p,
      ),
      { PARTNER_CENTER_REQUESTS_PER_SECOND: String(pace) },
    );
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  beforeEach(() => releaseTenants(h));

  /**
   * A partner with the 60 customers, consented; resolves once its initial run is listed.
   * `ownPace`: the partner's own Partner Center pace, set before the consent.
   */
  async function pacedPartner(ownPace?: number): Promise<{ partnerId: string; runId: string }> {
    const partner = (await h.api('post', '/partners', { name: 'Paced' })).body as { id: string };
    if (ownPace !== undefined) {
      const set = await h.api('patch', `/partners/${partner.id}`, {
        partnerCenterRequestsPerSecond: ownPace,
      });
      expect(set.status, set.text).to.equal(200);
    }
    for (const c of h.emulator.state.directory.partner(partnerTenant)!.customers) {
      await h.runtime.services.partners.addCompany(
        partner.id,
        { name: c.name, customerTenantId: c.tenantId },
        'test',
      );
    }
    await h.grant(partner.id, 'admin@first.example');
    const runId = (
      (await h.api('get', `/partners/${partner.id}/delegated-admin`)).body as {
        run: { id: string };
      }
    ).run.id;
    await h.finished('partners', jobIds.refreshPartner(runId));
    return { partnerId: partner.id, runId };
  }

  it('keeps a partner under its limit: a run of 60 customers gets no 429 and follows the pace', async () => {
    const since = h.emulator.state.log.at(-1)?.id ?? 0;
    const { runId } = await pacedPartner();
    const tenants = await h.runtime.services.runs.pendingTenants(runId);
    await Promise.all(
      tenants.map((t) => h.finished('refresh', jobIds.refreshCustomer(runId, t.tenant))),
    );
    const run = (await h.runtime.services.runs.get(runId))!;
    expect(run).to.include({ status: 'completed', succeeded: 60, failed: 0 });

    const calls = h.emulator.state.log.filter(
      (e) => e.id > since && e.surface === 'partnerCenter' && e.partnerTenantId === partnerTenant,
    );
    expect(calls.filter((e) => e.status === 429)).to.have.length(0);
    // Two listings per customer, and on this first run one provisioning status per
    // subscription that may be billed (a customer with more new subscriptions than its slot
    // held lists again at its later slot): all at 18/s after a burst of one second's worth.
    const listings = calls.filter((e) =>
      /^\/v1\/customers\/[^/]+\/(subscribedskus|subscriptions)$/.test(e.path),
    );
    const provisioning = calls.filter((e) => e.path.endsWith('/provisioningstatus'));
    const directory = h.emulator.state.directory;
    const billable = directory
      .partner(partnerTenant)!
      .customers.flatMap((c) => directory.detail(c).subscriptions)
      .filter((s) => s.status !== 'deleted');
    expect(provisioning).to.have.length(billable.length);
    expect(listings.length).to.be.within(120, 240);
    const customerCalls = [...listings, ...provisioning].sort((a, b) => a.id - b.id);
    const spanSec =
      (Date.parse(customerCalls.at(-1)!.time) - Date.parse(customerCalls[0]!.time)) / 1000;
    expect(spanSec).to.be.at.least((customerCalls.length - 2 * pace) / pace);
  });

  it('paces a partner at its own Partner Center pace when it has one, and refuses a pace that is none', async () => {
    const own = 12;
    const since = h.emulator.state.log.at(-1)?.id ?? 0;
    const { partnerId, runId } = await pacedPartner(own);
    expect(await h.runEnded(runId)).to.include({ status: 'completed', succeeded: 60 });
    const customerCalls = h.emulator.state.log.filter(
      (e) =>
        e.id > since &&
        e.surface === 'partnerCenter' &&
        e.partnerTenantId === partnerTenant &&
        e.path.startsWith('/v1/customers/'),
    );
    expect(customerCalls.filter((e) => e.status === 429)).to.have.length(0);
    // At the service's 18/s these calls would take two thirds of this.
    const spanSec =
      (Date.parse(customerCalls.at(-1)!.time) - Date.parse(customerCalls[0]!.time)) / 1000;
    expect(spanSec).to.be.at.least((customerCalls.length - 2 * own) / own);

    const shown = await h.api('get', `/partners/${partnerId}`);
    expect(shown.body).to.include({ partnerCenterRequestsPerSecond: own });
    for (const bad of [0, -1, 'fast', 5000]) {
      const refused = await h.api('patch', `/partners/${partnerId}`, {
        partnerCenterRequestsPerSecond: bad,
      });
      expect(refused.status, String(bad)).to.equal(400);
    }
    expect((await h.api('get', `/partners/${partnerId}`)).body).to.include({
      partnerCenterRequestsPerSecond: own,
    });
    const reset = await h.api('patch', `/partners/${partnerId}`, {
      partnerCenterRequestsPerSecond: null,
    });
    expect(reset.body).to.include({ partnerCenterRequestsPerSecond: null });
  });

  it("feeds a big partner's customers at its pace, so a small partner's refresh goes ahead of its backlog", async () => {
    const paced = await pacedPartner();
    await h.runEnded(paced.runId);
    const big = (await h.api('post', `/partners/${paced.partnerId}/refresh`)).body as {
      runId: string;
    };
    await h.finished('partners', jobIds.refreshPartner(big.runId));
    // The backlog waits in the delayed set, each job at its slot; little is waiting now.
    const refresh = h.runtime.queues.get('refresh');
    const counts = await refresh.getJobCounts('delayed', 'waiting', 'prioritized', 'active');
    expect(counts.delayed).to.be.greaterThan(30);
    expect(counts.waiting! + counts.prioritized!).to.be.below(10);

    const small = (await h.api('post', '/partners', { name: 'Small' })).body as { id: string };
    await h.runtime.services.partners.addCompany(
      small.id,
      { name: 'Explicit Customer', customerTenantId: 'cccccccc-0000-4000-8000-000000000003' },
      'test',
    );
    await h.grant(small.id, 'admin@second.example');
    const smallRun = (await h.runtime.services.runs.latest(small.id))!;
    expect(await h.runEnded(smallRun.id)).to.include({ status: 'completed', succeeded: 1 });
    // The big partner is still at it: the small one did not queue behind it.
    expect((await h.runtime.services.runs.get(big.runId))!.status).to.equal('running');
    expect(await h.runEnded(big.runId)).to.include({ status: 'completed', succeeded: 60 });
  });
});

describe('Graph pacing by resource units', function () {
  this.timeout(120_000);
  let h: Harness;
  const customerTenant = 'cccccccc-0000-4000-8000-000000000003';
  /** The app+tenant budget per 10 s, scaled down from Microsoft's 3,500 for small tenants. */
  const tenantBudget = 40;
  /** Group counts by id: one GET groups/{id}/transitiveMembers/…/$count each, documented at 5 units. */
  const groupCounts = 14;
  const transitiveMembersCost = 5;

  before(async () => {
    h = await startHarness(
      { ...testScenario(), graphLimits: { smallTenantResourceUnits: tenantBudget } },
      {
        GRAPH_REQUESTS_PER_SECOND: '200',
        GRAPH_TENANT_RESOURCE_UNITS_PER_10_SECONDS: String(tenantBudget),
      },
    );
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  it('keeps custom-license counts under the tenant budget by each request’s cost, without a 429', async () => {
    const partner = (await h.api('post', '/partners', { name: 'Counting' })).body as { id: string };
    await h.api('post', `/partners/${partner.id}/companies`, {
      name: 'Explicit Customer',
      customerTenantId: customerTenant,
    });
    await h.grant(partner.id, 'admin@second.example');
    await h.runEnded((await h.runtime.services.runs.latest(partner.id))!.id);

    const started = await h.api('post', `/partners/${partner.id}/custom-license-token/consents`, {
      returnTo: '/company/delegated-admin',
      loginHint: 'admin@second.example',
    });
    const { attemptId, authorizeUrl } = started.body as { attemptId: string; authorizeUrl: string };
    const location = new URL(String((await h.emulator.http.get(authorizeUrl)).headers.location));
    expect((await request(h.app).get(location.pathname + location.search)).status).to.equal(303);
    expect(await h.finished('consent', jobIds.exchangeConsentCode(attemptId))).to.include({
      outcome: 'completed',
    });

    const customer = h.emulator.state.directory.customer(customerTenant)!;
    const groups = h.emulator.state.directory.detail(customer).groups;
    for (let i = 0; i < groupCounts; i++) {
      const res = await h.api('post', `/partners/${partner.id}/custom-licenses`, {
        name: `Group count ${i}`,
        kind: 'group_members',
        group: groups[i % groups.length]!.id,
      });
      expect(res.status, res.text).to.equal(201);
    }
    // Counted one request at a time, 70 units go over 40 + 4 a second unless each request
    // waits for its 5 units: pacing by request count alone draws 429s here.
    expect(groupCounts * transitiveMembersCost).to.be.above(tenantBudget + groupCounts);

    const since = h.emulator.state.log.at(-1)?.id ?? 0;
    const { runId } = (await h.api('post', `/partners/${partner.id}/refresh`)).body as {
      runId: string;
    };
    expect(await h.runEnded(runId)).to.include({ status: 'completed', succeeded: 1 });
    const counts = (
      (await h.api('get', `/partners/${partner.id}/companies`)).body as {
        companies: { customLicenses: { state: string }[] }[];
      }
    ).companies[0]!.customLicenses;
    expect(counts.map((c) => c.state)).to.deep.equal(Array(groupCounts).fill('counted'));

    const graph = h.emulator.state.log.filter((e) => e.id > since && e.surface === 'graph');
    expect(graph.filter((e) => e.status === 429)).to.deep.equal([]);
    const transitive = graph.filter((e) => e.path.includes('/transitiveMembers/'));
    expect(transitive).to.have.length(groupCounts);
    // 5 units each at 4 units a second: one request every 1.25 s (about 16 s from the first
    // to the last), less the pacer's burst of half a second and a little latency.
    const spanSec = (Date.parse(transitive.at(-1)!.time) - Date.parse(transitive[0]!.time)) / 1000;
    expect(spanSec).to.be.at.least(
      ((groupCounts - 1) * transitiveMembersCost) / (tenantBudget / 10) - 1,
    );
  });
});

describe('turns between partners when more work is ready than the workers take', function () {
  this.timeout(120_000);
  let h: Harness;
  const bigCustomers = 80;

  before(async () => {
    // One worker slot, and a pace far above what one slot gets through: the big partner's
    // whole fan-out is ready at once, as when many partners' slots fall due together.
    h = await startHarness(
      scenarioWith((p) =>
        p.tenantId === partnerTenant
          ? {
              ...p,
              rateLimits: { partnerCenterRps: 2000 },
              customers: { generate: { seed: 7, count: bigCustomers } },
            }
          : p,
      ),
      { PARTNER_CENTER_REQUESTS_PER_SECOND: '1000', REFRESH_CONCURRENCY: '1' },
    );
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  it("runs a small partner's refresh before a big partner's ready backlog", async () => {
    // Both fan-outs are queued before the one worker slot takes any: the big partner's whole
    // backlog is ready when the small partner's job arrives.
    const refresh = h.runtime.queues.get('refresh');
    await refresh.pause();
    const big = (await h.api('post', '/partners', { name: 'Big' })).body as { id: string };
    for (const c of h.emulator.state.directory.partner(partnerTenant)!.customers) {
      await h.runtime.services.partners.addCompany(
        big.id,
        { name: c.name, customerTenantId: c.tenantId },
        'test',
      );
    }
    await h.grant(big.id, 'admin@first.example');
    const bigRun = (await h.runtime.services.runs.latest(big.id))!;
    await h.finished('partners', jobIds.refreshPartner(bigRun.id));
    // The backlog is ready, not waiting for its slots: only taking turns can put anyone first.
    const counts = await refresh.getJobCounts('waiting', 'prioritized');
    expect(counts.waiting! + counts.prioritized!).to.be.above(bigCustomers / 2);

    const small = (await h.api('post', '/partners', { name: 'Small' })).body as { id: string };
    await h.runtime.services.partners.addCompany(
      small.id,
      { name: 'Explicit Customer', customerTenantId: 'cccccccc-0000-4000-8000-000000000003' },
      'test',
    );
    await h.grant(small.id, 'admin@second.example');
    const smallRun = (await h.runtime.services.runs.latest(small.id))!;
    await h.finished('partners', jobIds.refreshPartner(smallRun.id));
    await refresh.resume();
    expect(await h.runEnded(smallRun.id)).to.include({ status: 'completed', succeeded: 1 });
    // Most of the big partner's customers still wait: the small one went ahead of them.
    expect((await h.runtime.services.runs.get(bigRun.id))!.status).to.equal('running');
    const pending = await h.runtime.services.runs.pendingTenants(bigRun.id);
    expect(pending.length).to.be.above(bigCustomers / 2);
    expect(await h.runEnded(bigRun.id)).to.include({
      status: 'completed',
      succeeded: bigCustomers,
    });
  });
});
