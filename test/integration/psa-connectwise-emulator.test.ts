import type { AxiosInstance, AxiosResponse } from 'axios';
import { expect } from 'chai';
import { connectwiseEmulator } from '../../emulator/psa/connectwise/index.js';
import type { ConnectwiseState } from '../../emulator/psa/connectwise/state.js';
import { startPsaEmulator, type RunningPsaEmulator } from '../../emulator/psa/server.js';
import { createHttpClient } from '../../src/http-client.js';

// The ConnectWise PSA emulator over real HTTPS with raw requests: each point of the
// ConnectWise emulator checklist (/work/shared/reference/psa-apis.md §1, §5).

const clientId = '3c7a1f52-8d4e-4b6a-9f0e-2a1b5c6d7e8f';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const admin = basic('northwindmsp+cw-public-key-emulator', 'cw-private-key-emulator');
const readOnly = basic('NorthwindMSP+cw-readonly-public-key', 'cw-readonly-private-key');

/** The default scenario plus 60 generated companies, so lists span several pages. */
function testScenario(extra: Record<string, unknown> = {}) {
  const base = connectwiseEmulator.defaultScenario();
  const generated = Array.from({ length: 60 }, (_, i) => ({
    id: 300 + i,
    identifier: `Gen${i}`,
    name: `Generated Customer ${String(i).padStart(2, '0')}`,
    website: `gen${i}.example.com`,
  }));
  return connectwiseEmulator.parseScenario({
    ...base,
    companies: [...base.companies, ...generated],
    ...extra,
  });
}

interface Addition {
  id: number;
  agreementId: number;
  quantity: number;
  product: { id: number; identifier: string };
  billCustomer: string;
  effectiveDate?: string;
  cancelledDate?: string;
  agreementStatus?: string;
}

