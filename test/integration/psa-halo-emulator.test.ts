import type { AxiosInstance } from 'axios';
import { expect } from 'chai';
import { haloEmulator } from '../../emulator/psa/halo/index.js';
import type { HaloScenario } from '../../emulator/psa/halo/scenario.js';
import type { HaloState } from '../../emulator/psa/halo/state.js';
import { startPsaEmulator, type RunningPsaEmulator } from '../../emulator/psa/server.js';
import { createHttpClient } from '../../src/http-client.js';

// The Halo emulator over real HTTPS with raw requests: each point of the reference's Halo
// checklist, refusals and limits included.

const clientId = '5f0c3b1e-halo-sync';
const clientSecret = 'halo-emulator-secret';
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const body = (data: unknown) => JSON.parse(data as string) as Record<string, unknown>;

function scenario(overrides: Partial<Record<keyof HaloScenario, unknown>> = {}): HaloScenario {
  return haloEmulator.parseScenario({ ...haloEmulator.defaultScenario(), ...overrides });
}

describe('HaloPSA emulator', () => {
  let emulator: RunningPsaEmulator<HaloState>;
  let http: AxiosInstance;

  const start = async (s: HaloScenario = scenario()) => {
    await emulator?.stop();
    emulator = await startPsaEmulator(haloEmulator, { scenario: s });
    http = createHttpClient({ extraCaFile: emulator.caFile });
  };
  const tokenRequest = (fields: Record<string, string>, query = '') =>
    http.post(`${emulator.url}/auth/token${query}`, new URLSearchParams(fields).toString(), {
      headers: form,
    });
  const token = async (id = clientId, secret = clientSecret) => {
    const res = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: id,
      client_secret: secret,
      scope: 'all',
    });
    expect(res.status, String(res.data)).to.equal(200);
    return body(res.data).access_token as string;
  };
  const api = async (method: 'get' | 'post', path: string, data?: unknown, bearer?: string) => {
    const headers = { authorization: `Bearer ${bearer ?? (await token())}` };
    const res =
      method === 'get'
        ? await http.get(`${emulator.url}/api${path}`, { headers })
        : await http.post(`${emulator.url}/api${path}`, data, { headers });
    return { status: res.status, headers: res.headers, json: JSON.parse(res.data as string) };
  };

  beforeEach(() => start());
  after(() => emulator?.stop());

  it('refuses an invalid scenario, naming each problem and its path', () => {
    const s = structuredClone(haloEmulator.defaultScenario());
    s.recurringInvoices[0]!.lines[0]!.itemId = 4242;
    s.applications[0]!.agentId = 9;
    expect(() => haloEmulator.parseScenario({ ...s, colour: 'blue' })).to.throw(
      /\(root\): Unrecognized key: "colour"/,
    );
    expect(() => haloEmulator.parseScenario(s)).to.throw(/applications\.0\.agentId: no such agent/);
    expect(() => haloEmulator.parseScenario(s)).to.throw(
      /recurringInvoices\.0\.lines\.0\.itemId: no such item/,
    );
  });

  describe('authorisation server', () => {
    it('grants a bearer token for client credentials, with expires_in from the scenario', async () => {
      await start(scenario({ tokenLifetimeSeconds: 900 }));
      const res = await tokenRequest({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
        scope: 'all',
      });
      expect(res.status).to.equal(200);
      expect(body(res.data)).to.include({ token_type: 'Bearer', expires_in: 900, scope: 'all' });
      expect(body(res.data).access_token).to.be.a('string').with.length.above(20);
    });

    it('refuses a wrong secret, grant, scope or body with OAuth errors', async () => {
      const good = { grant_type: 'client_credentials', client_id: clientId, scope: 'all' };
      const cases: [Record<string, string>, string][] = [
        [{ ...good, client_secret: 'wrong' }, 'invalid_client'],
        [{ ...good, client_id: 'nobody', client_secret: clientSecret }, 'invalid_client'],
        [
          { ...good, client_secret: clientSecret, grant_type: 'password' },
          'unsupported_grant_type',
        ],
        [{ ...good, client_secret: clientSecret, scope: 'everything' }, 'invalid_scope'],
      ];
      for (const [fields, error] of cases) {
        const res = await tokenRequest(fields);
        expect(res.status).to.equal(400);
        expect(body(res.data).error).to.equal(error);
      }
      const json = await http.post(`${emulator.url}/auth/token`, { grant_type: 'x' });
      expect(json.status).to.equal(400);
      expect(body(json.data).error).to.equal('invalid_request');
    });

    it('needs ?tenant= naming the hosted tenant when the scenario has one', async () => {
      await start(scenario({ tenant: 'contosomsp' }));
      const fields = {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
        scope: 'all',
      };
      const without = await tokenRequest(fields);
      expect(without.status).to.equal(400);
      expect(body(without.data).error_description).to.match(/tenant/i);
      expect((await tokenRequest(fields, '?tenant=contosomsp')).status).to.equal(200);
    });
  });

  describe('resource server access', () => {
    it('answers 401 without a token, with an unknown one, once expired, and once revoked', async () => {
      expect((await http.get(`${emulator.url}/api/Client`)).status).to.equal(401);
      const unknown = await api('get', '/Client', undefined, 'not-a-token');
      expect(unknown.status).to.equal(401);
      expect(unknown.headers['www-authenticate']).to.match(/^Bearer/);
      expect(unknown.json.Message).to.be.a('string');

      const bearer = await token();
      expect((await api('get', '/Client', undefined, bearer)).status).to.equal(200);
      await http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: 3601 });
      const expired = await api('get', '/Client', undefined, bearer);
      expect(expired.status).to.equal(401);
      expect(expired.json.Message).to.match(/expired/);

      const fresh = await token();
      await http.post(`${emulator.url}/_emulator/tokens/revoke`);
      expect((await api('get', '/Client', undefined, fresh)).status).to.equal(401);
    });

    it('lets a token do only what both the application and its agent may (403 otherwise)', async () => {
      const s = haloEmulator.defaultScenario();
      await start(
        scenario({
          agents: [
            { id: 1, name: 'Billing reader', permissions: ['read:customers', 'read:invoices'] },
          ],
          applications: [
            { ...s.applications[0], permissions: ['all'] },
            {
              clientId: 'customers-only',
              clientSecret: 's2',
              agentId: 1,
              permissions: ['read:customers'],
            },
          ],
        }),
      );
      const reader = await token();
      expect((await api('get', '/RecurringInvoice', undefined, reader)).status).to.equal(200);
      const write = await api(
        'post',
        '/RecurringInvoice/updatelines',
        [{ id: 902, qty_order: 9 }],
        reader,
      );
      expect(write.status).to.equal(403);
      expect(write.json.Message).to.match(/permission/);
      expect(emulator.state.lines.get(902)!.qty_order).to.equal(8);

      const narrow = await token('customers-only', 's2');
      expect((await api('get', '/Client', undefined, narrow)).status).to.equal(200);
      expect((await api('get', '/RecurringInvoice', undefined, narrow)).status).to.equal(403);
    });

    it('answers 429 past the rolling window limit, without Retry-After unless configured', async () => {
      await start(scenario({ rateLimit: { requests: 4, windowSeconds: 60 } }));
      const bearer = await token();
      for (let i = 0; i < 4; i += 1)
        expect((await api('get', '/Item', undefined, bearer)).status).to.equal(200);
      const refused = await api('get', '/Item', undefined, bearer);
      expect(refused.status).to.equal(429);
      expect(refused.json.Message).to.equal(
        'Rate Limit Reached - 4 Requests per rolling 1 minute window',
      );
      expect(refused.headers['retry-after']).to.equal(undefined);
      await http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: 61 });
      expect((await api('get', '/Item', undefined, bearer)).status).to.equal(200);

      await start(
        scenario({ rateLimit: { requests: 1, windowSeconds: 300, retryAfterSeconds: 120 } }),
      );
      const second = await token();
      await api('get', '/Item', undefined, second);
      const limited = await api('get', '/Item', undefined, second);
      expect(limited.status).to.equal(429);
      expect(limited.headers['retry-after']).to.equal('120');
    });

    it('defaults to 300 requests per 5 minutes', () => {
      expect(haloEmulator.defaultScenario().rateLimit).to.include({
        requests: 300,
        windowSeconds: 300,
      });
    });

    it('answers injected faults in its own error shape', async () => {
      await http.post(`${emulator.url}/_emulator/faults`, {
        path: '/api/Client',
        status: 500,
        count: 1,
      });
      const res = await api('get', '/Client');
      expect(res.status).to.equal(500);
      expect(res.json).to.deep.equal({ ClassName: 'System.Exception', Message: 'Injected fault.' });
    });
  });

  describe('lists', () => {
    it('pages with pageinate/page_size/page_no and counts every match in record_count', async () => {
      const bearer = await token();
      const pages = [];
      for (let page = 1; page <= 3; page += 1) {
        const res = await api(
          'get',
          `/Client?pageinate=true&page_size=2&page_no=${page}`,
          undefined,
          bearer,
        );
        expect(res.json.record_count).to.equal(5);
        pages.push(...(res.json.clients as { id: number }[]).map((c) => c.id));
      }
      expect(pages).to.deep.equal([12, 13, 14, 15, 16]);
      const all = await api('get', '/Client?includeinactive=true', undefined, bearer);
      expect(all.json.record_count).to.equal(6);
    });

    it('caps with count when not paging, and orders with order/orderdesc', async () => {
      const res = await api('get', '/Item?count=3&order=name&orderdesc=true');
      expect(res.json.record_count).to.equal(8);
      expect((res.json.items as { name: string }[]).map((i) => i.name)).to.deep.equal([
        'On-site Support Visit',
        'Microsoft 365 E3',
        'Microsoft 365 Business Standard',
      ]);
    });

    it('refuses a page number below 1 with 400', async () => {
      const res = await api('get', '/Client?pageinate=true&page_no=0');
      expect(res.status).to.equal(400);
      expect(res.json.Message).to.match(/page_no/);
    });
  });

  describe('entities', () => {
    it('maps a Microsoft tenant to its client (AreaAzureTenant)', async () => {
      const bearer = await token();
      const byTenant = await api(
        'get',
        '/AreaAzureTenant?azure_tenant_id=6d3a1c52-8f1e-4a57-9b2f-0c4e6a7b8d11',
        undefined,
        bearer,
      );
      expect(byTenant.json).to.have.length(1);
      expect(byTenant.json[0]).to.include({ client_id: 12, client_name: 'Contoso Ltd' });
      const byClient = await api('get', '/AreaAzureTenant?client_id=15', undefined, bearer);
      expect(byClient.json[0].azure_tenant_id).to.equal('9a2c6e13-5b4f-47d1-8e0a-3f6c2b1d9e33');
    });

    it('reads clients with website and domain, contracts, and 404 for an unknown id', async () => {
      const bearer = await token();
      const client = await api('get', '/Client/12', undefined, bearer);
      expect(client.json).to.include({
        name: 'Contoso Ltd',
        website: 'https://www.contoso.com',
        domain: 'contoso.com',
      });
      const contracts = await api('get', '/ClientContract?client_id=12', undefined, bearer);
      expect(contracts.json.contracts[0]).to.include({ id: 31, client_id: 12 });
      for (const path of [
        '/Client/999',
        '/ClientContract/999',
        '/RecurringInvoice/999',
        '/Item/999',
        '/SoftwareLicence/999',
      ])
        expect((await api('get', path, undefined, bearer)).status, path).to.equal(404);
    });

    it('gives recurring invoices their lines only with includelines=true', async () => {
      const bearer = await token();
      const bare = await api('get', '/RecurringInvoice?client_id=12', undefined, bearer);
      expect(bare.json.invoices[0]).to.not.have.property('lines');
      const full = await api(
        'get',
        '/RecurringInvoice?client_id=12&includelines=true',
        undefined,
        bearer,
      );
      const lines = full.json.invoices[0].lines as Record<string, unknown>[];
      expect(lines.map((l) => l.id)).to.deep.equal([901, 902, 903]);
      expect(lines[1]).to.include({
        ihid: 71,
        _itemid: 104,
        item_code: 'EXCHANGESTANDARD',
        qty_order: 8,
        unit_price: 4,
        isinactive: false,
      });
      expect(lines[0]!.quantity_licences).to.deep.include.members([
        {
          id: 1,
          invoice_line_id: 901,
          licence_id: 501,
          licence_name: 'Microsoft 365 Business Premium',
          qty_free: 0,
          minimum_qty: 0,
          pro_rata: 0,
          assigned_licences: false,
          use_linked_subscription_price: false,
        },
      ]);
      const one = await api('get', '/RecurringInvoice/71', undefined, bearer);
      expect(one.json.lines).to.have.length(3);
    });

    it('bills a licence-linked line from its SoftwareLicence count', async () => {
      const bearer = await token();
      const updated = await api('post', '/SoftwareLicence', [{ id: 501, count: 30 }], bearer);
      expect(updated.status).to.equal(201);
      expect(updated.json).to.include({ id: 501, count: 30 });
      const invoice = await api('get', '/RecurringInvoice/71', undefined, bearer);
      expect(invoice.json.lines[0]).to.include({ qty_order: 25, net_amount: 30 * 22 });
      const byTenant = await api(
        'get',
        '/SoftwareLicence?tenant_id=6d3a1c52-8f1e-4a57-9b2f-0c4e6a7b8d11',
        undefined,
        bearer,
      );
      expect(byTenant.json.licences.map((l: { id: number }) => l.id)).to.deep.equal([501]);
    });
  });

  describe('writes', () => {
    it('upserts by array POST: an object without id creates (201), with id updates', async () => {
      const bearer = await token();
      const created = await api(
        'post',
        '/Client',
        [{ name: 'Woodgrove Bank', website: 'woodgrovebank.com' }],
        bearer,
      );
      expect(created.status).to.equal(201);
      expect(created.json).to.include({ id: 18, name: 'Woodgrove Bank' });
      const updated = await api(
        'post',
        '/Client',
        [{ id: 18, domain: 'woodgrovebank.com' }],
        bearer,
      );
      expect(updated.json).to.include({
        id: 18,
        name: 'Woodgrove Bank',
        domain: 'woodgrovebank.com',
      });
      const item = await api(
        'post',
        '/Item',
        [{ name: 'Microsoft Teams Essentials', internalreference: 'TEAMS_ESSENTIALS' }],
        bearer,
      );
      expect(item.status).to.equal(200);
      const contract = await api(
        'post',
        '/ClientContract',
        [{ client_id: 18, ref: 'CON-9' }],
        bearer,
      );
      expect(contract.status).to.equal(201);
      const invoice = await api(
        'post',
        '/RecurringInvoice',
        [
          {
            client_id: 18,
            reference: 'Woodgrove monthly',
            lines: [{ _itemid: 101, qty_order: 3 }],
          },
        ],
        bearer,
      );
      expect(invoice.status).to.equal(201);
      expect(invoice.json.lines[0]).to.include({
        _itemid: 101,
        qty_order: 3,
        item_code: 'SPB',
        unit_price: 22,
      });
      const licence = await api(
        'post',
        '/SoftwareLicence',
        [{ client_id: 18, name: 'Teams', count: 4 }],
        bearer,
      );
      expect(licence.status).to.equal(201);
      expect((await api('post', '/Client', [{ id: 999, name: 'x' }], bearer)).status).to.equal(404);
    });

    it('keeps the lines a POST /RecurringInvoice leaves out of lines[]', async () => {
      const res = await api('post', '/RecurringInvoice', [
        { id: 71, lines: [{ id: 902, qty_order: 10 }] },
      ]);
      expect(res.status).to.equal(201);
      expect(
        (res.json.lines as { id: number; qty_order: number }[]).map((l) => [l.id, l.qty_order]),
      ).to.deep.equal([
        [901, 25],
        [902, 10],
        [903, 33],
      ]);
    });

    it('updates lines by id through updatelines and adds them through Lines', async () => {
      const bearer = await token();
      const updated = await api(
        'post',
        '/RecurringInvoice/updatelines',
        [{ id: 902, qty_order: 12, enddate: '2026-12-31', isinactive: true }],
        bearer,
      );
      expect(updated.status).to.equal(200);
      expect(updated.json[0]).to.include({
        id: 902,
        qty_order: 12,
        enddate: '2026-12-31T00:00:00',
        isinactive: true,
      });
      const added = await api(
        'post',
        '/RecurringInvoice/Lines',
        [{ ihid: 72, _itemid: 103, qty_order: 2, startdate: '2026-12-01' }],
        bearer,
      );
      expect(added.json[0]).to.include({
        ihid: 72,
        _itemid: 103,
        qty_order: 2,
        item_shortdescription: 'Microsoft 365 Business Basic',
      });
      expect(emulator.state.invoices.get(72)!.lineIds).to.include(added.json[0].id);
      const missing = await api(
        'post',
        '/RecurringInvoice/updatelines',
        [{ id: 99999, qty_order: 1 }],
        bearer,
      );
      expect(missing.status).to.equal(404);
    });

    it('refuses bad input with 400 and a message, changing nothing', async () => {
      const bearer = await token();
      const before = JSON.stringify(emulator.state.lines.get(902));
      const cases: [string, unknown, RegExp][] = [
        [
          '/RecurringInvoice/updatelines',
          [
            { id: 902, qty_order: 1 },
            { id: 903, qty_order: -2 },
          ],
          /negative/,
        ],
        ['/RecurringInvoice/updatelines', [{ id: 902, qty_order: 'ten' }], /qty_order/],
        ['/RecurringInvoice/updatelines', [{ id: 902, enddate: 'soon' }], /date/],
        ['/RecurringInvoice/updatelines', { id: 902 }, /array/],
        ['/RecurringInvoice/Lines', [{ ihid: 71, _itemid: 4242 }], /Item 4242/],
        ['/Client', [{ website: 'nameless.com' }], /name/],
      ];
      for (const [path, data, message] of cases) {
        const res = await api('post', path, data, bearer);
        expect(res.status, path).to.equal(400);
        expect(res.json.Message).to.match(message);
      }
      expect(JSON.stringify(emulator.state.lines.get(902))).to.equal(before);
      expect(emulator.state.clients.size).to.equal(6);
    });
  });
});
