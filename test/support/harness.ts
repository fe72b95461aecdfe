import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { Job, QueueEvents } from 'bullmq';
import { expect } from 'chai';
import type { Express } from 'express';
import request from 'supertest';
import type { ScenarioInput } from '../../emulator/scenario.js';
import { createLogger } from '../../src/logger.js';
import { createWorkerConnection, redisTargetOf } from '../../src/queue/connections.js';
import { jobIds, queueNames, type QueueName } from '../../src/queue/catalog.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { createApp } from '../../src/server/app.js';
import { runWorkers, type RunningWorkers } from '../../workers/run.js';
import { loadConfig } from '../../config/index.js';
import type { RefreshRun } from '../../src/store/refresh-runs.js';
import { partners } from '../../src/store/schema.js';
import { testEnv, testSecrets } from './config.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { emulatorEnv, startTestEmulator, testScenario, type TestEmulator } from './emulator.js';
import { freshPrefix, removePrefix } from './redis.js';

export const publicUrl = 'http://localhost:3000';
export const adminAuth = { Authorization: `Bearer ${testSecrets.ADMIN_API_TOKEN}` };

/**
 * The whole service against the emulator: a fresh database and queue prefix, the API app
 * (for supertest), real workers, and queue events to wait on. Logs and API responses are
 * recorded for leak scans.
 */
export interface Harness {
  emulator: TestEmulator;
  runtime: Runtime;
  /** The in-process workers; undefined with `workers: false` (a test runs its own). */
  workers: RunningWorkers | undefined;
  /** The environment the service runs with, for a worker process of the test's own. */
  env: Record<string, string | undefined>;
  app: Express;
  logLines: string[];
  responses: string[];
  prefix: string;
  api(
    method: 'get' | 'post' | 'put' | 'patch' | 'delete',
    path: string,
    body?: object,
  ): Promise<request.Response>;
  /** Events of one queue, listened to since the harness started. */
  events(queue: QueueName): QueueEvents;
  /** Resolves with the job's result once it finished (race-free: it may be done already). */
  finished(queue: QueueName, jobId: string): Promise<Record<string, unknown>>;
  /**
   * Resolves once the run is no longer running (checked on every refresh job's end) and its
   * listing job, which may outlast it, has settled.
   */
  runEnded(runId: string): Promise<RefreshRun>;
  /** Straight-through consent by `upn`; resolves after the exchange and replacement ran. */
  grant(
    partnerId: string,
    upn: string,
  ): Promise<{ attemptId: string; callback: string; outcome: Record<string, unknown> }>;
  close(keep: boolean): Promise<void>;
}

export interface HarnessOptions {
  /** Run workers in the test process. Default: true */
  workers?: boolean;
  /** Level of the recorded service logs. Default: debug */
  logLevel?: 'debug' | 'info' | 'warn';
  /** More CAs the service trusts besides the emulator's (a PSA emulator's), as PEM. */
  extraCaPem?: string;
}

