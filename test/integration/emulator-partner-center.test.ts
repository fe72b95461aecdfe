import { randomUUID } from 'node:crypto';
import type { AxiosResponse } from 'axios';
import { expect } from 'chai';
import {
  consentAndRedeem,
  startTestEmulator,
  json,
  scenarioWith,
  throttledBurst,
  type TestEmulator,
} from '../support/emulator.js';
import { skuIds, termsCustomer } from '../support/subscriptions.js';

// Partner Center REST as a client sees it, over real HTTPS to the emulator
// (docs: /work/shared/reference/microsoft-protocols.md §4).

const firstPartner = 'aaaaaaaa-0000-4000-8000-000000000001';
const secondPartner = 'bbbbbbbb-0000-4000-8000-000000000002';
const explicitCustomer = 'cccccccc-0000-4000-8000-000000000003';
/** Microsoft's published SKU ids (product names and service plan identifiers for licensing). */
const spbSkuId = 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46';
const exchangeSkuId = '4b9405b0-7788-4568-add1-99614e613b69';

interface Link {
  uri: string;
  method: string;
  headers: { key: string; value: string }[];
}

interface Collection<T> {
  totalCount: number;
  items: T[];
  links: { self: Link; next?: Link };
  continuationToken?: string;
  attributes: { objectType: string };
}

interface CustomerResource {
  id: string;
  companyProfile: { tenantId: string; domain: string; companyName: string };
  relationshipToPartner: string;
  attributes: { objectType: string };
}

interface SubscriptionResource {
  id: string;
  offerId: string;
  offerName: string;
  quantity: number;
  status: string;
  termDuration: string;
  billingCycle: string;
  productType?: { id: string; displayName: string };
  creationDate: string;
  commitmentEndDate: string;
  cancellationAllowedUntilDate?: string;
  autoRenewEnabled: boolean;
  isTrial: boolean;
  links: Record<string, Link>;
  attributes: { objectType: string };
}

interface ProvisioningStatusResource {
  skuId: string;
  status: string;
  quantity: number;
  endDate: string;
  attributes: { objectType: string };
}

interface SubscribedSkuResource {
  availableUnits: number;
  activeUnits: number;
  consumedUnits: number;
  suspendedUnits: number;
  totalUnits: number;
  warningUnits: number;
  productSku: { id: string; skuPartNumber: string };
  attributes: { objectType: string };
}

interface PartnerCenterError {
  code: number | string;
  description: string;
  data: unknown[];
  source: string;
}

interface ThrottledBody {
  statusCode: number;
  message: string;
}

interface Counters {
  partners: Record<
    string,
    Record<'identity' | 'partnerCenter' | 'graph', { requests: number; throttled: number }>
  >;
}

