import { once } from 'node:events';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import type { Express } from 'express';
import request from 'supertest';
import { createLogger } from '../../src/logger.js';
import { createProducerConnection } from '../../src/queue/connections.js';
import { JobQueues } from '../../src/queue/job-queues.js';
import { queueNames } from '../../src/queue/catalog.js';
import { createApp } from '../../src/server/app.js';
import { createServices } from '../../src/dependencies.js';
import { KeyRing } from '../../src/store/encryption.js';
import { migrationCount, openStore, type Store } from '../../src/store/database.js';
import { testConfig, testSecrets } from '../support/config.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { closedPort, freshPrefix, removePrefix, testRedisUrl } from '../support/redis.js';

/** An app on the real PostgreSQL and Redis, with its log lines captured. */
interface TestApp {
  app: Express;
  logLines: string[];
  close(): Promise<void>;
}

async function buildApp(options: {
  redisUrl?: string;
  store: Store;
  prefix: string;
}): Promise<TestApp> {
  const logLines: string[] = [];
  const log = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });
  const config = testConfig({ QUEUE_PREFIX: options.prefix });
  const producer = createProducerConnection(options.redisUrl ?? testRedisUrl, {
    // A closed port must not keep a test waiting on reconnects.
    retryStrategy: () => 50,
  });
  producer.on('error', () => {});
  const queues = new JobQueues(producer, options.prefix);
  if (!options.redisUrl && producer.status !== 'ready') await once(producer, 'ready');
  return {
    app: createApp({
      config,
      log,
      store: options.store,
      producer,
      queues,
      services: createServices(config, options.store, new KeyRing(config.encryptionKeys), producer),
    }),
    logLines,
    async close() {
      await queues.close().catch(() => {});
      producer.disconnect();
    },
  };
}

