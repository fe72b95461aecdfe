import { expect } from 'chai';
import { jobIds } from '../../src/queue/catalog.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
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
              rateLimits: { partnerCenterRps: limit, graphRps: 50 },
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

  let pacedPartnerId: string;

  it('keeps a partner under its limit: a run of 60 customers gets no 429 and follows the pace', async () => {
    const partner = (await h.api('post', '/partners', { name: 'Paced' })).body as { id: string };
    for (const c of h.emulator.state.directory.partner(partnerTenant)!.customers) {
      await h.runtime.services.partners.addCompany(
        partner.id,
        { name: c.name, customerTenantId: c.tenantId },
        'test',
      );
    }
    pacedPartnerId = partner.id;
    await h.grant(partner.id, 'admin@first.example');
    const runId = (
      (await h.api('get', `/partners/${partner.id}/delegated-admin`)).body as {
        run: { id: string };
      }
    ).run.id;
    await h.finished('refresh', jobIds.refreshPartner(runId));
    const tenants = await h.runtime.services.runs.pendingTenants(runId);
    await Promise.all(
      tenants.map((t) => h.finished('refresh', jobIds.refreshCustomer(runId, t.tenant))),
    );
    const run = (await h.runtime.services.runs.get(runId))!;
    expect(run).to.include({ status: 'completed', succeeded: 60, failed: 0 });

    const calls = h.emulator.state.log.filter(
      (e) => e.surface === 'partnerCenter' && e.partnerTenantId === partnerTenant,
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

  it("feeds a big partner's customers at its pace, so a small partner's refresh goes ahead of its backlog", async () => {
    const big = (await h.api('post', `/partners/${pacedPartnerId}/refresh`)).body as {
      runId: string;
    };
    await h.finished('refresh', jobIds.refreshPartner(big.runId));
    // The backlog waits in the delayed set, each job at its slot; little is waiting now.
    const refresh = h.runtime.queues.get('refresh');
    const counts = await refresh.getJobCounts('delayed', 'waiting', 'active');
    expect(counts.delayed).to.be.greaterThan(30);
    expect(counts.waiting).to.be.below(10);

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
