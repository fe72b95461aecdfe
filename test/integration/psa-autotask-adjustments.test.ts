import { expect } from 'chai';
import { autotaskEmulator, type AutotaskScenario } from '../../emulator/psa/autotask/index.js';
import { startPsaEmulator } from '../../emulator/psa/server.js';
import { createHttpClient } from '../../src/http-client.js';

// The Autotask emulator's billing semantics and limits over real HTTPS: unit period rows,
// create-only adjustments (a delta, a split, posted periods), the hourly and thread limits.

type Json = Record<string, unknown>;
const credentials = {
  ApiIntegrationCode: 'LICSYNC7EMULATORCODE0000001',
  UserName: 'licensesync@contoso-msp.example',
  Secret: 'emulator-secret-1',
};
const contoso = 29684183;
const premium = 301;

async function start(change: (s: AutotaskScenario) => void = () => {}) {
  const scenario = autotaskEmulator.defaultScenario();
  scenario.startAt = '2026-12-10T12:00:00Z';
  change(scenario);
  const emulator = await startPsaEmulator(autotaskEmulator, { scenario });
  const http = createHttpClient({ extraCaFile: emulator.caFile });
  const call = async (method: string, path: string, body?: unknown) => {
    const url = path.startsWith('/_emulator')
      ? `${emulator.url}${path}`
      : `${emulator.url}/zone5/atservicesrest/v1.0${path}`;
    const res = await http.request({
      method,
      url,
      data: body === undefined ? undefined : JSON.stringify(body),
      headers: { ...credentials, 'Content-Type': 'application/json' },
    });
    return {
      status: res.status,
      body: JSON.parse(res.data as string) as Json,
      headers: res.headers,
    };
  };
  /** The unit rows of one service on one contract, as [start, end, units] by start date. */
  const rows = async (contractID: number, serviceID: number) => {
    const a = await call('POST', '/ContractServiceUnits/query', {
      filter: [
        { op: 'eq', field: 'contractID', value: contractID },
        { op: 'eq', field: 'serviceID', value: serviceID },
      ],
    });
    return (a.body.items as Json[])
      .map((r) => [String(r.startDate).slice(0, 10), String(r.endDate).slice(0, 10), r.units])
      .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
  };
  return { emulator, call, rows };
}

describe('Autotask emulator: contract service units and adjustments', () => {
  let t: Awaited<ReturnType<typeof start>>;
  beforeEach(async () => (t = await start()));
  afterEach(() => t.emulator.stop());

  it('keeps one unit row per billing period per service (monthly and quarterly contracts)', async () => {
    const monthly = await t.rows(contoso, premium);
    expect(monthly).to.have.lengthOf(24);
    expect(monthly[11]).to.deep.equal(['2026-12-01', '2026-12-31', 25]);
    const quarterly = await t.rows(29684187, premium);
    expect(quarterly).to.have.lengthOf(8);
    expect(quarterly[3]).to.deep.equal(['2026-10-01', '2026-12-31', 8]);
  });

  it('applies unitChange as a delta from the effective date, splitting the period row there', async () => {
    const a = await t.call('POST', '/ContractServiceAdjustments', {
      contractID: contoso,
      serviceID: premium,
      unitChange: 3,
      effectiveDate: '2026-12-10T00:00:00Z',
    });
    expect(a.status).to.equal(200);
    expect(a.body.itemId).to.be.a('number');
    const after = await t.rows(contoso, premium);
    expect(after.slice(10, 14)).to.deep.equal([
      ['2026-11-01', '2026-11-30', 25],
      ['2026-12-01', '2026-12-09', 25],
      ['2026-12-10', '2026-12-31', 28],
      ['2027-01-01', '2027-01-31', 28],
    ]);
    // A second adjustment later in the same period splits the new row again.
    await t.call('POST', `/Contracts/${contoso}/ServiceAdjustments`, {
      serviceID: premium,
      unitChange: -28,
      effectiveDate: '2026-12-20',
    });
    expect((await t.rows(contoso, premium)).slice(12, 15)).to.deep.equal([
      ['2026-12-10', '2026-12-19', 28],
      ['2026-12-20', '2026-12-31', 0],
      ['2027-01-01', '2027-01-31', 0],
    ]);
  });

  it('creates the contract service when the contract has none for the service', async () => {
    const before = await t.call('POST', '/ContractServices/query/count', {
      filter: [{ op: 'eq', field: 'contractID', value: contoso }],
    });
    const a = await t.call('POST', '/ContractServiceAdjustments', {
      contractID: contoso,
      serviceID: 305,
      unitChange: 7,
      effectiveDate: '2026-12-15',
    });
    expect(a.status).to.equal(200);
    const after = await t.call('POST', '/ContractServices/query/count', {
      filter: [{ op: 'eq', field: 'contractID', value: contoso }],
    });
    expect(after.body.queryCount).to.equal(Number(before.body.queryCount) + 1);
    expect((await t.rows(contoso, 305))[0]).to.deep.equal(['2026-12-15', '2026-12-31', 7]);
  });

  it('refuses an effective date inside an approved-and-posted period, and changes nothing', async () => {
    const body = {
      contractID: contoso,
      serviceID: premium,
      unitChange: 1,
      effectiveDate: '2026-12-10',
    };
    const marked = await t.call('POST', '/_emulator/approve-and-post', {
      contractID: contoso,
      through: '2026-12-31',
    });
    // The scenario posts through October: November and December of its three services remain.
    expect(marked.body.marked).to.equal(6);
    const before = await t.rows(contoso, premium);
    const a = await t.call('POST', '/ContractServiceAdjustments', body);
    expect(a.status).to.equal(500);
    expect(a.body).to.deep.equal({
      errors: [
        'Unable to make changes as it would result in the deletion/modification of an already approved and posted contract period.',
      ],
    });
    expect(await t.rows(contoso, premium)).to.deep.equal(before);
    // The last posted day is refused too; the first day after it is open.
    const lastDay = await t.call('POST', '/ContractServiceAdjustments', {
      ...body,
      effectiveDate: '2026-12-31',
    });
    expect(lastDay.status).to.equal(500);
    const nextDay = await t.call('POST', '/ContractServiceAdjustments', {
      ...body,
      effectiveDate: '2027-01-01',
    });
    expect(nextDay.status).to.equal(200);
    const posted = await t.call('POST', '/ContractServiceUnits/query', {
      filter: [
        { op: 'eq', field: 'contractID', value: contoso },
        { op: 'exist', field: 'approveAndPostDate' },
      ],
    });
    expect((posted.body.items as Json[]).length).to.equal(36);
  });

  it('refuses units below zero, a missing field, and a contract that is not recurring', async () => {
    for (const body of [
      { contractID: contoso, serviceID: premium, unitChange: -26, effectiveDate: '2026-12-10' },
      { contractID: contoso, serviceID: premium, effectiveDate: '2026-12-10' },
      { contractID: 29684186, serviceID: premium, unitChange: 1, effectiveDate: '2026-12-10' },
    ]) {
      const a = await t.call('POST', '/ContractServiceAdjustments', body);
      expect(a.status, JSON.stringify(body)).to.equal(500);
      expect(a.body.errors).to.be.an('array').with.lengthOf(1);
    }
  });

  it('is create-only: query, get, update and delete are refused', async () => {
    for (const [method, path] of [
      ['POST', '/ContractServiceAdjustments/query'],
      ['GET', '/ContractServiceAdjustments/1'],
      ['PATCH', '/ContractServiceAdjustments'],
      ['DELETE', '/ContractServiceAdjustments/1'],
    ] as const) {
      const a = await t.call(method, path, method === 'PATCH' ? { id: 1 } : undefined);
      expect(a.status, `${method} ${path}`).to.equal(405);
      expect(a.body.errors).to.be.an('array');
    }
  });
});