function get(
  emulator: TestEmulator,
  path: string,
  token?: string,
  headers: Record<string, string> = {},
): Promise<AxiosResponse> {
  return emulator.http.get(`${emulator.url}${path}`, {
    headers: {
      Accept: 'application/json',
      'MS-Contract-Version': 'v1',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
  });
}

/** The documented fault body: {code, description, data, source}, with the expected code. */
function expectFault(response: AxiosResponse, status: number, code: number): PartnerCenterError {
  expect(response.status, String(response.data)).to.equal(status);
  expect(String(response.headers['content-type'])).to.match(/^application\/json/);
  const body = json<PartnerCenterError>(response);
  expect(body).to.have.all.keys('code', 'description', 'data', 'source');
  expect(body.code).to.equal(code);
  expect(body.description).to.be.a('string').that.is.not.empty;
  expect(body.description.length).to.be.at.most(1024);
  expect(body.data).to.deep.equal([]);
  expect(body.source).to.be.a('string').that.is.not.empty;
  return body;
}

describe('Partner Center emulator (HTTPS)', function () {
  let emulator: TestEmulator;
  const tokens: Record<'first' | 'second' | 'noMfa' | 'staff', string> = {
    first: '',
    second: '',
    noMfa: '',
    staff: '',
  };

  before(async function () {
    emulator = await startTestEmulator(
      scenarioWith((p) =>
        p.tenantId === firstPartner
          ? { ...p, customers: { generate: { seed: 11, count: 2500 } } }
          : {
              ...p,
              customers: [...(p.customers as unknown[]), termsCustomer] as typeof p.customers,
            },
      ),
    );
    const [first, second, noMfa, staff] = await Promise.all(
      [
        'admin@first.example',
        'admin@second.example',
        'nomfa@first.example',
        'staff@first.example',
      ].map((upn) => consentAndRedeem(emulator, upn)),
    );
    tokens.first = first!.access_token;
    tokens.second = second!.access_token;
    tokens.noMfa = noMfa!.access_token;
    tokens.staff = staff!.access_token;
  });

  after(async function () {
    await emulator?.stop();
  });

  describe('customers paging', function () {
    it('serves 2,500 customers in pages of 500 linked by MS-ContinuationToken, each exactly once', async function () {
      const seen: string[] = [];
      const pageSizes: number[] = [];
      let response = await get(emulator, '/v1/customers?size=500', tokens.first);
      for (;;) {
        expect(response.status, String(response.data)).to.equal(200);
        const page = json<Collection<CustomerResource>>(response);
        expect(page.attributes.objectType).to.equal('Collection');
        expect(page.totalCount).to.equal(page.items.length);
        expect(page.items.length).to.be.at.most(500);
        pageSizes.push(page.items.length);
        for (const customer of page.items) {
          expect(customer.attributes.objectType).to.equal('Customer');
          expect(customer.companyProfile.tenantId).to.equal(customer.id);
          seen.push(customer.id);
        }
        const next = page.links.next;
        if (!next) {
          expect(page.continuationToken).to.be.undefined;
          break;
        }
        expect(next.method).to.equal('GET');
        expect(next.uri).to.include('seekOperation=Next');
        const header = next.headers.find((h) => h.key === 'MS-ContinuationToken');
        expect(header, 'links.next carries MS-ContinuationToken').to.not.be.undefined;
        expect(header!.value).to.be.a('string').that.is.not.empty;
        expect(page.continuationToken).to.equal(header!.value);
        expect(pageSizes.length, 'pages').to.be.below(10);
        // links.next.uri is relative to /v1, as Partner Center's links are.
        response = await get(emulator, `/v1${next.uri}`, tokens.first, {
          'MS-ContinuationToken': header!.value,
        });
      }
      expect(pageSizes).to.deep.equal([500, 500, 500, 500, 500]);
      expect(new Set(seen).size).to.equal(seen.length);
      const expected = emulator.state.directory
        .partner(firstPartner)!
        .customers.map((c) => c.tenantId);
      expect([...seen].sort()).to.deep.equal([...expected].sort());
      expect(seen).to.not.include(explicitCustomer);
    });

    it('refuses seekOperation=Next without a token, or with another partner’s token', async function () {
      const first = json<Collection<CustomerResource>>(
        await get(emulator, '/v1/customers?size=500', tokens.first),
      );
      expectFault(await get(emulator, '/v1/customers?seekOperation=Next', tokens.first), 400, 400);
      expectFault(
        await get(emulator, '/v1/customers?seekOperation=Next', tokens.second, {
          'MS-ContinuationToken': first.continuationToken!,
        }),
        400,
        400,
      );
    });

    it('answers the second partner with its own two customers and no next link', async function () {
      const response = await get(emulator, '/v1/customers?size=500', tokens.second);
      const page = json<Collection<CustomerResource>>(response);
      expect(page.totalCount).to.equal(2);
      expect(page.items.map((c) => c.id)).to.deep.equal([explicitCustomer, termsCustomer.tenantId]);
      expect(page.links.next).to.be.undefined;
    });
  });

  describe('the explicit customer', function () {
    it('returns the customer by id', async function () {
      const response = await get(emulator, `/v1/customers/${explicitCustomer}`, tokens.second);
      expect(response.status).to.equal(200);
      const customer = json<CustomerResource>(response);
      expect(customer.id).to.equal(explicitCustomer);
      expect(customer.companyProfile).to.include({
        tenantId: explicitCustomer,
        domain: 'explicit.example',
        companyName: 'Explicit Customer',
      });
      expect(customer.relationshipToPartner).to.equal('reseller');
      expect(customer.attributes.objectType).to.equal('Customer');
    });

    it('lists its subscriptions: SPB on P1M and P1Y, new-commerce offer ids, not SKU ids', async function () {
      const response = await get(
        emulator,
        `/v1/customers/${explicitCustomer}/subscriptions`,
        tokens.second,
      );
      expect(response.status).to.equal(200);
      const page = json<Collection<SubscriptionResource>>(response);
      expect(page.totalCount).to.equal(3);
      expect(page.items).to.have.length(3);
      expect(new Set(page.items.map((s) => s.id)).size).to.equal(3);
      const summary = page.items
        .map((s) => ({
          offerName: s.offerName,
          termDuration: s.termDuration,
          quantity: s.quantity,
          status: s.status,
          billingCycle: s.billingCycle,
        }))
        .sort((a, b) =>
          `${a.offerName}${a.termDuration}`.localeCompare(`${b.offerName}${b.termDuration}`),
        );
      expect(summary).to.deep.equal([
        {
          offerName: 'Exchange Online (Plan 1)',
          termDuration: 'P1M',
          quantity: 3,
          status: 'active',
          billingCycle: 'monthly',
        },
        {
          offerName: 'Microsoft 365 Business Premium',
          termDuration: 'P1M',
          quantity: 10,
          status: 'active',
          billingCycle: 'monthly',
        },
        {
          offerName: 'Microsoft 365 Business Premium',
          termDuration: 'P1Y',
          quantity: 5,
          status: 'active',
          billingCycle: 'annual',
        },
      ]);
      for (const s of page.items) {
        expect(s.attributes.objectType).to.equal('Subscription');
        // productId:skuId:availabilityId, as new-commerce offers are.
        expect(s.offerId).to.match(/^CFQ7TTC0[0-9A-Z]{4}:0001:CFQ7TTC0[0-9A-Z]{4}$/);
        expect(s.productType).to.deep.equal({
          id: 'OnlineServicesNCE',
          displayName: 'OnlineServicesNCE',
        });
        expect(s.offerId.toLowerCase()).not.to.contain(spbSkuId);
        expect(s.offerId.toLowerCase()).not.to.contain(exchangeSkuId);
      }
      // One product for both terms of SPB, a different availability per term.
      const spb = page.items.filter((s) => s.offerName === 'Microsoft 365 Business Premium');
      const [monthly, yearly] = spb.map((s) => s.offerId.split(':'));
      expect(monthly![0]).to.equal(yearly![0]);
      expect(monthly![2]).not.to.equal(yearly![2]);
    });

    it('gives each subscription its SKU through its provisioning status', async function () {
      const subscriptions = json<Collection<SubscriptionResource>>(
        await get(emulator, `/v1/customers/${explicitCustomer}/subscriptions`, tokens.second),
      ).items;
      for (const s of subscriptions) {
        const response = await get(
          emulator,
          `/v1/customers/${explicitCustomer}/subscriptions/${s.id.toUpperCase()}/provisioningstatus`,
          tokens.second,
        );
        expect(response.status, String(response.data)).to.equal(200);
        const status = json<ProvisioningStatusResource>(response);
        expect(status).to.have.all.keys('skuId', 'status', 'quantity', 'endDate', 'attributes');
        expect(status.skuId).to.equal(status.skuId.toUpperCase());
        expect(status.skuId.toLowerCase()).to.equal(
          s.offerName === 'Microsoft 365 Business Premium' ? spbSkuId : exchangeSkuId,
        );
        expect(status).to.include({ status: 'success', quantity: s.quantity });
        expect(status.attributes).to.deep.equal({ objectType: 'SubscriptionProvisioningStatus' });
        const single = await get(
          emulator,
          `/v1/customers/${explicitCustomer}/subscriptions/${s.id}`,
          tokens.second,
        );
        expect(single.status).to.equal(200);
        expect(json<SubscriptionResource>(single)).to.deep.equal(s);
      }
    });

    it('answers 404 (code 1000) for a subscription it does not know, 403 for another partner', async function () {
      const unknown = randomUUID();
      for (const path of [
        `/v1/customers/${explicitCustomer}/subscriptions/${unknown}/provisioningstatus`,
        `/v1/customers/${explicitCustomer}/subscriptions/${unknown}`,
      ]) {
        expectFault(await get(emulator, path, tokens.second), 404, 1000);
      }
      const [one] = json<Collection<SubscriptionResource>>(
        await get(emulator, `/v1/customers/${explicitCustomer}/subscriptions`, tokens.second),
      ).items;
      expectFault(
        await get(
          emulator,
          `/v1/customers/${explicitCustomer}/subscriptions/${one!.id}/provisioningstatus`,
          tokens.first,
        ),
        403,
        20002,
      );
    });

    it('new-commerce terms (P1M, P1Y, P3Y), legacy GUID offers and every documented status', async function () {
      const items = json<Collection<SubscriptionResource>>(
        await get(emulator, `/v1/customers/${termsCustomer.tenantId}/subscriptions`, tokens.second),
      ).items;
      expect(items.map((s) => s.status).sort()).to.deep.equal(
        [
          'active',
          'active',
          'active',
          'active',
          'active',
          'active',
          'deleted',
          'disabled',
          'expired',
          'pending',
          'suspended',
        ].sort(),
      );
      const legacy = items.filter((s) => !s.productType);
      expect(legacy.map((s) => [s.offerName, s.termDuration, s.billingCycle])).to.have.deep.members(
        [
          ['Exchange Online (Plan 1)', 'P1M', 'monthly'],
          ['Exchange Online (Plan 1)', 'P1Y', 'annual'],
        ],
      );
      for (const s of legacy) {
        expect(s.offerId).to.match(
          /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/,
        );
        expect(s.offerId.toLowerCase()).not.to.equal(skuIds.EXCHANGESTANDARD);
        expect(s).not.to.have.property('cancellationAllowedUntilDate');
        expect(s.links).to.have.property('offer');
      }
      const triennial = items.find((s) => s.termDuration === 'P3Y')!;
      expect(triennial).to.include({ billingCycle: 'triennial', autoRenewEnabled: true });
      expect(triennial.links).to.include.all.keys('product', 'sku', 'availability', 'self');
      for (const s of items.filter((x) => x.productType)) {
        // The cancellation window: seven days from the start of the current term.
        const end = Date.parse(s.commitmentEndDate) + 86_400_000;
        const start = new Date(end);
        start.setUTCMonth(start.getUTCMonth() - { P1M: 1, P1Y: 12, P3Y: 36 }[s.termDuration]!);
        expect(Date.parse(s.cancellationAllowedUntilDate!) - start.getTime()).to.equal(
          7 * 86_400_000,
        );
      }
      const basic = items.find((s) => s.offerName === 'Microsoft 365 Business Basic')!;
      expect(basic.offerId).to.match(/^CFQ7TTC0LH18:0001:/);
      expect(basic).to.include({
        termDuration: 'P1Y',
        billingCycle: 'monthly',
        autoRenewEnabled: false,
        commitmentEndDate: '2027-11-19T00:00:00Z',
      });
      const pending = items.find((s) => s.status === 'pending')!;
      const status = json<ProvisioningStatusResource>(
        await get(
          emulator,
          `/v1/customers/${termsCustomer.tenantId}/subscriptions/${pending.id}/provisioningstatus`,
          tokens.second,
        ),
      );
      expect(status).to.include({ skuId: skuIds.SPB.toUpperCase(), status: 'pending' });
    });

    it('counts subscribed units by status: active, warning (expired), suspended (suspended, disabled)', async function () {
      const skus = json<Collection<SubscribedSkuResource>>(
        await get(
          emulator,
          `/v1/customers/${termsCustomer.tenantId}/subscribedskus`,
          tokens.second,
        ),
      ).items;
      const spb = skus.find((s) => s.productSku.id === skuIds.SPB)!;
      expect(spb).to.deep.include({
        activeUnits: 20,
        suspendedUnits: 3,
        warningUnits: 3,
        totalUnits: 23,
        consumedUnits: 2,
        availableUnits: 21,
      });
      expect(skus.find((s) => s.productSku.id === skuIds.EXCHANGESTANDARD)).to.deep.include({
        activeUnits: 5,
      });
    });

    it('reports subscribed SKUs: active = active subscription quantities, consumed = licensed users', async function () {
      const [skusResponse, subsResponse] = await Promise.all([
        get(emulator, `/v1/customers/${explicitCustomer}/subscribedskus`, tokens.second),
        get(emulator, `/v1/customers/${explicitCustomer}/subscriptions`, tokens.second),
      ]);
      expect(skusResponse.status).to.equal(200);
      const skus = json<Collection<SubscribedSkuResource>>(skusResponse);
      const subscriptions = await Promise.all(
        json<Collection<SubscriptionResource>>(subsResponse).items.map(async (s) => ({
          ...s,
          skuId: json<ProvisioningStatusResource>(
            await get(
              emulator,
              `/v1/customers/${explicitCustomer}/subscriptions/${s.id}/provisioningstatus`,
              tokens.second,
            ),
          ).skuId.toLowerCase(),
        })),
      );
      expect(skus.totalCount).to.equal(2);
      const byPart = new Map(skus.items.map((s) => [s.productSku.skuPartNumber, s]));
      // SPB: 10 + 5 bought, a@ and b@ licensed; EXCHANGESTANDARD: 3 bought, b@ licensed.
      expect(byPart.get('SPB')).to.deep.include({
        activeUnits: 15,
        consumedUnits: 2,
        totalUnits: 15,
        availableUnits: 13,
        suspendedUnits: 0,
        warningUnits: 0,
      });
      expect(byPart.get('EXCHANGESTANDARD')).to.deep.include({
        activeUnits: 3,
        consumedUnits: 1,
        totalUnits: 3,
        availableUnits: 2,
        suspendedUnits: 0,
        warningUnits: 0,
      });
      expect(byPart.get('SPB')!.productSku.id).to.equal(spbSkuId);
      expect(byPart.get('EXCHANGESTANDARD')!.productSku.id).to.equal(exchangeSkuId);
      for (const sku of skus.items) {
        expect(sku.attributes.objectType).to.equal('SubscribedSku');
        const bought = subscriptions
          .filter((s) => s.status === 'active' && s.skuId === sku.productSku.id)
          .reduce((sum, s) => sum + s.quantity, 0);
        expect(sku.activeUnits).to.equal(bought);
        expect(sku.totalUnits).to.equal(sku.activeUnits + sku.warningUnits);
        expect(sku.availableUnits).to.equal(sku.totalUnits - sku.consumedUnits);
      }
    });
  });

  describe('errors', function () {
    it('401 800001 without a token, with WWW-Authenticate', async function () {
      const response = await get(emulator, '/v1/customers');
      expectFault(response, 401, 800001);
      expect(String(response.headers['www-authenticate'])).to.match(/^OAuth realm=/);
    });

    it('401 900421 for a token without MFA', async function () {
      expectFault(await get(emulator, '/v1/customers', tokens.noMfa), 401, 900421);
    });

    it('400 without MS-Contract-Version, documented as required', async function () {
      const path = `/v1/customers/${explicitCustomer}/subscriptions`;
      expectFault(
        await get(emulator, path, tokens.second, { 'MS-Contract-Version': '' }),
        400,
        400,
      );
      expect((await get(emulator, path, tokens.second)).status).to.equal(200);
    });

    it('400 for customers without a size; no largest size', async function () {
      expectFault(await get(emulator, '/v1/customers', tokens.first), 400, 400);
      expectFault(await get(emulator, '/v1/customers?size=0', tokens.first), 400, 400);
      const all = await get(emulator, '/v1/customers?size=2500', tokens.first);
      expect(all.status, String(all.data)).to.equal(200);
      expect(json<Collection<CustomerResource>>(all).items).to.have.length(2500);
    });

    it('403 for a user who is not an Admin Agent', async function () {
      const body = expectFault(await get(emulator, '/v1/customers', tokens.staff), 403, 403);
      expect(body.description).to.equal(
        'The supplied role does not have the rights to perform the requested operation.',
      );
    });

    it('answers each call as the agent role may: customers all, subscriptions Admin and Sales, licenses Admin', async function () {
      const [sales, helpdesk, nested] = await Promise.all(
        ['sales@first.example', 'helpdesk@first.example', 'nested@first.example'].map(
          async (upn) => (await consentAndRedeem(emulator, upn)).access_token,
        ),
      );
      const customer = emulator.state.directory.partner(firstPartner)!.customers[0]!.tenantId;
      const calls = [
        '/v1/customers?size=1',
        `/v1/customers/${customer}`,
        `/v1/customers/${customer}/subscriptions`,
        `/v1/customers/${customer}/subscribedskus`,
        '/v1/profiles/organization',
      ];
      const statuses = async (token: string) =>
        Promise.all(calls.map(async (path) => (await get(emulator, path, token)).status));
      expect(await statuses(tokens.first)).to.deep.equal([200, 200, 200, 200, 200]);
      expect(await statuses(nested!)).to.deep.equal([200, 200, 200, 200, 200]);
      expect(await statuses(sales!)).to.deep.equal([200, 200, 200, 403, 200]);
      expect(await statuses(helpdesk!)).to.deep.equal([200, 200, 403, 403, 200]);
      expect(await statuses(tokens.staff)).to.deep.equal([403, 403, 403, 403, 403]);
      const refused = await get(emulator, `/v1/customers/${customer}/subscribedskus`, sales);
      expect(expectFault(refused, 403, 403).description).to.match(/supplied role does not have/);
    });

    it('403 20002 for another partner’s customer', async function () {
      expectFault(
        await get(emulator, `/v1/customers/${explicitCustomer}`, tokens.first),
        403,
        20002,
      );
      expectFault(
        await get(emulator, `/v1/customers/${explicitCustomer}/subscriptions`, tokens.first),
        403,
        20002,
      );
      const firstsCustomer = emulator.state.directory.partner(firstPartner)!.customers[0]!.tenantId;
      expectFault(
        await get(emulator, `/v1/customers/${firstsCustomer}/subscribedskus`, tokens.second),
        403,
        20002,
      );
    });

    it('404 1000 for an unknown customer', async function () {
      expectFault(await get(emulator, `/v1/customers/${randomUUID()}`, tokens.first), 404, 1000);
      expectFault(
        await get(emulator, `/v1/customers/${randomUUID()}/subscriptions`, tokens.first),
        404,
        1000,
      );
    });

    it('echoes MS-RequestId and MS-CorrelationId, on success and on error', async function () {
      for (const token of [tokens.second, undefined]) {
        const requestId = randomUUID();
        const correlationId = randomUUID();
        const response = await get(emulator, `/v1/customers/${explicitCustomer}`, token, {
          'MS-RequestId': requestId,
          'MS-CorrelationId': correlationId,
        });
        expect(response.status).to.equal(token ? 200 : 401);
        expect(response.headers['ms-requestid']).to.equal(requestId);
        expect(response.headers['ms-correlationid']).to.equal(correlationId);
      }
      const unnamed = await get(emulator, `/v1/customers/${explicitCustomer}`, tokens.second);
      expect(String(unnamed.headers['ms-requestid'])).to.match(/^[0-9a-f-]{36}$/);
      expect(String(unnamed.headers['ms-correlationid'])).to.match(/^[0-9a-f-]{36}$/);
    });
  });

  describe('injected faults', function () {
    afterEach(async function () {
      await emulator.http.delete(`${emulator.url}/_emulator/faults`);
    });

    it('a counted 503 answers once in Partner Center’s error shape, then the API answers again', async function () {
      const added = await emulator.http.post(`${emulator.url}/_emulator/faults`, {
        path: '/v1/customers',
        status: 503,
        count: 1,
      });
      expect(added.status, String(added.data)).to.equal(201);
      const requestId = randomUUID();
      const correlationId = randomUUID();
      const faulted = await get(emulator, '/v1/customers?size=10', tokens.first, {
        'MS-RequestId': requestId,
        'MS-CorrelationId': correlationId,
      });
      expectFault(faulted, 503, 503);
      expect(faulted.headers['ms-requestid']).to.equal(requestId);
      expect(faulted.headers['ms-correlationid']).to.equal(correlationId);
      expect((await get(emulator, '/v1/customers?size=10', tokens.first)).status).to.equal(200);
    });

    it('a 429 fault carries its Retry-After and the throttling body', async function () {
      await emulator.http.post(`${emulator.url}/_emulator/faults`, {
        path: '/v1/customers',
        status: 429,
        retryAfterSec: 7,
        count: 1,
      });
      const response = await get(emulator, '/v1/customers?size=10', tokens.first);
      expect(response.status).to.equal(429);
      expect(response.headers['retry-after']).to.equal('7');
      const body = json<ThrottledBody>(response);
      expect(body.statusCode).to.equal(429);
      expect(body.message).to.be.a('string').that.includes('7 seconds');
      expect((await get(emulator, '/v1/customers?size=10', tokens.first)).status).to.equal(200);
    });

    it('DELETE /_emulator/faults clears a standing fault', async function () {
      await emulator.http.post(`${emulator.url}/_emulator/faults`, {
        path: '/v1/customers/**',
        status: 500,
      });
      const listed = json<{ faults: unknown[] }>(
        await emulator.http.get(`${emulator.url}/_emulator/faults`),
      );
      expect(listed.faults).to.have.length(1);
      const path = `/v1/customers/${explicitCustomer}`;
      expectFault(await get(emulator, path, tokens.second), 500, 500);
      expectFault(await get(emulator, path, tokens.second), 500, 500);
      // (A globstar also matches zero segments: /v1/customers/** covers /v1/customers too.)
      expect(
        (await get(emulator, '/v1/profiles/organization', tokens.second)).status,
        'other paths',
      ).to.equal(200);
      const cleared = await emulator.http.delete(`${emulator.url}/_emulator/faults`);
      expect(cleared.status).to.equal(204);
      const after = json<{ faults: unknown[] }>(
        await emulator.http.get(`${emulator.url}/_emulator/faults`),
      );
      expect(after.faults).to.deep.equal([]);
      expect((await get(emulator, path, tokens.second)).status).to.equal(200);
    });
  });
});

describe('Partner Center emulator throttling (HTTPS)', function () {
  let emulator: TestEmulator;
  let firstToken: string;
  let secondToken: string;
  const rate = 5;

  before(async function () {
    emulator = await startTestEmulator(
      scenarioWith((p) =>
        p.tenantId === firstPartner ? { ...p, rateLimits: { partnerCenterRps: rate } } : p,
      ),
    );
    const [first, second] = await Promise.all([
      consentAndRedeem(emulator, 'admin@first.example'),
      consentAndRedeem(emulator, 'admin@second.example'),
    ]);
    firstToken = first.access_token;
    secondToken = second.access_token;
  });

  after(async function () {
    await emulator?.stop();
  });

  it('throttles only the partner over its rate, with Retry-After, and lets it through after waiting', async function () {
    const burst = 20;
    const { throttled, waitSec } = await throttledBurst(
      burst,
      rate,
      () => get(emulator, '/v1/customers?size=5', firstToken),
      () => get(emulator, `/v1/customers/${explicitCustomer}/subscriptions`, secondToken),
    );
    for (const response of throttled) {
      const body = json<ThrottledBody>(response);
      expect(body).to.have.all.keys('statusCode', 'message');
      expect(body.statusCode).to.equal(429);
      expect(body.message).to.be.a('string').that.is.not.empty;
    }

    // Honour the Retry-After the server gave (on the emulator's clock): then it serves again.
    await emulator.http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: waitSec });
    expect((await get(emulator, '/v1/customers?size=5', firstToken)).status).to.equal(200);

    const counters = json<Counters>(await emulator.http.get(`${emulator.url}/_emulator/counters`));
    expect(counters.partners[firstPartner]!.partnerCenter).to.deep.equal({
      requests: burst + 1,
      throttled: throttled.length,
    });
    expect(counters.partners[secondPartner]!.partnerCenter).to.deep.equal({
      requests: burst,
      throttled: 0,
    });
  });
});