describe('HTTP server', function () {
  let database: TestDatabase;
  let store: Store;
  let prefix: string;
  let t: TestApp;
  const token = testSecrets.ADMIN_API_TOKEN;

  before(async () => {
    database = await createTestDatabase();
    store = openStore({ databaseUrl: database.url, log: createLogger({ level: 'silent' }) });
    await store.migrate();
  });
  after(async function () {
    await store?.close();
    if (!suiteFailed(this)) await database?.drop();
  });
  beforeEach(async () => {
    prefix = freshPrefix();
    t = await buildApp({ store, prefix });
  });
  afterEach(async function () {
    await t.close();
    if (this.currentTest?.state === 'passed') await removePrefix(prefix);
  });

  it('answers /healthz and /readyz when Redis, PostgreSQL and migrations are fine', async () => {
    await request(t.app).get('/healthz').expect(200, { status: 'ok' });
    const ready = await request(t.app).get('/readyz').expect(200);
    expect(ready.body).to.deep.equal({
      status: 'ready',
      checks: { redis: 'ok', postgres: 'ok', migrations: 'ok' },
    });
  });

  it('answers /readyz 503 naming Redis when Redis is unreachable, saying why only to the admin token', async () => {
    const port = await closedPort();
    const down = await buildApp({ store, prefix, redisUrl: `redis://127.0.0.1:${port}` });
    try {
      const res = await request(down.app).get('/readyz').expect(503);
      expect(res.body).to.deep.equal({
        status: 'unavailable',
        failing: ['redis'],
        checks: { redis: 'unavailable', postgres: 'ok', migrations: 'ok' },
      });
      expect(res.text).to.not.contain(String(port));
      const detailed = await request(down.app)
        .get('/readyz')
        .set('Authorization', `Bearer ${token}`)
        .expect(503);
      expect(detailed.body.failing).to.deep.equal(['redis']);
      expect(detailed.body.checks.redis).to.match(/^unavailable: .+/);
      expect(detailed.body.checks.postgres).to.equal('ok');
      // A wrong token is no token.
      const wrong = await request(down.app)
        .get('/readyz')
        .set('Authorization', 'Bearer not-the-token')
        .expect(503);
      expect(wrong.body.checks.redis).to.equal('unavailable');
      // Liveness does not depend on Redis.
      await request(down.app).get('/healthz').expect(200);
    } finally {
      await down.close();
    }
  });

  it('answers /readyz 503 naming migrations on a database that lacks them', async () => {
    const empty = await createTestDatabase();
    const emptyStore = openStore({
      databaseUrl: empty.url,
      log: createLogger({ level: 'silent' }),
    });
    const other = await buildApp({ store: emptyStore, prefix });
    try {
      const res = await request(other.app)
        .get('/readyz')
        .set('Authorization', `Bearer ${token}`)
        .expect(503);
      expect(res.body.failing).to.deep.equal(['migrations']);
      expect(res.body.checks.migrations).to.equal(
        `unavailable: ${migrationCount} migration(s) not applied`,
      );
    } finally {
      await other.close();
      await emptyStore.close();
      await empty.drop();
    }
  });

  it('guards Bull Board: 401 with a Bearer challenge without credentials, 200 with the Bearer token', async () => {
    const denied = await request(t.app).get('/admin/queues').expect(401);
    expect(denied.headers['www-authenticate']).to.match(/^Bearer /);
    await request(t.app).get('/admin/queues').set('Authorization', 'Bearer wrong').expect(401);
    const page = await request(t.app)
      .get('/admin/queues')
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect(page.text).to.contain('<title>license-sync</title>');
    const api = await request(t.app)
      .get('/admin/queues/api/queues')
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect(api.body.queues.map((q: { name: string }) => q.name)).to.deep.equal(queueNames);
  });

  it('guards the JSON API with the admin token', async () => {
    const res = await request(t.app).get('/api/v1/partners').expect(401);
    expect(res.body).to.deep.equal({
      error: { code: 'unauthorized', message: 'A valid admin token is required.' },
    });
  });

  it('exports job gauges per queue and state, and request latency', async () => {
    const connection = createProducerConnection(testRedisUrl);
    await once(connection, 'ready');
    const queues = new JobQueues(connection, prefix);
    await queues.enqueue('reconcile', {});
    await queues.close();
    connection.disconnect();
    await request(t.app).get('/healthz');
    await request(t.app).get('/metrics').expect(401);
    const res = await request(t.app)
      .get('/metrics')
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect(res.text).to.contain('license_sync_queue_jobs{queue="maintenance",state="waiting"} 1');
    expect(res.text).to.contain('license_sync_queue_jobs{queue="maintenance",state="failed"} 0');
    expect(res.text).to.contain('license_sync_queue_up 1');
    expect(res.text).to.match(
      /http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} 1/,
    );
  });

  it('still serves /metrics while Redis is down, saying the queue store is down', async () => {
    const down = await buildApp({
      store,
      prefix,
      redisUrl: `redis://127.0.0.1:${await closedPort()}`,
    });
    try {
      const res = await request(down.app)
        .get('/metrics')
        .set('Authorization', `Bearer ${token}`)
        .expect(200);
      expect(res.text).to.contain('license_sync_queue_up 0');
      expect(res.text).to.not.contain('license_sync_queue_jobs{');
    } finally {
      await down.close();
    }
  });

  it('answers unknown paths and malformed JSON with JSON errors and no stack trace', async () => {
    const missing = await request(t.app).get('/nowhere').expect(404);
    expect(missing.body).to.deep.equal({
      error: { code: 'not_found', message: 'No such resource.' },
    });
    const bad = await request(t.app)
      .post('/api/v1/partners')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/json')
      .send('{"name": ')
      .expect(400);
    expect(bad.body.error.code).to.equal('bad_request');
    expect(JSON.stringify(bad.body)).to.not.match(/at .*\.(js|ts):\d+/);
  });

  it('never logs the code, the state or the admin token of a request', async () => {
    await request(t.app)
      .get('/auth/callback?code=0.AXsecretcode&state=st4te-value&x=1')
      .set('Authorization', `Bearer ${token}`);
    const logged = t.logLines.join('');
    expect(logged).to.contain('/auth/callback?code=[REDACTED]&state=[REDACTED]&x=1');
    for (const secret of ['0.AXsecretcode', 'st4te-value', token])
      expect(logged).to.not.contain(secret);
  });
});
