import { expect } from 'chai';
import { autotaskEmulator, type AutotaskScenario } from '../../emulator/psa/autotask/index.js';
import { startPsaEmulator } from '../../emulator/psa/server.js';
import { createHttpClient } from '../../src/http-client.js';
import { createAutotaskClient } from '../../src/psa/autotask/client.js';
import type { AutotaskConnectionInput } from '../../src/psa/autotask/connection.js';
import type { PsaClient } from '../../src/psa/client.js';
import { PsaError } from '../../src/psa/errors.js';
import { closedPort } from '../support/redis.js';

// The Autotask client against the emulator over HTTPS: the zone, paging, lines from period
// rows, adjustments that are never applied twice, and every failure classified.

const secret = 'emulator-secret-1';
const contoso = { company: '174', contract: '29684183' };

async function start(change: (s: AutotaskScenario) => void = () => {}) {
  const scenario = autotaskEmulator.defaultScenario();
  scenario.startAt = '2026-12-10T12:00:00Z';
  change(scenario);
  const emulator = await startPsaEmulator(autotaskEmulator, { scenario });
  const http = createHttpClient({ extraCaFile: emulator.caFile });
  const entities: string[] = [];
  const client = (connection: Partial<AutotaskConnectionInput> = {}): PsaClient =>
    createAutotaskClient(
      {
        userName: 'licensesync@contoso-msp.example',
        secret,
        integrationCode: 'LICSYNC7EMULATORCODE0000001',
        zoneLookupUrl: `${emulator.url}/atservicesrest/`,
        pageSize: 2,
        ...connection,
      },
      {
        http,
        now: () => emulator.base.now(),
        hooks: {
          acquire: (entity) => {
            entities.push(entity);
            return Promise.resolve(() => {});
          },
        },
      },
    );
  const control = (path: string, body: unknown) =>
    http.post(`${emulator.url}/_emulator${path}`, JSON.stringify(body), {
      headers: { 'Content-Type': 'application/json' },
    });
  const log = (since = 0) => emulator.base.log.filter((e) => e.id > since);
  const lastLogId = () => emulator.base.log.at(-1)?.id ?? 0;
  return { emulator, client, control, log, lastLogId, entities };
}

async function failure(promise: Promise<unknown>): Promise<PsaError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(PsaError);
  expect((error as Error).message).to.not.contain(secret);
  return error as PsaError;
}