describe('Autotask emulator: request limits', () => {
  it('refuses past the hourly budget with 429 and Retry-After, counts in ThresholdInformation, and frees up as the hour rolls', async () => {
    const t = await start((s) => (s.limits = { ...s.limits, requestsPerHour: 4 }));
    try {
      for (let i = 0; i < 3; i += 1)
        expect((await t.call('GET', '/Companies/174')).status).to.equal(200);
      const threshold = await t.call('GET', '/ThresholdInformation');
      expect(threshold.body).to.deep.equal({
        externalRequestThreshold: 4,
        requestThresholdTimeframe: 60,
        currentTimeframeRequestCount: 4,
      });
      const refused = await t.call('GET', '/Companies/174');
      expect(refused.status).to.equal(429);
      expect(Number(refused.headers['retry-after'])).to.be.within(3590, 3600);
      expect((refused.body.errors as string[])[0]).to.match(/threshold/i);
      await t.call('POST', '/_emulator/clock', { advanceSeconds: 3601 });
      expect((await t.call('GET', '/Companies/174')).status).to.equal(200);
    } finally {
      await t.emulator.stop();
    }
  });

  it('slows each call past half of the hourly budget', async () => {
    const t = await start(
      (s) => (s.limits = { ...s.limits, requestsPerHour: 4, slowDelayMs: 400 }),
    );
    try {
      const timed = async () => {
        const started = Date.now();
        await t.call('GET', '/Companies/174');
        return Date.now() - started;
      };
      expect(await timed()).to.be.below(400);
      await timed();
      expect(await timed()).to.be.at.least(400);
    } finally {
      await t.emulator.stop();
    }
  });

  it('refuses a fourth concurrent call on one entity with the thread-threshold error; another entity is apart', async () => {
    const t = await start((s) => (s.limits = { ...s.limits, holdMs: 300 }));
    try {
      const answers = await Promise.all([
        ...Array.from({ length: 5 }, () => t.call('GET', '/Companies/174')),
        t.call('GET', '/Contracts/29684183'),
      ]);
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 200)).to.have.lengthOf(4);
      const refused = answers.filter((a) => a.status !== 200);
      expect(refused).to.have.lengthOf(2);
      for (const a of refused) {
        expect(a.status).to.equal(500);
        expect((a.body.errors as string[])[0]).to.match(/^Thread Threshold Exceeded/);
      }
      expect(answers[5]?.status).to.equal(200);
    } finally {
      await t.emulator.stop();
    }
  });
});