describe('Partner Center emulator throttling per partner and customer (HTTPS)', function () {
  let emulator: TestEmulator;
  let token: string;
  let customers: string[];
  /** Scaled down from the documented 500 a minute. */
  const perMinute = 3;

  before(async function () {
    emulator = await startTestEmulator(
      scenarioWith((p) =>
        p.tenantId === firstPartner
          ? { ...p, rateLimits: { partnerCenterRps: 50, customerApiPerMinute: perMinute } }
          : p,
      ),
    );
    token = (await consentAndRedeem(emulator, 'admin@first.example')).access_token;
    customers = emulator.state.directory
      .partner(firstPartner)!
      .customers.filter((c) => c.relationshipToPartner === 'reseller')
      .slice(0, 2)
      .map((c) => c.tenantId);
  });

  after(async function () {
    await emulator?.stop();
  });

  it('throttles one listed API at one customer, with Retry-After, and nothing else', async function () {
    const [one, two] = customers as [string, string];
    const subscriptions = (customer: string) =>
      get(emulator, `/v1/customers/${customer}/subscriptions`, token);
    for (let i = 0; i < perMinute; i++) expect((await subscriptions(one)).status).to.equal(200);
    const throttled = await subscriptions(one);
    expect(throttled.status, String(throttled.data)).to.equal(429);
    const retryAfter = Number(throttled.headers['retry-after']);
    expect(retryAfter).to.be.within(1, 60);
    expect(json<ThrottledBody>(throttled)).to.deep.equal({
      statusCode: 429,
      message: `Rate limit is exceeded. Try again in ${retryAfter} seconds.`,
    });

    // Another customer of the same partner, and other APIs at the same customer, still go:
    // "calls against other customers may succeed".
    expect((await subscriptions(two)).status).to.equal(200);
    expect((await get(emulator, `/v1/customers/${one}`, token)).status).to.equal(200);
    // subscribedskus is not among the APIs throttled per customer.
    for (let i = 0; i <= perMinute; i++)
      expect((await get(emulator, `/v1/customers/${one}/subscribedskus`, token)).status).to.equal(
        200,
      );

    await emulator.http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: retryAfter });
    expect((await subscriptions(one)).status).to.equal(200);
  });
});