describe('Autotask client: connection checks and failures', () => {
  let t: Awaited<ReturnType<typeof start>>;
  before(async () => (t = await start()));
  after(() => t.emulator.stop());

  it('testConnection looks the zone up and reads every entity the sync uses', async () => {
    const { description } = await t.client().testConnection();
    expect(description).to.contain('America East 5').and.contain('6 companies');
  });

  it('testConnection says which part is wrong: user, secret, integration code, permission, address', async () => {
    const unknown = await failure(t.client({ userName: 'nobody@example.com' }).testConnection());
    expect(unknown.kind).to.equal('credentials');
    expect(unknown.message).to.contain('zone lookup');
    for (const wrong of [{ secret: 'wrong-secret' }, { integrationCode: 'NOTOURS' }]) {
      const error = await failure(t.client(wrong).testConnection());
      expect(error.kind).to.equal('credentials');
      expect(error.message).to.contain('secret or integration code');
    }
    const readonly = await failure(
      t
        .client({ userName: 'readonly@contoso-msp.example', secret: 'emulator-secret-2' })
        .testConnection(),
    );
    expect(readonly.kind).to.equal('permission');
    expect(readonly.message)
      .to.contain('ContractServiceUnits')
      .and.contain('does not have the adequate permissions');
    const unreachable = await failure(
      t
        .client({ zoneLookupUrl: `https://127.0.0.1:${await closedPort()}/atservicesrest/` })
        .testConnection(),
    );
    expect(unreachable.kind).to.equal('transient');
    expect(unreachable.message).to.contain('address').and.contain('ECONNREFUSED');
    const notAutotask = await failure(
      t.client({ zoneLookupUrl: `${t.emulator.url}/elsewhere/` }).testConnection(),
    );
    expect(notAutotask.kind).to.equal('credentials');
    expect(notAutotask.message).to.contain('did not answer as Autotask');
  });

  it('classifies broken credentials on a listing as credentials', async () => {
    expect((await failure(t.client({ secret: 'revoked' }).listCompanies())).kind).to.equal(
      'credentials',
    );
  });

  it('classifies 429 as rate_limited with retryAfterMs, and 5xx or a 500 on a read as transient', async () => {
    await t.control('/faults', { path: '/zone5/**', status: 429, retryAfterSec: 7, count: 1 });
    const limited = await failure(t.client().listCompanies());
    expect(limited).to.include({ kind: 'rate_limited', retryAfterMs: 7000, status: 429 });
    await t.control('/faults', { path: '/zone5/**', status: 503, count: 1 });
    expect((await failure(t.client().listProducts())).kind).to.equal('transient');
    await t.control('/faults', {
      path: '/zone5/**',
      status: 500,
      message: 'Internal error.',
      count: 1,
    });
    const read = await failure(t.client().listProducts());
    expect(read).to.include({ kind: 'transient', message: 'Internal error.' });
  });

  it('re-resolves the zone once when a call is refused with 401 because the database moved', async () => {
    const client = t.client();
    await client.listProducts();
    await t.control('/move-user', { userName: 'licensesync@contoso-msp.example', zone: 'zone15' });
    try {
      const since = t.lastLogId();
      expect(await client.listProducts()).to.have.lengthOf(7);
      const paths = t.log(since).map((e) => `${e.status} ${e.path}`);
      expect(paths[0]).to.equal('401 /zone5/atservicesrest/v1.0/Services/query');
      expect(paths[1]).to.match(/^200 \/atservicesrest\/v1.0\/zoneInformation$/);
      expect(paths.slice(2).every((p) => p.startsWith('200 /zone15/'))).to.equal(true);
    } finally {
      await t.control('/move-user', { userName: 'licensesync@contoso-msp.example', zone: 'zone5' });
    }
  });
});

describe('Autotask client: limits', () => {
  it('classifies the hourly limit (429 with Retry-After) and the thread threshold (a 500 by text) as rate_limited', async () => {
    const t = await start(
      (s) =>
        (s.limits = {
          ...s.limits,
          requestsPerHour: 5,
          slowDelayMs: 0,
          threadLimit: 1,
          holdMs: 200,
        }),
    );
    try {
      const threads = await Promise.allSettled([
        t.client().listProducts(),
        t.client().listProducts(),
      ]);
      const refused = threads.find((r) => r.status === 'rejected');
      expect(refused?.status).to.equal('rejected');
      const thread = (refused as PromiseRejectedResult).reason as PsaError;
      expect(thread).to.include({ kind: 'rate_limited', status: 500 });
      expect(thread.message).to.match(/^Thread Threshold Exceeded/);
      const hourly = await failure(t.client().listCompanies());
      expect(hourly.kind).to.equal('rate_limited');
      expect(hourly.retryAfterMs).to.be.above(3_000_000);
    } finally {
      await t.emulator.stop();
    }
  });
});

