import type { AxiosInstance } from 'axios';
import { expect } from 'chai';
import { haloEmulator } from '../../emulator/psa/halo/index.js';
import type { HaloScenario } from '../../emulator/psa/halo/scenario.js';
import type { HaloState } from '../../emulator/psa/halo/state.js';
import { startPsaEmulator, type RunningPsaEmulator } from '../../emulator/psa/server.js';
import { generateTls, type TlsMaterial } from '../../emulator/tls.js';
import { createHttpClient } from '../../src/http-client.js';
import type { PsaClient } from '../../src/psa/client.js';
import { PsaError } from '../../src/psa/errors.js';
import { createHaloClient } from '../../src/psa/halo/client.js';
import type { HaloConnectionInput } from '../../src/psa/halo/connection.js';

// The Halo client against the Halo emulator over HTTPS: every PsaClient call, its paging, its
// idempotent writes (checked in the emulator's request log) and the classification of each
// kind of failure.

const clientId = '5f0c3b1e-halo-sync';
const clientSecret = 'halo-emulator-secret';

/** The default scenario, with enough recurring invoices and items to page at page_size 2. */
function testScenario(change: (s: HaloScenario) => void = () => undefined): HaloScenario {
  const s = structuredClone(haloEmulator.defaultScenario());
  s.recurringInvoices.push(
    { id: 76, clientId: 12, name: 'Contoso annual add-ons', lines: [] },
    {
      id: 77,
      clientId: 12,
      name: 'Contoso project billing',
      lines: [{ id: 951, itemId: 202, quantity: 4, inactive: false, freeQuantity: 0 }],
    },
  );
  s.items.push({
    id: 301,
    name: 'Backup for Microsoft 365',
    supplierPartCode: 'BKP-365',
    recurring: true,
    recurringPrice: 3,
    recurringCost: 1,
    inactive: false,
  });
  s.items.push({
    id: 302,
    name: 'Retired Antispam',
    internalReference: 'OLD-AS',
    recurring: true,
    recurringPrice: 1,
    recurringCost: 0.5,
    inactive: true,
  });
  change(s);
  return haloEmulator.parseScenario(s);
}

async function rejection(promise: Promise<unknown>): Promise<PsaError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(PsaError);
    return error as PsaError;
  }
  throw new Error('expected a PsaError');
}

