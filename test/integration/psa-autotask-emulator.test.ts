import { expect } from 'chai';
import { autotaskEmulator, type AutotaskScenario } from '../../emulator/psa/autotask/index.js';
import { startPsaEmulator } from '../../emulator/psa/server.js';
import { createHttpClient } from '../../src/http-client.js';

// The Autotask emulator over real HTTPS with raw requests, one checklist point per block.

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  body: Json;
  headers: Record<string, unknown>;
}
interface Page {
  items: Json[];
  pageDetails: {
    count: number;
    requestCount: number;
    nextPageUrl: string | null;
    prevPageUrl: string | null;
  };
}

const user = 'licensesync@contoso-msp.example';
const credentials = {
  ApiIntegrationCode: 'LICSYNC7EMULATORCODE0000001',
  UserName: user,
  Secret: 'emulator-secret-1',
};
const all = [{ op: 'exist', field: 'id' }];

async function start(change: (s: AutotaskScenario) => void = () => {}) {
  const scenario = autotaskEmulator.defaultScenario();
  scenario.startAt = '2026-12-10T12:00:00Z';
  change(scenario);
  const emulator = await startPsaEmulator(autotaskEmulator, { scenario });
  const http = createHttpClient({ extraCaFile: emulator.caFile });
  const zone = `${emulator.url}/zone5/atservicesrest/v1.0`;
  const call = async (
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = credentials,
  ): Promise<Answer> => {
    const res = await http.request({
      method,
      url: url.startsWith('https:') ? url : `${zone}${url}`,
      data: body === undefined ? undefined : JSON.stringify(body),
      headers: { ...headers, 'Content-Type': 'application/json' },
    });
    return {
      status: res.status,
      body: JSON.parse(res.data as string) as Json,
      headers: res.headers,
    };
  };
  const query = async (entity: string, model: Json) => {
    const answer = await call('POST', `/${entity}/query`, model);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    return answer.body as unknown as Page;
  };
  return { emulator, http, zone, call, query };
}

describe('Autotask emulator: zones, credentials, permissions', () => {
  let t: Awaited<ReturnType<typeof start>>;
  before(async () => (t = await start()));
  after(() => t.emulator.stop());

  it('answers the zone lookup without credentials, in any casing, with a URL that points at the zone', async () => {
    const a = await t.call(
      'GET',
      `${t.emulator.url}/atservicesrest/v1.0/zoneInformation?user=${user}`,
      undefined,
      {},
    );
    expect(a.status).to.equal(200);
    expect(a.body).to.deep.equal({
      zoneName: 'America East 5',
      url: `${t.emulator.url}/zone5/atservicesrest/`,
      webUrl: `${t.emulator.url}/zone5/`,
      ci: 5,
    });
    const b = await t.call(
      'GET',
      `${t.emulator.url}/ATServicesRest/V1.0/ZoneInformation?user=${user.toUpperCase()}`,
      undefined,
      {},
    );
    expect(b.body.url).to.equal(a.body.url);
    const version = await t.call(
      'GET',
      `${t.emulator.url}/atservicesrest/versioninformation`,
      undefined,
      {},
    );
    expect(version.body).to.deep.equal({ apiVersions: ['1.0'] });
  });

  it('answers 500 with errors[] to an unknown or blank user', async () => {
    for (const who of ['nobody@example.com', '']) {
      const a = await t.call(
        'GET',
        `${t.emulator.url}/atservicesrest/v1.0/zoneInformation?user=${who}`,
        undefined,
        {},
      );
      expect(a.status).to.equal(500);
      expect(a.body.errors).to.be.an('array').with.lengthOf(1);
    }
  });

  it('refuses with 401 a call missing any of the three headers, a wrong secret, the lookup host, or another zone', async () => {
    for (const missing of Object.keys(credentials)) {
      const headers = Object.fromEntries(
        Object.entries(credentials).filter(([k]) => k !== missing),
      );
      expect((await t.call('GET', '/Companies/174', undefined, headers)).status, missing).to.equal(
        401,
      );
    }
    expect(
      (await t.call('GET', '/Companies/174', undefined, { ...credentials, Secret: 'wrong' }))
        .status,
    ).to.equal(401);
    expect(
      (
        await t.call('GET', '/Companies/174', undefined, {
          ...credentials,
          ApiIntegrationCode: 'OTHER',
        })
      ).status,
    ).to.equal(401);
    expect(
      (await t.call('GET', `${t.emulator.url}/atservicesrest/v1.0/Companies/174`)).status,
    ).to.equal(401);
    expect(
      (await t.call('GET', `${t.emulator.url}/zone15/atservicesrest/v1.0/Companies/174`)).status,
    ).to.equal(401);
    const ok = await t.call('GET', '/Companies/174');
    expect(ok.status).to.equal(200);
    expect((ok.body.item as Json).companyName).to.equal('Contoso Ltd');
  });

  it('follows a user moved to another zone: the old zone refuses, the lookup names the new one', async () => {
    await t.call('POST', `${t.emulator.url}/_emulator/move-user`, {
      userName: user,
      zone: 'zone15',
    });
    try {
      expect((await t.call('GET', '/Companies/174')).status).to.equal(401);
      const lookup = await t.call(
        'GET',
        `${t.emulator.url}/atservicesrest/v1.0/zoneInformation?user=${user}`,
      );
      expect(lookup.body.url).to.equal(`${t.emulator.url}/zone15/atservicesrest/`);
      expect(
        (await t.call('GET', `${t.emulator.url}/zone15/atservicesrest/v1.0/Companies/174`)).status,
      ).to.equal(200);
    } finally {
      await t.call('POST', `${t.emulator.url}/_emulator/move-user`, {
        userName: user,
        zone: 'zone5',
      });
    }
  });

  it('answers a user without permission on an entity with the permission text as a 500', async () => {
    const readonly = {
      ...credentials,
      UserName: 'readonly@contoso-msp.example',
      Secret: 'emulator-secret-2',
    };
    const a = await t.call('POST', '/ContractServiceUnits/query', { filter: all }, readonly);
    expect(a.status).to.equal(500);
    expect((a.body.errors as string[])[0]).to.match(
      /^The logged in Resource does not have the adequate permissions/,
    );
    expect((await t.call('POST', '/Companies/query', { filter: all }, readonly)).status).to.equal(
      200,
    );
  });
});

