import { expect } from 'chai';
import { Redis } from 'ioredis';
import { subscribedSkus } from '../../emulator/tenants.js';
import { skusPerTenantReadIn } from '../support/license-state.js';
import type { RefreshRun } from '../../src/store/refresh-runs.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { startService, type ServiceProcess } from '../support/process.js';
import { startPrivateRedis, type PrivateRedis } from '../support/redis.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
const customerCount = 150;

// Long enough to interrupt: 300 Partner Center calls at 40/s, each 20 ms late.
const scenario = {
  ...scenarioWith((p) =>
    p.tenantId === partnerTenant
      ? {
          ...p,
          rateLimits: { partnerCenterRps: 100 },
          customers: { generate: { seed: 23, count: customerCount } },
        }
      : p,
  ),
  latencyMs: 20,
};
const tuning = {
  PARTNER_CENTER_REQUESTS_PER_SECOND: '40',
  // A crashed worker's jobs come back within seconds, not the production half-minute.
  JOB_LOCK_SECONDS: '2',
  RECONCILE_INTERVAL_SECONDS: '2',
};

/** A partner whose every customer is a company; resolves once consent started the run. */
async function consentedPartner(h: Harness): Promise<{ partnerId: string; runId: string }> {
  const partner = (await h.api('post', '/partners', { name: 'Recovering Partner' })).body as {
    id: string;
  };
  for (const c of h.emulator.state.directory.partner(partnerTenant)!.customers) {
    await h.runtime.services.partners.addCompany(
      partner.id,
      { name: c.name, customerTenantId: c.tenantId },
      'test',
    );
  }
  await h.grant(partner.id, 'admin@first.example');
  const status = (await h.api('get', `/partners/${partner.id}/delegated-admin`)).body as {
    run: { id: string };
  };
  return { partnerId: partner.id, runId: status.run.id };
}

/** Resolves once `count` customer jobs of the refresh queue have completed. */
function completions(h: Harness, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onCompleted = () => {
      seen += 1;
      if (seen >= count) {
        h.events('refresh').off('completed', onCompleted);
        resolve();
      }
    };
    h.events('refresh').on('completed', onCompleted);
  });
}

/** Every customer has exactly the SKUs its subscribed SKUs make, read in this run. */
async function expectOneSnapshotSetEach(h: Harness, run: RefreshRun): Promise<void> {
  expect(run).to.include({ status: 'completed', total: customerCount, succeeded: customerCount });
  const rows = await skusPerTenantReadIn(h.runtime.store.db, run.id);
  const directory = h.emulator.state.directory;
  const expected = directory.partner(partnerTenant)!.customers.map((c) => ({
    tenant: c.tenantId,
    n: subscribedSkus(directory.detail(c)).length,
  }));
  expect(rows).to.have.deep.members(expected);
}

describe('recovery: a run survives a killed worker and a Redis that lost its data', function () {
  this.timeout(180_000);

  describe('a worker killed mid-run', () => {
    let h: Harness;
    const workers: ServiceProcess[] = [];

    before(async () => {
      h = await startHarness(scenario, tuning, { workers: false });
    });
    after(async function () {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      await h?.close(suiteFailed(this));
    });

    const startWorker = async () => {
      const worker = startService('workers/main.ts', { ...h.env, LOG_LEVEL: 'info' });
      workers.push(worker);
      await worker.waitForLog((l) => l.msg === 'workers started');
      return worker;
    };

    it('after kill -9 and a restart, every customer has exactly one snapshot set', async () => {
      const first = await startWorker();
      const progressed = completions(h, 40);
      const { runId } = await consentedPartner(h);
      await progressed;
      first.child.kill('SIGKILL');
      await first.exited;
      const midRun = (await h.runtime.services.runs.progress(runId))!;
      expect(midRun.status).to.equal('running');
      expect(midRun.succeeded).to.be.within(1, customerCount - 1);

      await startWorker();
      await expectOneSnapshotSetEach(h, await h.runEnded(runId));
    });
  });

  describe('Redis flushed mid-run (a private redis-server)', () => {
    let redis: PrivateRedis;
    let h: Harness;

    before(async () => {
      redis = await startPrivateRedis();
      h = await startHarness(scenario, { ...tuning, REDIS_URL: redis.url });
    });
    after(async function () {
      await h?.close(suiteFailed(this));
      await redis?.stop();
    });

    it('the reconciler rebuilds the lost work from PostgreSQL and the run completes', async () => {
      const progressed = completions(h, 40);
      const { runId } = await consentedPartner(h);
      await progressed;
      const client = new Redis(redis.url);
      await client.flushall();
      client.disconnect();
      const midRun = (await h.runtime.services.runs.progress(runId))!;
      expect(midRun.status).to.equal('running');
      expect(midRun.succeeded).to.be.below(customerCount);

      const run = await h.runEnded(runId);
      await expectOneSnapshotSetEach(h, run);
      // The schedules and the refresh queue's global concurrency are back as well.
      expect(await h.runtime.queues.get('maintenance').getJobScheduler('reconcile')).to.exist;
      expect(await h.runtime.queues.get('refresh').getGlobalConcurrency()).to.equal(
        h.runtime.config.queues.refreshGlobalConcurrency,
      );
    });
  });
});