export async function startHarness(
  scenario: ScenarioInput = testScenario(),
  overrides: Record<string, string | undefined> = {},
  options: HarnessOptions = {},
): Promise<Harness> {
  const emulator = await startTestEmulator(scenario);
  const database: TestDatabase = await createTestDatabase();
  const prefix = freshPrefix();
  const caFiles: Record<string, string> = {};
  if (options.extraCaPem) {
    const file = join(dirname(emulator.caFile), 'trusted-cas.pem');
    writeFileSync(file, `${emulator.ca}\n${options.extraCaPem}`);
    caFiles.HTTP_EXTRA_CA_FILE = file;
  }
  const env = testEnv({
    DATABASE_URL: database.url,
    QUEUE_PREFIX: prefix,
    PUBLIC_URL: publicUrl,
    ...emulatorEnv(emulator),
    ...caFiles,
    ...overrides,
  });
  const config = loadConfig(env).config;
  const logLines: string[] = [];
  const responses: string[] = [];
  const log = createLogger({
    level: options.logLevel ?? 'debug',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });
  const runtime = await openRuntime(config, log);
  const workers = options.workers === false ? undefined : runWorkers(runtime);
  await workers?.scheduled;
  const app = createApp(runtime);
  // Each job waited on adds a listener to its queue; a test waits on hundreds at once.
  for (const queue of runtime.queues.all()) queue.setMaxListeners(1_000);
  // Listening from the start: a QueueEvents made after a job may miss its finish, because
  // its first read of the stream starts at "now" after waitUntilReady has resolved.
  // Each its own connection, to the cluster when the service has one.
  const eventConnections = queueNames.map(() => createWorkerConnection(redisTargetOf(config)));
  const events = new Map<QueueName, QueueEvents>(
    queueNames.map((queue, i) => [
      queue,
      new QueueEvents(queue, { connection: eventConnections[i]!, prefix }),
    ]),
  );
  await Promise.all([...events.values()].map((e) => e.waitUntilReady()));
  const eventsOf = (queue: QueueName) => events.get(queue)!;

  const harness: Harness = {
    emulator,
    runtime,
    workers,
    env,
    app,
    logLines,
    responses,
    prefix,
    async api(method, path, body) {
      const call = request(app)[method](`/api/v1${path}`).set(adminAuth);
      const res = await (body ? call.send(body) : call);
      responses.push(res.text);
      return res;
    },
    async finished(queue, jobId) {
      const job = await Job.fromId(runtime.queues.get(queue), jobId);
      if (!job) throw new Error(`no job ${jobId}`);
      return job.waitUntilFinished(eventsOf(queue), 60_000) as Promise<Record<string, unknown>>;
    },
    events: eventsOf,
    async runEnded(runId) {
      const refresh = eventsOf('refresh');
      // The listing job reads GDAP access beside the customers, so it may outlast the run.
      const listingSettled = async (id: string) => {
        const job = await Job.fromId(runtime.queues.get('partners'), jobIds.refreshPartner(id));
        if (!job || ['completed', 'failed'].includes(await job.getState())) return;
        await job.waitUntilFinished(eventsOf('partners'), 60_000).catch((error: unknown) => {
          if (String(error).includes('timed out')) throw error;
        });
      };
      // The reconciler may end a run too (tenants whose jobs failed outside the run's records),
      // and so may its listing (a run with no customer to refresh, or stopped).
      const maintenance = eventsOf('maintenance');
      const partners = eventsOf('partners');
      return new Promise<RefreshRun>((resolve, reject) => {
        let checking = false;
        let again = false;
        const check = () => {
          if (checking) {
            again = true;
            return;
          }
          checking = true;
          runtime.services.runs
            .get(runId)
            .then((run) => {
              checking = false;
              if (run && run.status !== 'running') {
                refresh.off('completed', check);
                refresh.off('failed', check);
                maintenance.off('completed', check);
                partners.off('completed', check);
                partners.off('failed', check);
                listingSettled(runId).then(() => resolve(run), reject);
              } else if (again) {
                again = false;
                check();
              }
            })
            .catch(reject);
        };
        refresh.on('completed', check);
        refresh.on('failed', check);
        maintenance.on('completed', check);
        partners.on('completed', check);
        partners.on('failed', check);
        check();
      });
    },
    async grant(partnerId, upn) {
      const started = await harness.api('post', `/partners/${partnerId}/consents`, {
        returnTo: '/company/delegated-admin',
        loginHint: upn,
      });
      expect(started.status).to.equal(201);
      const { attemptId, authorizeUrl } = started.body as {
        attemptId: string;
        authorizeUrl: string;
      };
      const atMicrosoft = await emulator.http.get(authorizeUrl);
      expect(atMicrosoft.status).to.equal(302);
      const location = new URL(String(atMicrosoft.headers.location));
      expect(location.origin + location.pathname).to.equal(`${publicUrl}/auth/callback`);
      const callback = location.pathname + location.search;
      const back = await request(app).get(callback);
      expect(back.status).to.equal(303);
      expect(back.headers.location).to.equal(
        `${publicUrl}/company/delegated-admin?consent=pending&attempt=${attemptId}`,
      );
      const outcome = await harness.finished('consent', jobIds.exchangeConsentCode(attemptId));
      if (outcome.outcome === 'completed') {
        await harness.finished(
          'consent',
          jobIds.replaceLegacyAdmins(outcome.delegatedAdminId as string),
        );
      }
      return { attemptId, callback, outcome };
    },
    async close(keep) {
      for (const e of events.values()) await e.close();
      for (const c of eventConnections) c.disconnect();
      await workers?.close(1_000);
      await runtime.close();
      await emulator.stop();
      if (!keep) {
        await database.drop();
        // A cluster of the test's own goes away with its keys.
        if (!config.redisCluster) await removePrefix(prefix);
      }
    },
  };
  return harness;
}

/**
 * Frees every Microsoft tenant from the partners holding it, as if they had left: suites whose
 * tests each make a partner and consent with the same emulated tenant's accounts call it before
 * each test, since one tenant serves one partner.
 */
export async function releaseTenants(h: Harness): Promise<void> {
  await h.runtime.store.db.update(partners).set({ homeTenantId: null });
}