describe('HaloPSA client', () => {
  let tls: TlsMaterial;
  let emulator: RunningPsaEmulator<HaloState>;
  let http: AxiosInstance;
  let acquired: string[];

  const start = async (s: HaloScenario = testScenario()) => {
    await emulator?.stop();
    emulator = await startPsaEmulator(haloEmulator, { scenario: s, tls });
    http = createHttpClient({ extraCaFile: emulator.caFile });
  };
  const client = (overrides: Partial<HaloConnectionInput> = {}, now?: () => number): PsaClient =>
    createHaloClient(
      { url: emulator.url, clientId, clientSecret, pageSize: 2, ...overrides },
      {
        http,
        hooks: {
          acquire: (entity) => {
            acquired.push(entity);
            return Promise.resolve(() => undefined);
          },
        },
        ...(now ? { now } : {}),
      },
    );
  const requests = (method: string, path: string) =>
    emulator.base.log.filter((e) => e.method === method && e.path === path);

  before(async () => {
    tls = await generateTls();
  });
  beforeEach(async () => {
    acquired = [];
    await start();
  });
  after(() => emulator?.stop());

  describe('testConnection', () => {
    it('gets a token and reads each area, saying so', async () => {
      const result = await client({}).testConnection();
      expect(result.description).to.match(/readable/);
      expect(requests('POST', '/auth/token')).to.have.length(1);
    });

    it('says the client ID or secret is wrong (credentials)', async () => {
      const error = await rejection(client({ clientSecret: 'wrong' }).testConnection());
      expect(error.kind).to.equal('credentials');
      expect(error.message).to.match(/client ID or secret/);
      expect(error.message).to.not.contain('wrong');
    });

    it('says the address is wrong: no Halo there, or nothing listening', async () => {
      const noHalo = await rejection(client({ url: `${emulator.url}/not-halo` }).testConnection());
      expect(noHalo.kind).to.equal('credentials');
      expect(noHalo.message).to.match(/check the address/);
      const nobody = await rejection(client({ url: 'https://127.0.0.1:1' }).testConnection());
      expect(nobody.kind).to.equal('transient');
      expect(nobody.message).to.match(/Cannot reach the Halo address.*127\.0\.0\.1:1/);
    });

    it('says the tenant is wrong on hosted Halo', async () => {
      await start(testScenario((s) => (s.tenant = 'contosomsp')));
      const error = await rejection(client({ tenant: 'fabrikammsp' }).testConnection());
      expect(error.kind).to.equal('credentials');
      expect(error.message).to.match(/tenant/);
      expect((await client({ tenant: 'contosomsp' }).testConnection()).description).to.contain(
        'tenant contosomsp',
      );
    });

    it('says which read permission the application or its agent lacks (permission)', async () => {
      await start(
        testScenario((s) => (s.agents[0]!.permissions = ['read:customers', 'read:items'])),
      );
      const error = await rejection(client().testConnection());
      expect(error.kind).to.equal('permission');
      expect(error.message).to.match(/may not read recurring invoices: You do not have permission/);
    });
  });

  describe('reads', () => {
    it('lists every company over several pages, with domains, state and Azure tenants', async () => {
      const companies = await client().listCompanies();
      expect(companies.map((c) => c.id)).to.deep.equal(['12', '13', '14', '15', '16', '17']);
      expect(requests('GET', '/api/Client').map((e) => e.query)).to.have.length(3);
      const byName = new Map(companies.map((c) => [c.name, c]));
      expect(byName.get('Contoso Ltd')).to.deep.equal({
        id: '12',
        name: 'Contoso Ltd',
        domains: ['contoso.com'],
        active: true,
        tenantIds: ['6d3a1c52-8f1e-4a57-9b2f-0c4e6a7b8d11'],
      });
      expect(byName.get('Fabrikam Inc')!.domains).to.deep.equal(['fabrikam.com']);
      expect(byName.get('Adventure Works Cycles')!.domains).to.deep.equal(['adventure-works.com']);
      expect(byName.get('Northwind Traders')!.tenantIds).to.deep.equal([]);
      expect(byName.get('Litware Inc')!.active).to.equal(false);
    });

    it('lists active catalogue items as products, coded by internal reference else supplier code', async () => {
      const products = await client().listProducts();
      expect(products).to.have.length(9);
      expect(products.find((p) => p.id === '101')).to.deep.equal({
        id: '101',
        name: 'Microsoft 365 Business Premium',
        code: 'SPB',
      });
      expect(products.find((p) => p.id === '301')!.code).to.equal('BKP-365');
      expect(products.find((p) => p.id === '302')).to.equal(undefined);
    });

    it("lists a company's recurring invoices as containers, over several pages", async () => {
      const containers = await client().listContainers('12');
      expect(containers).to.deep.equal([
        { id: '71', companyId: '12', name: 'Contoso monthly Microsoft 365' },
        { id: '76', companyId: '12', name: 'Contoso annual add-ons' },
        { id: '77', companyId: '12', name: 'Contoso project billing' },
      ]);
      expect(requests('GET', '/api/RecurringInvoice')).to.have.length(2);
    });

    it('lists lines; a licence-linked line bills its SoftwareLicence count, not qty_order', async () => {
      await start(testScenario((s) => (s.licences[0]!.count = 27)));
      const lines = await client().listLines('12');
      expect(
        lines.map((l) => [l.id, l.containerId, l.productId, l.quantity, l.cancelled]),
      ).to.deep.equal([
        ['901', '71', '101', 27, false],
        ['902', '71', '104', 8, false],
        ['903', '71', '201', 33, false],
        ['951', '77', '202', 4, false],
      ]);
      expect(lines[0]!.productName).to.equal('Microsoft 365 Business Premium');
      const tailspin = await client().listLines('15');
      expect(tailspin.find((l) => l.id === '933')!.cancelled).to.equal(true);
    });

    it('calls the pacing hook around each request, naming the entity', async () => {
      await client().listContainers('13');
      expect(acquired).to.deep.equal(['token', 'RecurringInvoice']);
    });
  });

  describe('writes', () => {
    it('sets a line quantity once; a repeat reads, finds it applied and writes nothing', async () => {
      const halo = client();
      const change = {
        containerId: '71',
        productId: '104',
        target: 11,
        effectiveDate: '2026-12-01',
      };
      const first = await halo.setQuantity(change);
      expect(first).to.deep.equal({
        lineId: '902',
        before: 8,
        after: 11,
        responseId: '902',
        alreadyApplied: false,
      });
      expect(emulator.state.lines.get(902)!.qty_order).to.equal(11);
      const writes = requests('POST', '/api/RecurringInvoice/updatelines');
      expect(writes).to.have.length(1);
      expect(writes[0]!.body).to.deep.equal([
        { id: 902, ihid: 71, qty_order: 11, prorata_next_invoice: true },
      ]);
      const again = await halo.setQuantity(change);
      expect(again).to.deep.include({ lineId: '902', before: 11, after: 11, alreadyApplied: true });
      expect(
        emulator.base.log.filter((e) => e.method !== 'GET' && e.path.startsWith('/api')),
      ).to.have.length(1);
    });

    it('adds a line when the invoice has none for the product, and not twice', async () => {
      const halo = client();
      const change = {
        containerId: '72',
        productId: '101',
        target: 6,
        effectiveDate: '2026-12-01',
      };
      const added = await halo.setQuantity(change);
      expect(added).to.deep.include({ before: 0, after: 6, alreadyApplied: false });
      const line = emulator.state.lines.get(Number(added.lineId))!;
      expect(line).to.include({
        ihid: 72,
        _itemid: 101,
        qty_order: 6,
        startdate: '2026-12-01T00:00:00',
      });
      expect((await halo.setQuantity(change)).alreadyApplied).to.equal(true);
      expect(requests('POST', '/api/RecurringInvoice/Lines')).to.have.length(1);
      expect(requests('POST', '/api/RecurringInvoice')).to.have.length(0);
    });

    it("sets a licence-linked line through its licence's count, leaving qty_order alone", async () => {
      const halo = client();
      const applied = await halo.setQuantity({
        containerId: '71',
        productId: '101',
        target: 30,
        effectiveDate: '2026-12-01',
      });
      expect(applied).to.deep.equal({
        lineId: '901',
        before: 25,
        after: 30,
        responseId: '501',
        alreadyApplied: false,
      });
      expect(emulator.state.licences.get(501)!.count).to.equal(30);
      expect(emulator.state.lines.get(901)!.qty_order).to.equal(25);
      expect(requests('POST', '/api/RecurringInvoice/updatelines')).to.have.length(0);
      const lines = await halo.listLines('12');
      expect(lines.find((l) => l.id === '901')!.quantity).to.equal(30);
    });

    it('cancels a line by ending it, keeping it and its history: never a DELETE', async () => {
      const halo = client();
      const line = { containerId: '71', productId: '201', lineId: '903' };
      const cancelled = await halo.cancelLine(line, '2026-01-31');
      expect(cancelled).to.deep.include({
        lineId: '903',
        before: 33,
        after: 0,
        alreadyApplied: false,
      });
      expect(emulator.state.lines.get(903)).to.include({
        enddate: '2026-01-31T00:00:00',
        isinactive: true,
        qty_order: 33,
      });
      expect((await halo.cancelLine(line, '2026-01-31')).alreadyApplied).to.equal(true);
      expect(emulator.base.log.filter((e) => e.method === 'DELETE')).to.have.length(0);
      expect(requests('POST', '/api/RecurringInvoice/updatelines')).to.have.length(1);
      expect((await halo.listLines('12')).find((l) => l.id === '903')!.cancelled).to.equal(true);
    });

    it("surfaces Halo's validation message verbatim", async () => {
      const halo = client();
      const negative = await rejection(
        halo.setQuantity({
          containerId: '71',
          productId: '104',
          target: -1,
          effectiveDate: '2026-12-01',
        }),
      );
      expect(negative.kind).to.equal('validation');
      expect(negative.status).to.equal(400);
      expect(negative.message).to.equal('Quantity cannot be negative.');
      const retired = await rejection(
        halo.setQuantity({
          containerId: '72',
          productId: '302',
          target: 2,
          effectiveDate: '2026-12-01',
        }),
      );
      expect(retired.message).to.equal(
        "The item 'Retired Antispam' is inactive and cannot be invoiced.",
      );
    });

    it('says not_found for an unknown recurring invoice or line', async () => {
      const missing = await rejection(
        client().setQuantity({
          containerId: '999',
          productId: '101',
          target: 1,
          effectiveDate: '2026-12-01',
        }),
      );
      expect(missing.kind).to.equal('not_found');
      expect(missing.message).to.equal('Recurring invoice 999 not found.');
      const line = await rejection(
        client().cancelLine({ containerId: '71', productId: '1', lineId: '4' }, '2026-12-01'),
      );
      expect(line.kind).to.equal('not_found');
    });

    it('says permission when the agent may read invoices but not edit them', async () => {
      await start(
        testScenario((s) => (s.agents[0]!.permissions = ['read:invoices', 'read:software'])),
      );
      const error = await rejection(
        client().setQuantity({
          containerId: '71',
          productId: '104',
          target: 9,
          effectiveDate: '2026-12-01',
        }),
      );
      expect(error.kind).to.equal('permission');
      expect(error.message).to.match(/^You do not have permission to edit invoices/);
    });
  });

  describe('failures', () => {
    it('429 without Retry-After: rate_limited, waiting toward the rolling window', async () => {
      await start(testScenario((s) => (s.rateLimit = { requests: 2, windowSeconds: 300 })));
      const error = await rejection(client().listCompanies());
      expect(error.kind).to.equal('rate_limited');
      expect(error.message).to.equal('Rate Limit Reached - 2 Requests per rolling 5 minute window');
      expect(error.retryAfterMs).to.equal(60_000);
      const patient = await rejection(client({ rateLimitBackoffMs: 300_000 }).listCompanies());
      expect(patient.retryAfterMs).to.equal(300_000);
    });

    it('429 with Retry-After: retryAfterMs from the header', async () => {
      await start(
        testScenario(
          (s) => (s.rateLimit = { requests: 1, windowSeconds: 300, retryAfterSeconds: 120 }),
        ),
      );
      const error = await rejection(client().listCompanies());
      expect(error.kind).to.equal('rate_limited');
      expect(error.retryAfterMs).to.equal(120_000);
    });

    it('5xx: transient, with the message Halo gave', async () => {
      await http.post(`${emulator.url}/_emulator/faults`, {
        path: '/api/Item',
        status: 503,
        message: 'Service Unavailable',
      });
      const error = await rejection(client().listProducts());
      expect(error).to.include({ kind: 'transient', status: 503, message: 'Service Unavailable' });
    });

    it('broken credentials (secret rotated in Halo): credentials, after one token renewal', async () => {
      const halo = client();
      await halo.listContainers('12');
      await http.put(
        `${emulator.url}/_emulator/scenario`,
        testScenario((s) => (s.applications[0]!.clientSecret = 'rotated')),
      );
      const error = await rejection(halo.listContainers('12'));
      expect(error.kind).to.equal('credentials');
      expect(error.message).to.match(/Invalid client credentials/);
    });
  });

  describe('tokens', () => {
    it('reuses one token, and renews it before expires_in runs out', async () => {
      await start(testScenario((s) => (s.tokenLifetimeSeconds = 600)));
      const halo = client({}, () => emulator.base.now());
      await halo.listContainers('12');
      await halo.listContainers('13');
      expect(requests('POST', '/auth/token')).to.have.length(1);
      await http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: 541 });
      await halo.listContainers('14');
      expect(requests('POST', '/auth/token')).to.have.length(2);
      expect(emulator.base.log.filter((e) => e.status === 401)).to.have.length(0);
    });

    it('renews a token Halo refuses as expired, once, and carries on', async () => {
      const halo = client();
      await halo.listContainers('12');
      await http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: 3700 });
      expect(await halo.listContainers('13')).to.have.length(1);
      expect(emulator.base.log.filter((e) => e.status === 401)).to.have.length(1);
      expect(requests('POST', '/auth/token')).to.have.length(2);
    });

    it('never logs the secret: token requests are form-encoded, not kept in the request log', async () => {
      await client().testConnection();
      expect(JSON.stringify(emulator.base.log)).to.not.contain(clientSecret);
    });
  });
});
