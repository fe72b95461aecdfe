import { inspect } from 'node:util';
import type { AxiosInstance } from 'axios';
import { expect } from 'chai';
import { connectwiseEmulator } from '../../emulator/psa/connectwise/index.js';
import type { ConnectwiseState } from '../../emulator/psa/connectwise/state.js';
import type { PsaRequestLogEntry } from '../../emulator/psa/base.js';
import { startPsaEmulator, type RunningPsaEmulator } from '../../emulator/psa/server.js';
import { createHttpClient } from '../../src/http-client.js';
import type { PsaClient } from '../../src/psa/client.js';
import {
  ConnectwiseConnectionError,
  connectwiseConnectionSchema,
  createConnectwiseClient,
} from '../../src/psa/connectwise/index.js';
import { PsaError } from '../../src/psa/errors.js';
import { closedPort } from '../support/redis.js';

// The ConnectWise client against the emulator over real HTTPS: what the billing sync relies
// on (src/psa/client.ts), each refusal classified, and what it wrote (the request log).

const privateKey = 'cw-private-key-emulator';

function testScenario(extra: Record<string, unknown> = {}) {
  const base = connectwiseEmulator.defaultScenario();
  return connectwiseEmulator.parseScenario({
    ...base,
    members: [
      ...base.members,
      {
        identifier: 'NoCompanies',
        publicKey: 'cw-nocompanies-public',
        privateKey: 'cw-nocompanies-private',
        securityRole: { name: 'Finance Only', companyMaintenance: [] },
      },
    ],
    companies: [
      ...base.companies,
      ...Array.from({ length: 30 }, (_, i) => ({
        id: 400 + i,
        identifier: `Bulk${i}`,
        name: `Bulk Customer ${i}`,
      })),
    ],
    ...extra,
  });
}

