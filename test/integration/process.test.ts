import { expect } from 'chai';
import { startService, type ServiceProcess } from '../support/process.js';
import { testEnv, testSecrets } from '../support/config.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { closedPort, freshPrefix, removePrefix } from '../support/redis.js';

const listening = (line: Record<string, unknown>) => line.msg === 'API listening';

describe('the service process (npm start)', function () {
  let database: TestDatabase;
  let prefix: string;
  let service: ServiceProcess | undefined;

  before(async () => {
    database = await createTestDatabase();
  });
  after(async function () {
    if (!suiteFailed(this)) await database?.drop();
  });
  beforeEach(() => {
    prefix = freshPrefix();
  });
  afterEach(async function () {
    if (service && service.child.exitCode === null) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
    service = undefined;
    if (this.currentTest?.state === 'passed') await removePrefix(prefix);
  });

  it('serves health, readiness, the guarded dashboard and metrics, then stops cleanly on SIGTERM', async () => {
    service = startService(
      'workers/all-in-one.ts',
      testEnv({ DATABASE_URL: database.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'info' }),
    );
    const { port } = await service.waitForLog(listening);
    const base = `http://127.0.0.1:${String(port)}`;
    await service.waitForLog((l) => l.msg === 'workers started');

    expect((await fetch(`${base}/healthz`)).status).to.equal(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).to.equal(200);
    expect((await fetch(`${base}/admin/queues`)).status).to.equal(401);
    const board = await fetch(`${base}/admin/queues`, {
      headers: { Authorization: `Bearer ${testSecrets.ADMIN_API_TOKEN}` },
    });
    expect(board.status).to.equal(200);
    expect((await fetch(`${base}/metrics`)).status).to.equal(401);
    const metrics = await (
      await fetch(`${base}/metrics`, {
        headers: { Authorization: `Bearer ${testSecrets.ADMIN_API_TOKEN}` },
      })
    ).text();
    expect(metrics).to.match(/license_sync_queue_jobs\{queue="maintenance",state="delayed"\} 3/);

    service.child.kill('SIGTERM');
    expect(await service.exited).to.equal(0);
    expect(service.lines.some((l) => l.includes('"msg":"stopped"'))).to.be.true;
  });

  it('with METRICS_PORT serves /metrics there without a token, not on PORT, then stops cleanly on SIGTERM', async () => {
    service = startService(
      'workers/all-in-one.ts',
      testEnv({
        DATABASE_URL: database.url,
        QUEUE_PREFIX: prefix,
        LOG_LEVEL: 'info',
        METRICS_PORT: String(await closedPort()),
      }),
    );
    const { port } = await service.waitForLog(listening);
    const { port: metricsPort } = await service.waitForLog((l) => l.msg === 'metrics listening');
    await service.waitForLog((l) => l.msg === 'workers started');
    const main = await fetch(`http://127.0.0.1:${String(port)}/metrics`, {
      headers: { Authorization: `Bearer ${testSecrets.ADMIN_API_TOKEN}` },
    });
    expect(main.status).to.equal(404);
    const metrics = await fetch(`http://127.0.0.1:${String(metricsPort)}/metrics`);
    expect(metrics.status).to.equal(200);
    expect(await metrics.text()).to.match(
      /license_sync_queue_jobs\{queue="maintenance",state="delayed"\} 3/,
    );
    // Only /metrics there: not the API, the pages or the dashboard.
    expect((await fetch(`http://127.0.0.1:${String(metricsPort)}/admin/queues`)).status).to.equal(
      404,
    );

    service.child.kill('SIGTERM');
    expect(await service.exited).to.equal(0);
    expect(service.lines.some((l) => l.includes('"msg":"stopped"'))).to.be.true;
  });

  it('starts while Redis is unreachable and says so on /readyz', async () => {
    service = startService(
      'workers/all-in-one.ts',
      testEnv({
        DATABASE_URL: database.url,
        QUEUE_PREFIX: prefix,
        LOG_LEVEL: 'info',
        REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
        SHUTDOWN_GRACE_SECONDS: '1',
      }),
    );
    const { port } = await service.waitForLog(listening);
    const res = await fetch(`http://127.0.0.1:${String(port)}/readyz`);
    expect(res.status).to.equal(503);
    const body = (await res.json()) as { failing: string[] };
    expect(body.failing).to.deep.equal(['redis']);
    service.child.kill('SIGTERM');
    expect(await service.exited).to.equal(0);
  });

  for (const [variable, value] of [
    ['ENCRYPTION_KEYS', 'k1:not-a-32-byte-key'],
    ['REDIS_URL', 'localhost:6379'],
  ] as const) {
    it(`refuses to start with a malformed ${variable}, naming it`, async () => {
      service = startService('workers/all-in-one.ts', testEnv({ [variable]: value }));
      expect(await service.exited).to.equal(78);
      const output = service.lines.join('\n');
      expect(output).to.match(new RegExp(`^  ${variable}: `, 'm'));
      expect(output).to.not.contain(value);
    });
  }
});
