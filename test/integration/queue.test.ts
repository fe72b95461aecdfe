import { expect } from 'chai';
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobDeps } from '../../jobs/deps.js';
import { createLogger } from '../../src/logger.js';
import { classifyMicrosoftError } from '../../src/microsoft/errors.js';
import { createWorkerConnection } from '../../src/queue/connections.js';
import { JobQueues } from '../../src/queue/job-queues.js';
import {
  startWorkerPool,
  type ProcessorTable,
  type WorkerPool,
} from '../../src/queue/worker-pool.js';
import { openStore, type Store } from '../../src/store/database.js';
import { KeyRing } from '../../src/store/encryption.js';
import { createServices } from '../../src/dependencies.js';
import { processors } from '../../workers/processors.js';
import { testConfig } from '../support/config.js';
import { freshPrefix, removePrefix, testRedisUrl } from '../support/redis.js';

const log = createLogger({ level: 'silent' });

describe('queue layer', function () {
  let prefix: string;
  let connection: Redis;
  let queues: JobQueues;
  let events: QueueEvents;
  let pool: WorkerPool | undefined;
  let store: Store;
  let deps: JobDeps;

  before(async () => {
    store = openStore({ databaseUrl: undefined, log });
    await store.migrate();
  });
  after(async () => {
    await store.close();
  });

  beforeEach(async () => {
    prefix = freshPrefix();
    connection = createWorkerConnection(testRedisUrl);
    queues = new JobQueues(connection, prefix);
    // Read the (fresh) prefix's event stream from its start: a listener that begins at "now"
    // can miss an event emitted before its first read, even once it is ready.
    events = new QueueEvents('maintenance', {
      connection: { url: testRedisUrl },
      prefix,
      lastEventId: '0-0',
    });
    await events.waitUntilReady();
    const config = testConfig({ QUEUE_PREFIX: prefix });
    const keyRing = new KeyRing(config.encryptionKeys);
    deps = {
      ...createServices(config, store, keyRing, connection),
      config,
      log,
      queues,
    };
  });

  afterEach(async function () {
    await pool?.close(1_000);
    pool = undefined;
    await events.close();
    await queues.close();
    connection.disconnect();
    // Keep the keys of a failed test for inspection.
    if (this.currentTest?.state === 'passed') await removePrefix(prefix);
  });

  it('runs the reconciler, which (re)creates the schedules', async () => {
    pool = startWorkerPool({ connection, prefix, processors, deps, log });
    const job = await queues.enqueue('reconcile', {}, { jobId: 'reconcile-test' });
    const result = (await job.waitUntilFinished(events, 10_000)) as { schedules: string[] };
    expect(result.schedules).to.deep.equal([
      'reconcile',
      'refreshAllPartners',
      'validateCustomLicenseTokens',
      'sendAlertDigests',
    ]);
    // The digest on the alerts queue, so its sends never hold up the reconciler.
    const digest = await queues.get('alerts').getJobSchedulers();
    expect(digest.map((s) => [s.key, s.pattern, s.tz])).to.deep.equal([
      ['sendAlertDigests', '0 0 7 * * *', 'UTC'],
    ]);
    const schedulers = await queues.get('maintenance').getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.pattern, s.tz])).to.have.deep.members([
      ['reconcile', '0 * * * * *', 'UTC'],
      ['refreshAllPartners', '0 0 3 * * *', 'UTC'],
      ['validateCustomLicenseTokens', '0 0 4 * * *', 'UTC'],
    ]);
    // Idempotent: a second run leaves one scheduler and one delayed job for each.
    await queues.ensureQueueSetup();
    expect(await queues.get('maintenance').getJobSchedulersCount()).to.equal(3);
    expect(await queues.get('maintenance').getDelayedCount()).to.equal(3);
  });

  it('ignores a second enqueue with the same job id', async () => {
    const first = await queues.enqueue('reconcile', {}, { jobId: 'same' });
    const second = await queues.enqueue('reconcile', {}, { jobId: 'same' });
    expect(second.id).to.equal(first.id);
    expect(await queues.get('maintenance').getWaitingCount()).to.equal(1);
  });

  it('refuses a payload that does not match the catalog, and ids BullMQ cannot take', async () => {
    let error: unknown;
    try {
      await queues.enqueue('reconcile', { token: 'x' } as unknown as Record<string, never>);
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/unrecognized key/i);
    let idError: unknown;
    await queues.enqueue('reconcile', {}, { jobId: 'a:b' }).catch((e: unknown) => (idError = e));
    expect(String(idError)).to.contain("must not contain ':'");
    expect(await queues.get('maintenance').count()).to.equal(0);
  });

  it('checks every job of a bulk enqueue as enqueue does, and adds none when one is bad', async () => {
    const bad = [
      { payload: {}, jobId: 'fine' },
      { payload: { token: 'x' } as unknown as Record<string, never>, jobId: 'bad-payload' },
    ];
    let error: unknown;
    await queues.enqueueBulk('reconcile', bad).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/unrecognized key/i);
    let idError: unknown;
    await queues
      .enqueueBulk('reconcile', [
        { payload: {}, jobId: 'fine' },
        { payload: {}, jobId: 'a:b' },
      ])
      .catch((e: unknown) => (idError = e));
    expect(String(idError)).to.contain("must not contain ':'");
    expect(await queues.get('maintenance').count()).to.equal(0);
    // Deduplication holds across bulk and single adds.
    await queues.enqueueBulk('reconcile', [
      { payload: {}, jobId: 'one', deduplicationKey: 'same-work' },
      { payload: {}, jobId: 'two', deduplicationKey: 'same-work' },
    ]);
    await queues.enqueue('reconcile', {}, { jobId: 'three', deduplicationKey: 'same-work' });
    expect(await queues.get('maintenance').getWaitingCount()).to.equal(1);
  });

  it('fails a job that meets a bug at once, without retries, instead of retrying it', async () => {
    let runs = 0;
    const buggy: ProcessorTable<JobDeps> = {
      ...processors,
      reconcile: () => {
        runs += 1;
        // What a processor does with a failure: classify it. A TypeError is no Microsoft failure.
        classifyMicrosoftError(new TypeError("Cannot read properties of undefined (reading 'id')"));
        return Promise.resolve({ schedules: [] });
      },
    };
    pool = startWorkerPool({ connection, prefix, processors: buggy, deps, log });
    const job = await queues.get('maintenance').add('reconcile', {}, { attempts: 5 });
    let failure: unknown;
    await job.waitUntilFinished(events, 10_000).catch((e: unknown) => (failure = e));
    expect(String(failure)).to.contain('TypeError: Cannot read properties of undefined');
    const stored = await queues.get('maintenance').getJob(job.id!);
    expect(stored!.attemptsMade).to.equal(1);
    expect(runs).to.equal(1);
  });

  it('fails a job with a bad payload at once, without retries', async () => {
    pool = startWorkerPool({ connection, prefix, processors, deps, log });
    // Bypass enqueue's validation, as a stale producer or a hand-made job would.
    const job = await queues.get('maintenance').add('reconcile', { extra: 1 }, { attempts: 5 });
    let failure: unknown;
    await job.waitUntilFinished(events, 10_000).catch((e: unknown) => (failure = e));
    expect(String(failure)).to.contain('invalid payload for reconcile');
    const stored = await queues.get('maintenance').getJob(job.id!);
    expect(stored!.attemptsMade).to.equal(1);
  });

  it('does not start when a catalog job has no processor', () => {
    const incomplete = {} as ProcessorTable<JobDeps>;
    expect(() =>
      startWorkerPool({ connection, prefix, processors: incomplete, deps, log }),
    ).to.throw(/job "reconcile" has no processor/);
  });

  it('on shutdown lets a running job finish within the grace period', async () => {
    let release: () => void = () => {};
    const finishing: ProcessorTable<JobDeps> = {
      ...processors,
      reconcile: async (_payload, _deps, ctx) => {
        const released = new Promise<void>((resolve) => (release = resolve));
        await ctx.updateProgress(1);
        await released;
        return { finished: !ctx.signal.aborted };
      },
    };
    pool = startWorkerPool({ connection, prefix, processors: finishing, deps, log });
    const active = new Promise<void>((resolve) => events.once('progress', () => resolve()));
    const job = await queues.enqueue('reconcile', {});
    await active;
    const closing = pool.close(10_000);
    pool = undefined;
    release();
    await closing;
    const stored = await queues.get('maintenance').getJob(job.id!);
    expect(await stored!.getState()).to.equal('completed');
    expect(stored!.returnvalue).to.deep.equal({ finished: true });
  });

  it('on shutdown cancels a job still running past the grace period', async () => {
    let sawAbort = false;
    const stuck: ProcessorTable<JobDeps> = {
      ...processors,
      reconcile: (_payload, _deps, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(new Error('cancelled'));
          });
          void ctx.updateProgress(1);
        }),
    };
    pool = startWorkerPool({ connection, prefix, processors: stuck, deps, log });
    const active = new Promise<void>((resolve) => events.once('progress', () => resolve()));
    await queues.enqueue('reconcile', {});
    await active;
    await pool.close(200);
    pool = undefined;
    expect(sawAbort).to.be.true;
  });
});