describe('the ConnectWise PSA emulator', () => {
  let emulator: RunningPsaEmulator<ConnectwiseState>;
  let http: AxiosInstance;
  let api: string;
  const get = (path: string, headers: Record<string, string> = {}) =>
    http.get<string>(`${api}${path}`, {
      headers: { Authorization: admin, clientId, ...headers },
    });
  const send = (method: string, path: string, data?: unknown, auth = admin) =>
    http.request<string>({
      method,
      url: `${api}${path}`,
      data: data === undefined ? undefined : JSON.stringify(data),
      headers: { Authorization: auth, clientId, 'Content-Type': 'application/json' },
    });
  const body = <T>(res: AxiosResponse<string>) => JSON.parse(res.data) as T;
  const ids = (res: AxiosResponse<string>) => body<{ id: number }[]>(res).map((r) => r.id);

  before(async () => {
    emulator = await startPsaEmulator(connectwiseEmulator, { scenario: testScenario() });
    http = createHttpClient({ extraCaFile: emulator.caFile });
    api = `${emulator.url}/v4_6_release/apis/3.0`;
  });
  after(() => emulator.stop());
  beforeEach(async () => {
    const reset = await http.put(`${emulator.url}/_emulator/scenario`, testScenario());
    expect(reset.status).to.equal(200);
  });

  describe('codebase discovery', () => {
    it('names the codebase without authentication, and answers null for an unknown company', async () => {
      const info = await http.get<string>(`${emulator.url}/login/companyinfo/NORTHWINDMSP`);
      expect(info.status).to.equal(200);
      expect(body<Record<string, unknown>>(info)).to.include({
        Codebase: 'v4_6_release/',
        CompanyID: 'northwindmsp',
        IsCloud: true,
      });
      const unknown = await http.get<string>(`${emulator.url}/login/companyinfo/nobody`);
      expect(unknown.status).to.equal(200);
      expect(unknown.data).to.equal('null');
    });

    it('serves the API under the codebase only, and moves it as an upgrade does', async () => {
      expect((await get('/system/info')).status).to.equal(200);
      const moved = await http.post(`${emulator.url}/_emulator/codebase`, { codebase: 'v2025_1/' });
      expect(moved.status).to.equal(200);
      const old = await get('/system/info');
      expect(old.status).to.equal(404);
      expect(body(old)).to.have.property('code', 'NotFound');
      const info = await http.get<string>(`${emulator.url}/login/companyinfo/northwindmsp`);
      expect(body<{ Codebase: string }>(info).Codebase).to.equal('v2025_1/');
      const fresh = await http.get(`${emulator.url}/v2025_1/apis/3.0/system/info`, {
        headers: { Authorization: admin, clientId },
      });
      expect(fresh.status).to.equal(200);
    });
  });

  describe('authentication', () => {
    const refusals: [string, Record<string, string>, RegExp][] = [
      ['no Authorization', { clientId }, /not valid/],
      [
        'a wrong private key',
        { Authorization: basic('northwindmsp+cw-public-key-emulator', 'x'), clientId },
        /not valid/,
      ],
      [
        'another company id',
        {
          Authorization: basic('contoso+cw-public-key-emulator', 'cw-private-key-emulator'),
          clientId,
        },
        /not valid/,
      ],
      [
        'no "+" between company and public key',
        { Authorization: basic('cw-public-key-emulator', 'cw-private-key-emulator'), clientId },
        /not valid/,
      ],
      ['no clientId', { Authorization: admin }, /clientId header is required/],
      ['an unknown clientId', { Authorization: admin, clientId: 'f00' }, /clientId is not valid/],
    ];
    for (const [what, headers, message] of refusals)
      it(`answers 401 Unauthorized to ${what}`, async () => {
        const res = await http.get<string>(`${api}/system/info`, { headers });
        expect(res.status).to.equal(401);
        const error = body<{ code: string; message: string }>(res);
        expect(error.code).to.equal('Unauthorized');
        expect(error.message).to.match(message);
      });

    it('accepts company+public:private with a clientId, and GET /system/info describes the site', async () => {
      const res = await get('/system/info');
      expect(res.status).to.equal(200);
      expect(body(res)).to.include({ isCloud: true, version: 'v2025.1.0' });
    });

    it('answers 403 when the member security role lacks the level, and lets it read', async () => {
      const read = await http.get<string>(`${api}/finance/agreements/1003/additions`, {
        headers: { Authorization: readOnly, clientId },
      });
      expect(read.status).to.equal(200);
      const write = await send(
        'PATCH',
        '/finance/agreements/1003/additions/5005',
        [{ op: 'replace', path: 'quantity', value: 3 }],
        readOnly,
      );
      expect(write.status).to.equal(403);
      expect(body<{ code: string; message: string }>(write)).to.deep.equal({
        code: 'Forbidden',
        message: "Security role 'Inquire Only' does not allow edit on Finance > Agreements.",
      });
      expect(emulator.state.additions.get(5005)?.quantity).to.equal(20);
    });
  });

  describe('model versions', () => {
    it('echoes api-current-version and serves the pinned model', async () => {
      const current = await get('/finance/agreements/1002');
      expect(current.headers['api-current-version']).to.equal('2025.1');
      expect(body(current)).to.deep.include({
        parentAgreement: { id: 1001, name: 'Contoso Managed Services' },
      });
      const old = await get('/finance/agreements/1002', {
        Accept: 'application/vnd.connectwise.com+json; version=2019.5',
      });
      expect(old.headers['api-current-version']).to.equal('2025.1');
      expect(body(old))
        .to.include({ parentAgreementId: 1001 })
        .and.not.have.property('parentAgreement');
      const pinned = await get('/finance/agreements/1002', {
        Accept: 'application/vnd.connectwise.com+json; version=2022.1',
      });
      expect(body(pinned)).to.have.property('parentAgreement');
    });

    it('refuses a malformed version with 400', async () => {
      const res = await get('/system/info', {
        Accept: 'application/vnd.connectwise.com+json; version=latest',
      });
      expect(res.status).to.equal(400);
      expect(body(res)).to.have.property('code', 'InvalidVersion');
    });
  });

  describe('conditions', () => {
    const companies = (conditions: string) =>
      get(`/company/companies?pageSize=1000&conditions=${encodeURIComponent(conditions)}`);
    const cases: [string, number[]][] = [
      ['id = 250', [250]],
      ['id != 250 and id < 253', [251, 252]],
      ['id > 357', [358, 359]],
      ['id >= 358 or id <= 250', [250, 358, 359]],
      ["name contains 'contoso'", [250]],
      ['name like "Generated Customer 5%"', [350, 351, 352, 353, 354, 355, 356, 357, 358, 359]],
      ["identifier in ('Contoso', \"Fabrikam\", 'nope')", [250, 251]],
      ['id < 256 and id not in (250, 251, 252)', [253, 254]],
      ["status/name = 'Inactive'", [254]],
      ["(id = 250 or id = 251) and website contains 'fabrikam'", [251]],
      ['id = 250 or id = 251 and deletedFlag = true', [250]],
      ['deletedFlag = false and id <= 251', [250, 251]],
    ];
    for (const [conditions, expected] of cases)
      it(`keeps ${JSON.stringify(expected)} for ${conditions}`, async () => {
        const res = await companies(conditions);
        expect(res.status).to.equal(200);
        expect(ids(res)).to.deep.equal(expected);
      });

    it('compares [dates] and nested paths on additions', async () => {
      const res = await get(
        `/finance/agreements/1002/additions?conditions=${encodeURIComponent('cancelledDate < [2025-07-01T00:00:00Z] and product/identifier = "O365_BUSINESS_PREMIUM"')}`,
      );
      expect(ids(res)).to.deep.equal([5004]);
      const open = await get(
        `/finance/agreements/1002/additions?conditions=${encodeURIComponent('cancelledDate = null')}`,
      );
      expect(ids(open)).to.deep.equal([5002, 5003]);
    });

    it('answers 400 to conditions it cannot read', async () => {
      for (const bad of [
        'id =',
        "name = 'open",
        'id = 1 and',
        '(id = 1',
        'id ~ 2',
        'lastUpdated > [yesterday]',
      ]) {
        const res = await companies(bad);
        expect(res.status, bad).to.equal(400);
        expect(body<{ message: string }>(res).message, bad).to.match(/^conditions: /);
      }
    });
  });

  describe('paging', () => {
    it('serves 25 by default, 1-based pages, with Link rel="next" and rel="last"', async () => {
      const first = await get('/company/companies');
      expect(ids(first)).to.have.length(25);
      expect(ids(first)[0]).to.equal(250);
      const link = first.headers.link as string;
      expect(link).to.match(/<([^>]+page=2[^>]*)>; rel="next"/);
      expect(link).to.match(/<([^>]+page=3[^>]*)>; rel="last"/);
      const next = /<([^>]+)>; rel="next"/.exec(link)![1]!;
      const second = await http.get<string>(next, { headers: { Authorization: admin, clientId } });
      expect(ids(second)[0]).to.equal(ids(first)[24]! + 1);
      const third = await get('/company/companies?page=3');
      expect(ids(third)).to.have.length(15);
      expect(third.headers.link).to.not.match(/rel="next"/);
      expect(third.headers.link).to.match(/rel="prev"/);
    });

    it('orders by orderBy and keeps only the fields asked for', async () => {
      const res = await get(
        '/company/companies?orderBy=name%20desc&pageSize=2&fields=id,name,status/name',
      );
      expect(body(res)).to.deep.equal([
        { id: 253, name: 'Tailspin Toys', status: { name: 'Active' } },
        { id: 254, name: 'Litware Inc', status: { name: 'Inactive' } },
      ]);
    });

    it('clamps pageSize above 1000 by default, refuses it when the scenario says reject', async () => {
      const clamped = await get('/company/companies?pageSize=5000');
      expect(clamped.status).to.equal(200);
      expect(ids(clamped)).to.have.length(65);
      await http.put(
        `${emulator.url}/_emulator/scenario`,
        testScenario({ oversizedPageSize: 'reject' }),
      );
      const refused = await get('/company/companies?pageSize=1001');
      expect(refused.status).to.equal(400);
      expect(body<{ message: string }>(refused).message).to.match(/1000/);
      expect((await get('/company/companies?pageSize=0')).status).to.equal(400);
      expect((await get('/company/companies?page=0')).status).to.equal(400);
    });

    it('pages forward-only by pageId with rel="next" alone', async () => {
      const seen: number[] = [];
      let url: string | undefined = `${api}/company/companies?pageSize=20`;
      while (url) {
        const res: AxiosResponse<string> = await http.get<string>(url, {
          headers: { Authorization: admin, clientId, 'pagination-type': 'forward-only' },
        });
        seen.push(...ids(res));
        const link = res.headers.link as string | undefined;
        expect(link ?? '').to.not.match(/rel="last"/);
        url = link && /<([^>]+)>; rel="next"/.exec(link)?.[1];
        if (url) expect(url).to.match(/pageId=\d+/);
      }
      expect(seen).to.have.length(65);
      expect(new Set(seen).size).to.equal(65);
    });

    it('counts with /count, honouring conditions', async () => {
      expect(body(await get('/company/companies/count'))).to.deep.equal({ count: 65 });
      expect(body(await get('/company/companies/count?conditions=id%3C300'))).to.deep.equal({
        count: 5,
      });
      expect(body(await get('/finance/agreements/1001/additions/count'))).to.deep.equal({
        count: 4,
      });
    });
  });

  describe('agreements and additions', () => {
    it("lists a parent agreement with its child agreements' additions, each carrying its own agreementId", async () => {
      const parent = body<Addition[]>(await get('/finance/agreements/1001/additions'));
      expect(parent.map((a) => [a.id, a.agreementId])).to.deep.equal([
        [5001, 1001],
        [5002, 1002],
        [5003, 1002],
        [5004, 1002],
      ]);
      const child = body<Addition[]>(await get('/finance/agreements/1002/additions'));
      expect(child.map((a) => a.id)).to.deep.equal([5002, 5003, 5004]);
      const agreements = body<{ id: number }[]>(
        await get('/finance/agreements?conditions=company/id%3D250'),
      );
      expect(agreements.map((a) => a.id)).to.deep.equal([1001, 1002]);
    });

    it('refuses an addition without product or with a bad billCustomer: 400 InvalidObject with errors[]', async () => {
      const res = await send('POST', '/finance/agreements/1003/additions', {
        quantity: 3,
        billCustomer: 'Sometimes',
      });
      expect(res.status).to.equal(400);
      const error = body<{
        code: string;
        message: string;
        errors: { field: string; code: string; resource: string }[];
      }>(res);
      expect(error.code).to.equal('InvalidObject');
      expect(error.message).to.equal('addition object is invalid');
      expect(error.errors.map((e) => [e.code, e.field, e.resource])).to.deep.equal([
        ['Required', 'product', 'addition'],
        ['InvalidValue', 'billCustomer', 'addition'],
      ]);
      const noBillCustomer = await send('POST', '/finance/agreements/1003/additions', {
        product: { id: 101 },
      });
      expect(body(noBillCustomer)).to.deep.include({
        errors: [
          {
            code: 'Required',
            message: 'The billCustomer field is required.',
            resource: 'addition',
            field: 'billCustomer',
          },
        ],
      });
      const unknown = await send('POST', '/finance/agreements/1003/additions', {
        product: { id: 999 },
        billCustomer: 'Billable',
      });
      expect(body<{ errors: { field: string }[] }>(unknown).errors[0]).to.include({
        field: 'product/id',
      });
      const inactive = await send('POST', '/finance/agreements/1003/additions', {
        product: { id: 203 },
        billCustomer: 'Billable',
      });
      expect(inactive.status).to.equal(400);
      expect(emulator.state.additions.size).to.equal(10);
    });

    it('adds an addition with the catalog price, and a PATCH returns the full object', async () => {
      const created = await send('POST', '/finance/agreements/1003/additions', {
        product: { id: 104 },
        billCustomer: 'Billable',
        quantity: 7,
        effectiveDate: '2026-12-01T00:00:00Z',
      });
      expect(created.status).to.equal(201);
      const addition = body<Addition & { unitPrice: number }>(created);
      expect(addition).to.include({
        agreementId: 1003,
        quantity: 7,
        unitPrice: 4,
        agreementStatus: 'Active',
      });
      const patched = await send('PATCH', `/finance/agreements/1003/additions/${addition.id}`, [
        { op: 'replace', path: '/quantity', value: 9 },
      ]);
      expect(patched.status).to.equal(200);
      expect(body(patched)).to.include({
        id: addition.id,
        quantity: 9,
        billCustomer: 'Billable',
        effectiveDate: '2026-12-01T00:00:00Z',
      });
      expect(body(patched)).to.have.nested.property('product.identifier', 'EXCHANGESTANDARD');
    });

    it('refuses a PATCH that is not an operation list, or names a field it cannot change', async () => {
      for (const ops of [
        { quantity: 3 },
        [],
        [{ op: 'move', path: 'quantity', value: 1 }],
        [{ op: 'replace', path: 'agreementId', value: 1 }],
        [{ op: 'replace', path: 'quantity', value: 'many' }],
      ]) {
        const res = await send('PATCH', '/finance/agreements/1003/additions/5005', ops);
        expect(res.status, JSON.stringify(ops)).to.equal(400);
        expect(body(res)).to.have.property('code', 'InvalidObject');
      }
      expect(emulator.state.additions.get(5005)?.quantity).to.equal(20);
    });

    it('is Cancelled from cancelledDate on, on the emulator clock', async () => {
      const now = Date.now();
      const tomorrow = new Date(now + 86_400_000).toISOString().slice(0, 10);
      const res = await send('PATCH', '/finance/agreements/1003/additions/5005', [
        { op: 'replace', path: 'cancelledDate', value: `${tomorrow}T00:00:00Z` },
      ]);
      expect(body(res)).to.include({
        cancelledDate: `${tomorrow}T00:00:00Z`,
        agreementStatus: 'Active',
      });
      await http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: 2 * 86_400 });
      const later = body<Addition>(await get('/finance/agreements/1003/additions/5005'));
      expect(later.agreementStatus).to.equal('Cancelled');
      expect(
        body<Addition>(await get('/finance/agreements/1002/additions/5004')).agreementStatus,
      ).to.equal('Cancelled');
    });

    it('replaces with PUT, deletes with 204, and writes only through the owning agreement', async () => {
      const put = await send('PUT', '/finance/agreements/1003/additions/5006', {
        product: { id: 202 },
        billCustomer: 'NoCharge',
        quantity: 21,
      });
      expect(body(put)).to.include({ billCustomer: 'NoCharge', quantity: 21 });
      const viaParent = await send('PATCH', '/finance/agreements/1001/additions/5002', [
        { op: 'replace', path: 'quantity', value: 1 },
      ]);
      expect(viaParent.status).to.equal(404);
      expect((await get('/finance/agreements/1001/additions/5002')).status).to.equal(200);
      const removed = await send('DELETE', '/finance/agreements/1003/additions/5006');
      expect(removed.status).to.equal(204);
      expect(removed.data).to.equal('');
      expect((await get('/finance/agreements/1003/additions/5006')).status).to.equal(404);
    });

    it('serves the procurement catalog with identifiers', async () => {
      const items = body<{ id: number; identifier: string; description: string }[]>(
        await get('/procurement/catalog?conditions=inactiveFlag%3Dfalse&pageSize=100'),
      );
      expect(items.map((i) => i.identifier)).to.include.members([
        'SPB',
        'EXCHANGESTANDARD',
        'MANAGED-USER',
      ]);
      expect(items.map((i) => i.id)).to.not.include(203);
      expect(body(await get('/procurement/catalog/101'))).to.include({
        description: 'Microsoft 365 Business Premium',
      });
    });
  });

  describe('limits and faults', () => {
    it('answers 429 with Retry-After once a member used its window, until the window passes', async () => {
      await http.put(
        `${emulator.url}/_emulator/scenario`,
        testScenario({ rateLimit: { requests: 3, windowSeconds: 60 } }),
      );
      for (let i = 0; i < 3; i += 1) expect((await get('/system/info')).status).to.equal(200);
      const limited = await get('/system/info');
      expect(limited.status).to.equal(429);
      expect(Number(limited.headers['retry-after'])).to.be.within(1, 60);
      expect(body(limited)).to.have.property('code', 'TooManyRequests');
      await http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: 61 });
      expect((await get('/system/info')).status).to.equal(200);
    });

    it('answers an injected fault in the ConnectWise error shape', async () => {
      await http.post(`${emulator.url}/_emulator/faults`, {
        path: '/v4_6_release/apis/3.0/finance/**',
        status: 503,
        count: 1,
      });
      const res = await get('/finance/agreements');
      expect(res.status).to.equal(503);
      expect(body(res)).to.deep.equal({
        code: 'UnexpectedServerError',
        message: 'Injected fault.',
      });
      expect((await get('/finance/agreements')).status).to.equal(200);
    });

    it('refuses a scenario that names a missing company or product, saying where', async () => {
      const base = connectwiseEmulator.defaultScenario();
      const res = await http.put<string>(`${emulator.url}/_emulator/scenario`, {
        ...base,
        agreements: [
          {
            ...base.agreements[0],
            companyId: 9,
            additions: [{ id: 1, productId: 9, quantity: 1 }],
          },
        ],
      });
      expect(res.status).to.equal(400);
      const { error } = body<{ error: string }>(res);
      expect(error).to.contain('agreements.0.companyId: no such company');
      expect(error).to.contain('agreements.0.additions.0.productId: no such catalog item');
    });
  });
});
