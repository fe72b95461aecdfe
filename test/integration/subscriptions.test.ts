import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import type { Subscription } from '../../emulator/tenants.js';
import { skuByPartNumber } from '../../emulator/skus.js';
import { customerSubscriptions, refreshResults } from '../../src/store/schema.js';
import { licensesReadIn } from '../support/license-state.js';
import type { Harness } from '../support/harness.js';
import {
  skuIds,
  termsBilled,
  termsCustomer,
  startWithSecondPartnerCustomer,
} from '../support/subscriptions.js';

const explicitCustomer = 'cccccccc-0000-4000-8000-000000000003';
const terms = termsCustomer.tenantId;

interface LoggedRequest {
  id: number;
  path: string;
  status: number;
}

describe('subscriptions joined to SKUs through their provisioning status, cached', function () {
  this.timeout(120_000);
  let h: Harness;
  let partnerId: string;

  // Each test has its own service and emulator: tests change the customer's subscriptions and
  // count the calls its first refresh makes.
  beforeEach(async () => {
    let legacyId: string;
    ({ h, partnerId, legacyId } = await startWithSecondPartnerCustomer(
      termsCustomer,
      'Terms Partner',
      { PARTNER_CENTER_REQUESTS_PER_SECOND: '20' },
    ));
    for (const [tenant, name] of [
      [explicitCustomer, 'Explicit Customer'],
      [terms, 'Terms Customer'],
    ] as const) {
      await h.runtime.services.partners.addCompany(
        partnerId,
        { name, customerTenantId: tenant, delegatedAdminId: legacyId },
        'test',
      );
    }
  });
  afterEach(async function () {
    await h?.close(this.currentTest?.state === 'failed');
  });

  /** Provisioning-status calls since `since`, from the emulator's request log. */
  async function provisioningCalls(since: number): Promise<LoggedRequest[]> {
    const response = await h.emulator.http.get(`${h.emulator.url}/_emulator/requests`, {
      params: { path: '/v1/customers/', since },
    });
    const { requests } = JSON.parse(response.data as string) as { requests: LoggedRequest[] };
    return requests.filter((r) => r.path.endsWith('/provisioningstatus'));
  }

  const lastLogId = () => h.emulator.state.log.at(-1)?.id ?? 0;

  async function refreshNow(): Promise<string> {
    const started = await h.api('post', `/partners/${partnerId}/refresh`);
    expect(started.status).to.equal(202);
    const { runId } = started.body as { runId: string };
    const run = await h.runEnded(runId);
    expect(run).to.include({ status: 'completed', succeeded: 2, failed: 0 });
    return runId;
  }

  /** Consents, and waits for the initial refresh that resolves every SKU. */
  async function consented(): Promise<void> {
    await h.grant(partnerId, 'admin@second.example');
    const { run } = (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      run: { id: string };
    };
    expect(await h.runEnded(run.id)).to.include({ status: 'completed', succeeded: 2 });
  }

  async function billed(runId: string, tenant: string): Promise<Record<string, number>> {
    const rows = await licensesReadIn(h.runtime.store.db, runId, tenant);
    return Object.fromEntries(rows.map((r) => [r.skuPartNumber, r.billedQuantity]));
  }

  const storedSubscriptions = () =>
    h.runtime.store.db
      .select()
      .from(customerSubscriptions)
      .where(eq(customerSubscriptions.customerTenantId, terms));

  it('bills active seats of every term and commerce kind, and none of the other statuses', async () => {
    const since = lastLogId();
    await h.grant(partnerId, 'admin@second.example');
    const runId = (
      (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
        run: { id: string };
      }
    ).run.id;
    const run = await h.runEnded(runId);
    expect(run).to.include({ status: 'completed', succeeded: 2, failed: 0 });
    expect(await billed(runId, terms)).to.deep.equal(termsBilled);
    expect(await billed(runId, explicitCustomer)).to.deep.equal({ SPB: 15, EXCHANGESTANDARD: 3 });
    const spb = (await licensesReadIn(h.runtime.store.db, runId, terms)).find(
      (l) => l.skuId === skuIds.SPB,
    );
    expect(spb).to.include({ activeUnits: 20, suspendedUnits: 3, warningUnits: 3 });
    // One call per subscription that may be billed: the deleted one is not asked for.
    const calls = await provisioningCalls(since);
    expect(calls.filter((c) => c.path.includes(terms))).to.have.length(10);
    expect(calls.filter((c) => c.path.includes(explicitCustomer))).to.have.length(3);
    expect(new Set(calls.map((c) => c.path)).size).to.equal(calls.length);

    const stored = await storedSubscriptions();
    expect(stored).to.have.length(11);
    const deleted = stored.find((s) => s.status === 'deleted')!;
    expect(deleted.skuId).to.equal(null);
    expect(stored.filter((s) => s.skuId === skuIds.SPB)).to.have.length(7);
    const triennial = stored.find((s) => s.termDuration === 'P3Y')!;
    expect(triennial).to.include({
      billingCycle: 'triennial',
      productType: 'OnlineServicesNCE',
      autoRenewEnabled: true,
      isTrial: false,
      quantity: 4,
      status: 'active',
    });
    expect(triennial.offerId).to.match(/^CFQ7TTC0[0-9A-Z]{4}:0001:CFQ7TTC0[0-9A-Z]{4}$/);
    expect(triennial.commitmentEndDate).to.be.instanceOf(Date);
    expect(triennial.cancellationAllowedUntilDate).to.be.instanceOf(Date);
    const legacy = stored.filter((s) => s.skuId === skuIds.EXCHANGESTANDARD);
    expect(
      legacy.map((s) => [s.termDuration, s.productType, s.cancellationAllowedUntilDate]),
    ).to.have.deep.members([
      ['P1M', null, null],
      ['P1Y', null, null],
    ]);
    const basic = stored.find((s) => s.skuId === skuIds.O365_BUSINESS_ESSENTIALS)!;
    expect(basic).to.include({
      termDuration: 'P1Y',
      billingCycle: 'monthly',
      autoRenewEnabled: false,
    });

    // The companies API shows each SKU's subscriptions with their terms.
    const listed = (await h.api('get', `/partners/${partnerId}/companies`)).body as {
      companies: {
        customerTenantId: string;
        licenses: {
          skuPartNumber: string;
          billedQuantity: number;
          subscriptions: { termDuration: string; status: string; quantity: number }[];
        }[];
      }[];
    };
    const shown = listed.companies.find((c) => c.customerTenantId === terms)!;
    const spbShown = shown.licenses.find((l) => l.skuPartNumber === 'SPB')!;
    expect(spbShown.billedQuantity).to.equal(20);
    expect(
      spbShown.subscriptions
        .filter((s) => s.status === 'active')
        .map((s) => [s.termDuration, s.quantity]),
    ).to.have.deep.members([
      ['P1M', 10],
      ['P1Y', 6],
      ['P3Y', 4],
    ]);
  });

  it('a second refresh asks Partner Center for no SKU it already knows', async () => {
    await consented();
    const since = lastLogId();
    const runId = await refreshNow();
    expect(await provisioningCalls(since)).to.deep.equal([]);
    expect(await billed(runId, terms)).to.deep.equal(termsBilled);
  });

  it('a subscription added between runs costs exactly one more call; a removed one is forgotten', async () => {
    await consented();
    const customer = h.emulator.state.directory.customer(terms)!;
    const detail = h.emulator.state.directory.detail(customer);
    const added: Subscription = {
      id: 'eeeeeeee-0000-4000-8000-000000000005',
      sku: skuByPartNumber('SPB'),
      quantity: 8,
      commerce: 'nce',
      termDuration: 'P1Y',
      billingCycle: 'annual',
      status: 'active',
      autoRenewEnabled: true,
      isTrial: false,
      creationDate: new Date().toISOString(),
    };
    const removed = detail.subscriptions.findIndex((s) => s.status === 'deleted');
    detail.subscriptions.splice(removed, 1);
    detail.subscriptions.push(added);
    const before = new Map((await storedSubscriptions()).map((s) => [s.subscriptionId, s]));
    const since = lastLogId();
    const runId = await refreshNow();
    const calls = await provisioningCalls(since);
    expect(calls.map((c) => c.path)).to.deep.equal([
      `/v1/customers/${terms}/subscriptions/${added.id}/provisioningstatus`,
    ]);
    expect(await billed(runId, terms)).to.deep.equal({ ...termsBilled, SPB: termsBilled.SPB + 8 });
    const stored = await storedSubscriptions();
    expect(stored).to.have.length(11);
    expect(stored.find((s) => s.subscriptionId === added.id)).to.include({
      skuId: skuIds.SPB,
      quantity: 8,
      runId,
    });
    expect(stored.some((s) => s.status === 'deleted')).to.equal(false);
    // The subscriptions listed as they were are not written again: each keeps its last change.
    for (const s of stored.filter((s) => s.subscriptionId !== added.id)) {
      expect(s.runId, s.subscriptionId).to.equal(before.get(s.subscriptionId)!.runId);
      expect(s.updatedAt, s.subscriptionId).to.deep.equal(before.get(s.subscriptionId)!.updatedAt);
    }
  });

  it('a SKU Partner Center does not give fails the customer for a retry; a 429 is waited out', async () => {
    await consented();
    const customer = h.emulator.state.directory.customer(terms)!;
    const detail = h.emulator.state.directory.detail(customer);
    const unknown: Subscription = {
      ...detail.subscriptions[0]!,
      id: 'eeeeeeee-0000-4000-8000-000000000006',
      quantity: 2,
    };
    const throttled: Subscription = { ...unknown, id: 'eeeeeeee-0000-4000-8000-000000000007' };
    detail.subscriptions.push(unknown, throttled);
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, [
      {
        path: `/v1/customers/${terms}/subscriptions/${unknown.id}/provisioningstatus`,
        status: 404,
        count: 1,
      },
      {
        path: `/v1/customers/${terms}/subscriptions/${throttled.id}/provisioningstatus`,
        status: 429,
        retryAfterSec: 1,
        count: 1,
      },
    ]);
    try {
      const since = lastLogId();
      const runId = await refreshNow();
      const calls = await provisioningCalls(since);
      // Each asked again only after its failure: what an attempt resolved is kept.
      expect(calls.map((c) => [c.path.split('/')[5], c.status])).to.have.deep.members([
        [unknown.id, 404],
        [unknown.id, 200],
        [throttled.id, 429],
        [throttled.id, 200],
      ]);
      // Recorded once, with every seat: 20 + 2 + 2 of SPB.
      expect((await billed(runId, terms)).SPB).to.equal(termsBilled.SPB + 4);
      const [result] = await h.runtime.store.db
        .select()
        .from(refreshResults)
        .where(and(eq(refreshResults.runId, runId), eq(refreshResults.customerTenantId, terms)));
      expect(result!.status).to.equal('succeeded');
      const seen = h.logLines.filter((l) => l.includes('subscription_sku_unknown'));
      expect(seen.length).to.be.greaterThan(0);
    } finally {
      await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    }
  });
});
