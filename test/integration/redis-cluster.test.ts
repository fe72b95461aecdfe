import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { expect } from 'chai';
import { Cluster } from 'ioredis';
import request from 'supertest';
import { subscribedSkus } from '../../emulator/tenants.js';
import { ConfigError, loadConfig } from '../../config/index.js';
import type { JobDeps } from '../../jobs/deps.js';
import { withDeadline } from '../../src/deadline.js';
import { createLogger } from '../../src/logger.js';
import { jobIds, queueNames, type QueueName } from '../../src/queue/catalog.js';
import { createProducerConnection, createWorkerConnection } from '../../src/queue/connections.js';
import { JobQueues } from '../../src/queue/job-queues.js';
import { startWorkerPool } from '../../src/queue/worker-pool.js';
import { redisLimitStore } from '../../src/server/rate-limit-store.js';
import { skusPerTenantReadIn } from '../support/license-state.js';
import type { RefreshRun } from '../../src/store/refresh-runs.js';
import { processors } from '../../workers/processors.js';
import { testEnv } from '../support/config.js';
import { scenarioWith } from '../support/emulator.js';
import { releaseTenants, startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { startService, type ServiceProcess } from '../support/process.js';
import { freshPrefix } from '../support/redis.js';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../support/redis-cluster.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
const customerCount = 12;

// Slow enough for the recovery case to cut into a run: 12 customers at 8 Partner Center
// requests per second take a few seconds.
const scenario = {
  ...scenarioWith((p) =>
    p.tenantId === partnerTenant
      ? {
          ...p,
          rateLimits: { partnerCenterRps: 100 },
          customers: { generate: { seed: 31, count: customerCount } },
        }
      : p,
  ),
  latencyMs: 10,
};
const tuning = {
  PARTNER_CENTER_REQUESTS_PER_SECOND: '8',
  // Lost work comes back within seconds, not the production minute.
  JOB_LOCK_SECONDS: '2',
  RECONCILE_INTERVAL_SECONDS: '2',
};

describe('Redis Cluster: the service on three masters', function () {
  this.timeout(120_000);
  let cluster: PrivateRedisCluster;
  let h: Harness;

  before(async () => {
    cluster = await startPrivateRedisCluster();
    h = await startHarness(scenario, {
      ...tuning,
      REDIS_URL: undefined,
      REDIS_CLUSTER_NODES: cluster.nodesVariable,
    });
  });
  after(async function () {
    // A failed run keeps its database; the cluster's nodes would outlive the test process, so
    // they go either way.
    await h?.close(suiteFailed(this));
    await cluster?.stop();
  });
  beforeEach(() => releaseTenants(h));

  /** A partner with every emulated customer as a company; resolves once consent started the run. */
  async function consentedPartner(on: Harness = h): Promise<{ partnerId: string; runId: string }> {
    const partner = (await on.api('post', '/partners', { name: 'Cluster Partner' })).body as {
      id: string;
    };
    for (const c of on.emulator.state.directory.partner(partnerTenant)!.customers) {
      await on.runtime.services.partners.addCompany(
        partner.id,
        { name: c.name, customerTenantId: c.tenantId },
        'test',
      );
    }
    const { outcome } = await on.grant(partner.id, 'admin@first.example');
    expect(outcome.outcome).to.equal('completed');
    const status = (await on.api('get', `/partners/${partner.id}/delegated-admin`)).body as {
      run: { id: string };
    };
    return { partnerId: partner.id, runId: status.run.id };
  }

  /**
   * The run's end, or the first job of any queue failing with the reason: a key outside the
   * prefix's slot fails a job at once (CROSSSLOT, a script's non-local key, a pipeline over
   * slots), and waiting out its retries would only end in a timeout.
   */
  function runEndedWithoutFailures(runId: string): Promise<RefreshRun> {
    const listeners: [QueueName, (args: { jobId: string; failedReason: string }) => void][] = [];
    const failure = new Promise<never>((_, reject) => {
      for (const queue of queueNames) {
        const onFailed = (args: { jobId: string; failedReason: string }) =>
          reject(new Error(`${queue} job ${args.jobId} failed: ${args.failedReason}`));
        h.events(queue).on('failed', onFailed);
        listeners.push([queue, onFailed]);
      }
    });
    return Promise.race([h.runEnded(runId), failure]).finally(() => {
      for (const [queue, onFailed] of listeners) h.events(queue).off('failed', onFailed);
    });
  }

  /** No service log line shows a key reaching the wrong node. */
  function expectNoSlotErrors(): void {
    const slotErrors = h.logLines.filter((l) =>
      /CROSSSLOT|MOVED|non local key|same slots allocation group/.test(l),
    );
    expect(slotErrors).to.deep.equal([]);
  }

  /** Every customer has exactly the SKUs its subscribed SKUs make, read in this run. */
  async function expectOneSnapshotSetEach(run: RefreshRun, on: Harness = h): Promise<void> {
    expect(run).to.include({ status: 'completed', total: customerCount, succeeded: customerCount });
    const rows = await skusPerTenantReadIn(on.runtime.store.db, run.id);
    const directory = on.emulator.state.directory;
    const expected = directory.partner(partnerTenant)!.customers.map((c) => ({
      tenant: c.tenantId,
      n: subscribedSkus(directory.detail(c)).length,
    }));
    expect(rows).to.have.deep.members(expected);
  }

  /** Every key on the cluster and the slots they hash to, read from the masters. */
  async function clusterKeys(): Promise<{ slots: Set<number>; keys: string[] }> {
    const client = cluster.client();
    try {
      const keys: string[] = [];
      await new Promise((resolve) => client.once('ready', resolve));
      // The cluster is this file's own: whatever is on it, the service wrote.
      for (const master of client.nodes('master')) keys.push(...(await master.keys('*')));
      const slots = new Set(await Promise.all(keys.map((k) => client.cluster('KEYSLOT', k))));
      return { slots, keys };
    } finally {
      client.disconnect();
    }
  }

  it('consent: the callback queues the code exchange, which completes on the cluster', async () => {
    const partner = (await h.api('post', '/partners', { name: 'Consenting Partner' })).body as {
      id: string;
    };
    const { attemptId, outcome } = await h.grant(partner.id, 'admin@first.example');
    expect(outcome.outcome).to.equal('completed');
    expectNoSlotErrors();
    const exchange = await h.runtime.queues
      .get('consent')
      .getJob(jobIds.exchangeConsentCode(attemptId));
    expect(await exchange!.getState()).to.equal('completed');
  });

  it("readiness and the request limiters answer from the prefix's slot", async () => {
    const ready = await request(h.app).get('/readyz');
    expect(ready.status, ready.text).to.equal(200);
    // As after a failover to a node that never saw them: no master has the scripts. Each store
    // then loads them afresh; loaded on one node at random they would miss the counter's master
    // about two times in three.
    const masters = (h.runtime.producer as Cluster).nodes('master');
    await Promise.all(masters.map((m) => m.script('FLUSH')));
    for (let i = 0; i < 10; i += 1) {
      const store = redisLimitStore(h.runtime.producer, `${h.prefix}:limit-${i}:`);
      await store.init({ windowMs: 60_000 } as Parameters<typeof store.init>[0]);
      expect((await store.increment('someone')).totalHits).to.equal(1);
      expect((await store.increment('someone')).totalHits).to.equal(2);
    }
  });

  it('refresh: a consent then a full run refreshes every customer exactly once', async () => {
    const { runId } = await consentedPartner();
    await expectOneSnapshotSetEach(await runEndedWithoutFailures(runId));
    expectNoSlotErrors();
    // Queues, pacers and locks alike: every key of the deployment in the prefix's one slot.
    const { slots, keys } = await clusterKeys();
    expect(keys.filter((k) => !k.startsWith(`${h.prefix}:`))).to.deep.equal([]);
    expect(keys.some((k) => k.includes(':pace:'))).to.equal(true);
    expect(keys.some((k) => k.includes(':refresh:'))).to.equal(true);
    expect([...slots]).to.have.length(1);
  });

  it("recovery: the prefix's keys deleted mid-run, the reconciler rebuilds the work", async () => {
    let completed = 0;
    const progressed = new Promise<void>((resolve) => {
      const onCompleted = () => {
        completed += 1;
        if (completed >= 3) {
          h.events('refresh').off('completed', onCompleted);
          resolve();
        }
      };
      h.events('refresh').on('completed', onCompleted);
    });
    const { runId } = await consentedPartner();
    await progressed;
    await cluster.removePrefix(h.prefix);
    const midRun = (await h.runtime.services.runs.progress(runId))!;
    expect(midRun.status).to.equal('running');
    expect(midRun.succeeded).to.be.below(customerCount);

    await expectOneSnapshotSetEach(await h.runEnded(runId));
    expect(await h.runtime.queues.get('maintenance').getJobScheduler('reconcile')).to.exist;
    expectNoSlotErrors();
  });

  describe('a worker process killed mid-run', () => {
    let w: Harness;
    const workers: ServiceProcess[] = [];

    before(async () => {
      w = await startHarness(
        scenario,
        { ...tuning, REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.nodesVariable },
        { workers: false },
      );
    });
    after(async function () {
      for (const p of workers) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await Promise.all(workers.map((p) => p.exited));
      await w?.close(suiteFailed(this));
    });

    const startWorker = async () => {
      // The process reads REDIS_CLUSTER_NODES from its environment, as in production.
      const worker = startService('workers/main.ts', { ...w.env, LOG_LEVEL: 'info' });
      workers.push(worker);
      await worker.waitForLog((l) => l.msg === 'workers started');
      return worker;
    };

    it('after kill -9 and a restart, every customer is refreshed exactly once', async () => {
      const first = await startWorker();
      let completed = 0;
      const progressed = new Promise<void>((resolve) => {
        const onCompleted = () => {
          completed += 1;
          if (completed >= 3) {
            w.events('refresh').off('completed', onCompleted);
            resolve();
          }
        };
        w.events('refresh').on('completed', onCompleted);
      });
      const { runId } = await consentedPartner(w);
      await progressed;
      first.child.kill('SIGKILL');
      await first.exited;
      expect((await w.runtime.services.runs.get(runId))!.status).to.equal('running');

      const second = await startWorker();
      await expectOneSnapshotSetEach(await w.runEnded(runId), w);
      expect(second.lines.filter((l) => /CROSSSLOT|MOVED|non local key/.test(l))).to.deep.equal([]);
    });
  });

  describe('start-up refuses what would fail at 3 a.m.', () => {
    const clusterEnv = (overrides: Record<string, string | undefined>) =>
      testEnv({ REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.nodesVariable, ...overrides });

    it('a QUEUE_PREFIX that is not a hash tag, naming the variable', () => {
      expect(() => loadConfig(clusterEnv({ QUEUE_PREFIX: 'ls' })))
        .to.throw(ConfigError)
        .with.property('message')
        .that.matches(/QUEUE_PREFIX: expected a Redis Cluster hash tag such as \{ls\}/);
    });

    it('queues or workers on the cluster given a prefix of many slots', () => {
      const connection = createWorkerConnection(loadConfig(clusterEnv({})).config.redisCluster!);
      try {
        expect(connection).to.be.instanceOf(Cluster);
        const notOneSlot = /QUEUE_PREFIX "ls" is not a Redis Cluster hash tag/;
        expect(() => new JobQueues(connection, 'ls')).to.throw(notOneSlot);
        expect(() => new JobQueues(connection, 'ls:{x}')).to.throw(/is not a Redis Cluster/);
        expect(() =>
          startWorkerPool({
            connection,
            prefix: 'ls',
            processors,
            // Refused before any job could use them.
            deps: {} as JobDeps,
            log: createLogger({ level: 'silent' }),
          }),
        ).to.throw(notOneSlot);
      } finally {
        connection.disconnect();
      }
    });

    it('REDIS_URL beside REDIS_CLUSTER_NODES', () => {
      expect(() => loadConfig(clusterEnv({ REDIS_URL: 'redis://127.0.0.1:6379' })))
        .to.throw(ConfigError)
        .with.property('message')
        .that.matches(/REDIS_URL: set either REDIS_URL .* or REDIS_CLUSTER_NODES .*, not both/);
    });

    it('a node list that is not host:port', () => {
      expect(() => loadConfig(clusterEnv({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,redis-2' })))
        .to.throw(ConfigError)
        .with.property('message')
        .that.matches(/REDIS_CLUSTER_NODES: "redis-2" is not host:port/);
    });
  });
});

describe('Redis Cluster: nodes that require a password', function () {
  this.timeout(60_000);
  // Generated per run; test-only.
  const password = randomBytes(12).toString('base64url');
  let cluster: PrivateRedisCluster;

  before(async () => {
    cluster = await startPrivateRedisCluster({ password });
  });
  after(async () => {
    await cluster?.stop();
  });

  const redisCluster = (extra: Record<string, string> = {}) =>
    loadConfig(
      testEnv({ REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.nodesVariable, ...extra }),
    ).config.redisCluster!;

  it('queues work with REDIS_CLUSTER_PASSWORD, and are refused without it', async () => {
    const prefix = freshPrefix();
    const withPassword = createWorkerConnection(redisCluster({ REDIS_CLUSTER_PASSWORD: password }));
    const queues = new JobQueues(withPassword, prefix);
    try {
      // A refused AUTH would have the connection retry for ever: fail within a bound instead.
      await withDeadline(10_000, once(withPassword, 'ready'));
      const job = await queues.enqueue('reconcile', {}, { jobId: 'with-password' });
      expect(await queues.presence('reconcile', [job.id!, 'never-added'])).to.deep.equal([
        'live',
        'missing',
      ]);
    } finally {
      await queues.close();
      withPassword.disconnect();
    }

    // Without it the client cannot even read the slot map: its error names the refusal.
    const withoutPassword = createProducerConnection(redisCluster());
    try {
      const [error] = (await once(withoutPassword, 'error')) as [Error & { lastNodeError?: Error }];
      expect(`${error.message} ${error.lastNodeError?.message}`).to.match(/NOAUTH/);
    } finally {
      withoutPassword.disconnect();
    }
  });

  it('refuses REDIS_CLUSTER_PASSWORD without REDIS_CLUSTER_NODES', () => {
    expect(() => loadConfig(testEnv({ REDIS_CLUSTER_PASSWORD: password })))
      .to.throw(ConfigError)
      .with.property('message')
      .that.matches(/REDIS_CLUSTER_PASSWORD: read only with REDIS_CLUSTER_NODES/);
  });
});