describe('the ConnectWise PSA client', () => {
  let emulator: RunningPsaEmulator<ConnectwiseState>;
  let http: AxiosInstance;
  const connection = (overrides: Record<string, unknown> = {}) => ({
    siteUrl: emulator.url,
    companyId: 'NorthwindMSP',
    publicKey: 'cw-public-key-emulator',
    privateKey,
    clientId: '3c7a1f52-8d4e-4b6a-9f0e-2a1b5c6d7e8f',
    ...overrides,
  });
  const client = (overrides: Record<string, unknown> = {}): PsaClient =>
    createConnectwiseClient(connection(overrides), { http });
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => expect.fail('expected a PsaError'),
      (error: unknown) => {
        expect(error).to.be.instanceOf(PsaError);
        return error as PsaError;
      },
    );
  const requestsSince = (id: number): PsaRequestLogEntry[] =>
    emulator.base.log.filter((e) => e.id > id);
  const lastLogId = () => emulator.base.log.at(-1)?.id ?? 0;
  const writes = (entries: PsaRequestLogEntry[]) => entries.filter((e) => e.method !== 'GET');

  before(async () => {
    emulator = await startPsaEmulator(connectwiseEmulator, { scenario: testScenario() });
    http = createHttpClient({ extraCaFile: emulator.caFile });
  });
  after(() => emulator.stop());
  beforeEach(async () => {
    expect((await http.put(`${emulator.url}/_emulator/scenario`, testScenario())).status).to.equal(
      200,
    );
  });

  describe('testConnection', () => {
    it('describes a good connection', async () => {
      const { description } = await client().testConnection();
      expect(description).to.equal(
        'Northwind MSP: ConnectWise PSA v2025.1.0, codebase v4_6_release/',
      );
    });

    const cases: [
      string,
      () => Record<string, unknown> | Promise<Record<string, unknown>>,
      string,
      string,
      RegExp,
    ][] = [
      [
        'an address nothing answers at',
        async () => ({ siteUrl: `https://127.0.0.1:${await closedPort()}` }),
        'address',
        'transient',
        /ECONNREFUSED/,
      ],
      [
        'an unknown company id',
        () => ({ companyId: 'contoso' }),
        'company',
        'credentials',
        /"contoso" is not known/,
      ],
      [
        'a wrong private key',
        () => ({ privateKey: 'nope' }),
        'credentials',
        'credentials',
        /^Authentication failed/,
      ],
      [
        'an unknown clientId',
        () => ({ clientId: 'not-ours' }),
        'credentials',
        'credentials',
        /^The clientId is not valid\.$/,
      ],
      [
        'a member whose role cannot read companies',
        () => ({ publicKey: 'cw-nocompanies-public', privateKey: 'cw-nocompanies-private' }),
        'permission',
        'permission',
        /'Finance Only' does not allow inquire on Companies > Company Maintenance/,
      ],
    ];
    for (const [what, overrides, part, kind, message] of cases)
      it(`says ${part} for ${what}`, async () => {
        const error = await failure(client(await overrides()).testConnection());
        expect(error).to.be.instanceOf(ConnectwiseConnectionError);
        expect(error).to.include({ part, kind });
        expect(error.message).to.match(message);
        expect(inspect(error)).to.not.contain(privateKey);
      });

    it('says address when the site does not answer as ConnectWise', async () => {
      await http.post(`${emulator.url}/_emulator/faults`, {
        path: '/login/**',
        status: 404,
        count: 1,
      });
      const error = await failure(client().testConnection());
      expect(error).to.include({ part: 'address', kind: 'not_found' });
      expect(error.message).to.match(/does not answer as a ConnectWise PSA site/);
    });
  });

  describe('reading', () => {
    it('lists every company across pages, with domains from the website', async () => {
      const before = lastLogId();
      const companies = await client({ pageSize: 10 }).listCompanies();
      expect(companies).to.have.length(35);
      expect(new Set(companies.map((c) => c.id)).size).to.equal(35);
      expect(companies.slice(0, 5)).to.deep.equal([
        { id: '250', name: 'Contoso Ltd', domains: ['contoso.com'], active: true },
        { id: '251', name: 'Fabrikam Inc', domains: ['fabrikam.com'], active: true },
        {
          id: '252',
          name: 'Adventure Works Cycles',
          domains: ['adventure-works.com'],
          active: true,
        },
        { id: '253', name: 'Tailspin Toys', domains: ['tailspintoys.com'], active: true },
        { id: '254', name: 'Litware Inc', domains: ['litware.com'], active: false },
      ]);
      const pages = requestsSince(before).filter((e) => e.path.endsWith('/company/companies'));
      expect(pages).to.have.length(4);
    });

    it('lists active catalog items with their identifier as code', async () => {
      const products = await client({ pageSize: 3 }).listProducts();
      expect(products).to.have.length(8);
      expect(products[0]).to.deep.equal({
        id: '101',
        name: 'Microsoft 365 Business Premium',
        code: 'SPB',
      });
      expect(products.map((p) => p.code)).to.not.include('BACKUP-M365');
    });

    it('lists the agreements of a company as containers', async () => {
      expect(await client().listContainers('250')).to.deep.equal([
        { id: '1001', companyId: '250', name: 'Contoso Managed Services' },
        { id: '1002', companyId: '250', name: 'Contoso Microsoft 365' },
      ]);
    });

    it('reports each addition once although the parent agreement shows its child additions too', async () => {
      const lines = await client({ pageSize: 2 }).listLines('250');
      expect(
        lines.map((l) => [l.id, l.containerId, l.productId, l.quantity, l.cancelled]),
      ).to.deep.equal([
        ['5001', '1001', '201', 48, false],
        ['5002', '1002', '101', 45, false],
        ['5003', '1002', '104', 12, false],
        ['5004', '1002', '102', 5, true],
      ]);
      expect(lines[1]).to.include({
        companyId: '250',
        productName: 'Microsoft 365 Business Premium',
      });
    });

    it('calls the pacing hook around each request, naming the entity', async () => {
      const held: string[] = [];
      let open = 0;
      const paced = createConnectwiseClient(connection(), {
        http,
        hooks: {
          acquire: (entity) => {
            held.push(entity);
            open += 1;
            return Promise.resolve(() => {
              open -= 1;
            });
          },
        },
      });
      await paced.listLines('251');
      expect(held).to.deep.equal(['companyinfo', 'agreements', 'additions']);
      expect(open).to.equal(0);
    });

    it('reads the codebase again after a 404 when an upgrade moved it', async () => {
      const cw = client();
      await cw.listContainers('251');
      await http.post(`${emulator.url}/_emulator/codebase`, { codebase: 'v2026_1/' });
      const before = lastLogId();
      expect(await cw.listContainers('251')).to.have.length(1);
      expect(requestsSince(before).map((e) => [e.status, e.path.split('/apis')[0]])).to.deep.equal([
        [404, '/v4_6_release'],
        [200, '/login/companyinfo/NorthwindMSP'],
        [200, '/v2026_1'],
      ]);
    });
  });

  describe('setQuantity', () => {
    const change = {
      containerId: '1002',
      productId: '101',
      target: 50,
      effectiveDate: '2026-12-01',
    };

    it('PATCHes the quantity after reading it, and a repeat writes nothing', async () => {
      const cw = client();
      const before = lastLogId();
      expect(await cw.setQuantity(change)).to.deep.equal({
        lineId: '5002',
        before: 45,
        after: 50,
        responseId: '5002',
        alreadyApplied: false,
      });
      const written = writes(requestsSince(before));
      expect(written.map((e) => [e.method, e.path, e.body])).to.deep.equal([
        [
          'PATCH',
          '/v4_6_release/apis/3.0/finance/agreements/1002/additions/5002',
          [
            { op: 'replace', path: 'quantity', value: 50 },
            { op: 'replace', path: 'prorateCurrentPeriodFlag', value: true },
          ],
        ],
      ]);
      const again = lastLogId();
      expect(await cw.setQuantity(change)).to.include({
        alreadyApplied: true,
        before: 50,
        after: 50,
      });
      expect(writes(requestsSince(again))).to.deep.equal([]);
      expect(requestsSince(again).length).to.be.greaterThan(0);
    });

    it('changes the named line, writing through the agreement that owns it', async () => {
      const result = await client().setQuantity({
        ...change,
        containerId: '1001',
        lineId: '5003',
        productId: '104',
        target: 13,
      });
      expect(result).to.include({ lineId: '5003', before: 12, after: 13 });
      expect(emulator.state.additions.get(5003)?.quantity).to.equal(13);
    });

    it('adds an addition with the effective date when the agreement has none for the product', async () => {
      const cw = client();
      const before = lastLogId();
      const result = await cw.setQuantity({
        containerId: '1003',
        productId: '104',
        target: 6,
        effectiveDate: '2026-12-01',
      });
      expect(result).to.include({ before: 0, after: 6, alreadyApplied: false });
      const [post] = writes(requestsSince(before));
      expect(post).to.include({
        method: 'POST',
        path: '/v4_6_release/apis/3.0/finance/agreements/1003/additions',
        status: 201,
      });
      expect(post?.body).to.deep.equal({
        product: { id: 104 },
        billCustomer: 'Billable',
        quantity: 6,
        effectiveDate: '2026-12-01T00:00:00Z',
        prorateCurrentPeriodFlag: true,
      });
      const again = lastLogId();
      expect(
        await cw.setQuantity({
          containerId: '1003',
          productId: '104',
          target: 6,
          effectiveDate: '2026-12-01',
        }),
      ).to.include({
        lineId: result.lineId,
        alreadyApplied: true,
      });
      expect(writes(requestsSince(again))).to.deep.equal([]);
    });

    it('does not take a child agreement addition for the parent agreement line', async () => {
      const result = await client().setQuantity({
        containerId: '1001',
        productId: '101',
        target: 3,
        effectiveDate: '2026-12-01',
      });
      expect(result.lineId).to.not.equal('5002');
      expect(emulator.state.additions.get(Number(result.lineId))?.agreementId).to.equal(1001);
      expect(emulator.state.additions.get(5002)?.quantity).to.equal(45);
    });

    it('adds a new addition when the product line was cancelled', async () => {
      const result = await client().setQuantity({
        containerId: '1002',
        productId: '102',
        target: 4,
        effectiveDate: '2026-12-01',
      });
      expect(result.lineId).to.not.equal('5004');
      expect(result).to.include({ before: 0, after: 4 });
      expect(emulator.state.additions.get(5004)?.quantity).to.equal(5);
    });

    it('surfaces a validation refusal verbatim', async () => {
      const error = await failure(
        client().setQuantity({
          containerId: '1003',
          productId: '203',
          target: 2,
          effectiveDate: '2026-12-01',
        }),
      );
      expect(error).to.include({ kind: 'validation', status: 400 });
      expect(error.message).to.equal(
        "addition object is invalid (product: Product 'BACKUP-M365' is inactive.)",
      );
    });

    it('says permission when the member role cannot edit agreements', async () => {
      const error = await failure(
        client({
          publicKey: 'cw-readonly-public-key',
          privateKey: 'cw-readonly-private-key',
        }).setQuantity(change),
      );
      expect(error).to.include({ kind: 'permission', status: 403 });
      expect(error.message).to.equal(
        "Security role 'Inquire Only' does not allow edit on Finance > Agreements.",
      );
    });
  });

  describe('cancelLine', () => {
    const line = { containerId: '1003', productId: '102', lineId: '5005' };

    it('sets cancelledDate, keeps the addition, never DELETEs, and a repeat writes nothing', async () => {
      const cw = client();
      const before = lastLogId();
      expect(await cw.cancelLine(line, '2026-11-30')).to.deep.equal({
        lineId: '5005',
        before: 20,
        after: 0,
        responseId: '5005',
        alreadyApplied: false,
      });
      const written = writes(requestsSince(before));
      expect(written.map((e) => [e.method, e.body])).to.deep.equal([
        ['PATCH', [{ op: 'replace', path: 'cancelledDate', value: '2026-11-30T00:00:00Z' }]],
      ]);
      expect(emulator.state.additions.get(5005)).to.include({
        quantity: 20,
        cancelledDate: '2026-11-30T00:00:00Z',
      });
      const again = lastLogId();
      expect(await cw.cancelLine(line, '2026-11-30')).to.include({ alreadyApplied: true });
      expect(writes(requestsSince(again))).to.deep.equal([]);
      expect(emulator.base.log.filter((e) => e.method === 'DELETE')).to.deep.equal([]);
    });

    it('says not_found for an addition that is gone', async () => {
      const error = await failure(client().cancelLine({ ...line, lineId: '999999' }, '2026-11-30'));
      expect(error).to.include({ kind: 'not_found', status: 404 });
    });
  });

  describe('failures', () => {
    it('says rate_limited with retryAfterMs on a 429', async () => {
      await http.put(
        `${emulator.url}/_emulator/scenario`,
        testScenario({ rateLimit: { requests: 1, windowSeconds: 30 } }),
      );
      const cw = client();
      await cw.listContainers('251');
      const error = await failure(cw.listContainers('251'));
      expect(error).to.include({ kind: 'rate_limited', status: 429 });
      expect(error.retryAfterMs).to.be.within(1_000, 30_000);
      await http.post(`${emulator.url}/_emulator/faults`, {
        path: '/**/finance/**',
        status: 429,
        retryAfterSec: 7,
        count: 1,
      });
      await http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: 31 });
      expect(await failure(cw.listContainers('251'))).to.include({ retryAfterMs: 7_000 });
    });

    it('says transient on a 5xx', async () => {
      await http.post(`${emulator.url}/_emulator/faults`, {
        path: '/**/additions',
        status: 502,
        count: 1,
      });
      const error = await failure(client().listLines('251'));
      expect(error).to.include({ kind: 'transient', status: 502, message: 'Injected fault.' });
    });

    it('says credentials for broken keys on any call, without the secret in the error', async () => {
      const error = await failure(client({ privateKey: 'wrong-private-key' }).listCompanies());
      expect(error).to.include({ kind: 'credentials', status: 401 });
      expect(inspect(error, { depth: 5 })).to.not.match(/wrong-private-key|Basic /);
    });
  });

  it('validates the connection settings with their defaults', () => {
    const parsed = connectwiseConnectionSchema.parse(
      connection({ siteUrl: 'https://na.myconnectwise.net' }),
    );
    expect(parsed).to.include({
      apiVersion: '2025.1',
      pageSize: 1000,
      newAdditionBillCustomer: 'Billable',
    });
    expect(
      connectwiseConnectionSchema.safeParse(connection({ siteUrl: 'http://cw.example.com' }))
        .success,
    ).to.equal(false);
    expect(connectwiseConnectionSchema.safeParse(connection({ pageSize: 5000 })).success).to.equal(
      false,
    );
  });
});