describe('Autotask client: listings and quantities', () => {
  let t: Awaited<ReturnType<typeof start>>;
  beforeEach(async () => (t = await start()));
  afterEach(() => t.emulator.stop());

  it('lists companies with their domains across pages, paced per entity', async () => {
    const since = t.lastLogId();
    const companies = await t.client().listCompanies();
    expect(companies.map((c) => [c.name, c.domains, c.active])).to.deep.equal([
      ['Contoso Ltd', ['contoso.com'], true],
      ['Fabrikam, Inc.', ['fabrikam.com'], true],
      ['Northwind Traders', ['northwindtraders.com'], true],
      ['Adventure Works Cycles', ['adventure-works.com'], true],
      ['Tailspin Toys', ['tailspintoys.com'], false],
      ['Litware Supplies', [], true],
    ]);
    const pages = t.log(since).filter((e) => e.path.includes('/Companies/query'));
    expect(pages.map((e) => `${e.method} ${e.path.replace(/^.*Companies/, '')}`)).to.deep.equal([
      'POST /query',
      'POST /query/next',
      'POST /query/next',
    ]);
    expect(t.entities).to.include.members(['ZoneInformation', 'Companies']);
  });

  it('lists services as products, recurring contracts as containers, and lines with the current period units', async () => {
    const client = t.client();
    const products = await client.listProducts();
    expect(products).to.have.lengthOf(7);
    expect(products[0]).to.deep.equal({
      id: '301',
      name: 'Microsoft 365 Business Premium',
      code: 'Microsoft 365 Business Premium',
    });
    expect((await client.listContainers('176')).map((c) => c.name)).to.deep.equal([
      'Northwind - Managed Services',
    ]);
    const lines = await client.listLines(contoso.company);
    expect(lines.map((l) => [l.productName, l.quantity, l.cancelled])).to.deep.equal([
      ['Microsoft 365 Business Premium', 25, false],
      ['Exchange Online (Plan 1)', 5, false],
      ['Managed Backup (per user)', 30, false],
    ]);
    expect(lines[0]).to.include({
      companyId: '174',
      containerId: contoso.contract,
      productId: '301',
    });
  });

  it('setQuantity posts one delta adjustment, and a repeat writes nothing', async () => {
    const client = t.client();
    const change = {
      containerId: contoso.contract,
      productId: '301',
      target: 28,
      effectiveDate: '2026-12-10',
    };
    const since = t.lastLogId();
    const applied = await client.setQuantity(change);
    expect(applied).to.include({ before: 25, after: 28, alreadyApplied: false });
    const posts = t.log(since).filter((e) => e.path.endsWith('/ContractServiceAdjustments'));
    expect(posts).to.have.lengthOf(1);
    expect(posts[0]?.body).to.include({ unitChange: 3, effectiveDate: '2026-12-10T00:00:00Z' });
    expect(applied.responseId).to.equal(String(t.emulator.state.adjustments.at(-1)?.id));
    expect((await client.listLines(contoso.company))[0]?.quantity).to.equal(28);

    const again = t.lastLogId();
    const repeat = await client.setQuantity(change);
    expect(repeat).to.include({
      before: 28,
      after: 28,
      alreadyApplied: true,
      lineId: applied.lineId,
    });
    expect(
      t.log(again).filter((e) => e.method !== 'GET' && !e.path.includes('/query')),
    ).to.deep.equal([]);
  });

  it('adds a line when the contract does not bill the product yet', async () => {
    const client = t.client();
    const applied = await client.setQuantity({
      containerId: contoso.contract,
      productId: '305',
      target: 12,
      effectiveDate: '2026-12-10',
    });
    expect(applied).to.include({ before: 0, after: 12, alreadyApplied: false });
    const line = (await client.listLines(contoso.company)).find((l) => l.productId === '305');
    expect(line).to.include({ id: applied.lineId, quantity: 12, productName: 'Microsoft 365 E3' });
  });

  it('cancelLine adjusts down to zero and keeps the history: never a DELETE', async () => {
    const client = t.client();
    const line = (await client.listLines(contoso.company)).find((l) => l.productId === '304');
    const since = t.lastLogId();
    const cancelled = await client.cancelLine(
      { containerId: contoso.contract, productId: '304', lineId: line?.id ?? '' },
      '2026-12-10',
    );
    expect(cancelled).to.include({ before: 5, after: 0, alreadyApplied: false });
    expect(t.log(since).some((e) => e.method === 'DELETE')).to.equal(false);
    expect((await client.listLines(contoso.company)).find((l) => l.productId === '304')).to.include(
      {
        quantity: 0,
        cancelled: true,
      },
    );
    const history = t.emulator.state.units.filter((u) => String(u.contractServiceID) === line?.id);
    expect(history.find((u) => u.startDate.startsWith('2026-12-01'))?.units).to.equal(5);
  });

  it("surfaces a refused adjustment as validation with Autotask's own words", async () => {
    await t.control('/approve-and-post', {
      contractID: Number(contoso.contract),
      through: '2026-12-31',
    });
    const error = await failure(
      t.client().setQuantity({
        containerId: contoso.contract,
        productId: '301',
        target: 30,
        effectiveDate: '2026-12-10',
      }),
    );
    expect(error).to.include({
      kind: 'validation',
      status: 500,
      message:
        'Unable to make changes as it would result in the deletion/modification of an already approved and posted contract period.',
    });
  });
});