describe('Autotask emulator: scenario', () => {
  it('refuses an invalid scenario with a 400 naming each problem by its path', async () => {
    const t = await start();
    try {
      const scenario = autotaskEmulator.defaultScenario();
      const bad = {
        ...scenario,
        apiUsers: [{ ...scenario.apiUsers[0], zone: 'zone99' }],
        contracts: [{ ...scenario.contracts[0], services: [{ serviceID: 999, units: 1 }] }],
      };
      const a = await t.call('PUT', `${t.emulator.url}/_emulator/scenario`, bad);
      expect(a.status).to.equal(400);
      expect(a.body.error)
        .to.contain('apiUsers.0.zone: no zone with path zone99')
        .and.contain('contracts.0.services.0.serviceID: unknown service');
    } finally {
      await t.emulator.stop();
    }
  });
});

describe('Autotask emulator: queries, paging, counts, items, field information', () => {
  let t: Awaited<ReturnType<typeof start>>;
  before(async () => (t = await start()));
  after(() => t.emulator.stop());
  const ids = (page: Page) => page.items.map((i) => i.id);

  it('applies every filter operator, and/or groups, and answers GET ?search= as POST does', async () => {
    const cases: [Json[], number[]][] = [
      [[{ op: 'eq', field: 'companyName', value: 'contoso ltd' }], [174]],
      [[{ op: 'noteq', field: 'isActive', value: true }], [178]],
      [[{ op: 'gt', field: 'id', value: 177 }], [178, 179]],
      [
        [
          { op: 'gte', field: 'id', value: 177 },
          { op: 'lt', field: 'id', value: 179 },
        ],
        [177, 178],
      ],
      [[{ op: 'lte', field: 'id', value: 175 }], [174, 175]],
      [[{ op: 'beginsWith', field: 'companyName', value: 'North' }], [176]],
      [[{ op: 'endsWith', field: 'webAddress', value: '.com/' }], [176]],
      [[{ op: 'contains', field: 'webAddress', value: 'works' }], [177]],
      [[{ op: 'notExist', field: 'webAddress' }], [179]],
      [
        [
          { op: 'exist', field: 'webAddress' },
          { op: 'in', field: 'id', value: [175, 179] },
        ],
        [175],
      ],
      [[{ op: 'notIn', field: 'id', value: [174, 175, 176, 177] }], [178, 179]],
      [
        [
          {
            op: 'or',
            items: [
              { op: 'eq', field: 'id', value: 174 },
              {
                op: 'and',
                items: [
                  { op: 'gt', field: 'id', value: 176 },
                  { op: 'eq', field: 'companyType', value: 7 },
                ],
              },
            ],
          },
        ],
        [174, 179],
      ],
    ];
    for (const [filter, expected] of cases) {
      expect(ids(await t.query('Companies', { filter })), JSON.stringify(filter)).to.deep.equal(
        expected,
      );
      const get = await t.call(
        'GET',
        `/Companies/query?search=${encodeURIComponent(JSON.stringify({ filter }))}`,
      );
      expect(ids(get.body as unknown as Page)).to.deep.equal(expected);
    }
  });

  it('compares dates, and returns only IncludeFields', async () => {
    const page = await t.query('ContractServiceUnits', {
      IncludeFields: ['id', 'units', 'startDate'],
      filter: [
        { op: 'eq', field: 'contractID', value: 29684184 },
        { op: 'lte', field: 'startDate', value: '2026-12-10' },
        { op: 'gte', field: 'endDate', value: '2026-12-10' },
      ],
    });
    expect(page.items.map((i) => Object.keys(i).sort())).to.deep.equal([
      ['id', 'startDate', 'units'],
      ['id', 'startDate', 'units'],
    ]);
    expect(page.items.map((i) => i.startDate)).to.deep.equal([
      '2026-12-01T00:00:00.000Z',
      '2026-12-01T00:00:00.000Z',
    ]);
  });

  it('refuses a bad query with 500 errors[]: no filter, MaxRecords outside 1..500, unknown field or operator', async () => {
    for (const model of [
      {},
      { filter: [] },
      { MaxRecords: 0, filter: all },
      { MaxRecords: 501, filter: all },
      { filter: [{ op: 'eq', field: 'nosuchfield', value: 1 }] },
      { filter: [{ op: 'like', field: 'id', value: 1 }] },
      { MaxRecords: 2, IncludeFields: ['companyName'], filter: all },
    ]) {
      const a = await t.call('POST', '/Companies/query', model);
      expect(a.status, JSON.stringify(model)).to.equal(500);
      expect(a.body.errors).to.be.an('array').with.lengthOf(1);
    }
  });

  for (const method of ['POST', 'GET'] as const) {
    it(`pages with MaxRecords: nextPageUrl re-issued with ${method} and the same query reaches every record once`, async () => {
      const model = { MaxRecords: 4, filter: all };
      const first =
        method === 'POST'
          ? await t.call('POST', '/Companies/query', model)
          : await t.call(
              'GET',
              `/Companies/query?search=${encodeURIComponent(JSON.stringify(model))}`,
            );
      let page = first.body as unknown as Page;
      expect(page.pageDetails).to.include({ count: 4, requestCount: 4, prevPageUrl: null });
      const seen = ids(page);
      const next = page.pageDetails.nextPageUrl;
      expect(next)
        .to.be.a('string')
        .and.match(/^https:\/\//);
      page = (await t.call(method, next ?? '', method === 'POST' ? model : undefined))
        .body as unknown as Page;
      seen.push(...ids(page));
      expect(page.pageDetails.nextPageUrl).to.equal(null);
      expect(page.pageDetails.prevPageUrl).to.be.a('string');
      expect(seen).to.deep.equal([174, 175, 176, 177, 178, 179]);
    });
  }

  it('counts with …/query/count and answers GET /{Entity}/{id} with {item} or {item: null}', async () => {
    const count = await t.call('POST', '/Contracts/query/count', {
      filter: [{ op: 'eq', field: 'companyID', value: 176 }],
    });
    expect(count.body).to.deep.equal({ queryCount: 2 });
    expect((await t.call('GET', '/Contracts/29684185')).body.item).to.include({
      contractName: 'Northwind - Managed Services',
    });
    expect((await t.call('GET', '/Contracts/1')).body).to.deep.equal({ item: null });
    const children = await t.call('GET', '/Contracts/29684184/Services');
    expect((children.body.items as Json[]).map((s) => s.serviceID)).to.deep.equal([302, 303]);
  });

  it('lists field information with the contract status, type and period type picklists', async () => {
    const fields = (await t.call('GET', '/Contracts/entityInformation/fields')).body
      .fields as Json[];
    const labels = (name: string) =>
      (fields.find((f) => f.name === name)?.picklistValues as Json[]).map(
        (v) => `${String(v.value)}=${String(v.label)}`,
      );
    expect(labels('status')).to.include.members(['0=Inactive', '1=Active']);
    expect(labels('contractType')).to.include('7=Recurring Service');
    expect(labels('contractPeriodType')).to.include.members(['1=Monthly', '4=Yearly']);
  });
});
