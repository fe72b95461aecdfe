import { Writable } from 'node:stream';
import { Job, QueueEvents } from 'bullmq';
import { expect } from 'chai';
import type { Express } from 'express';
import request from 'supertest';
import type { ScenarioInput } from '../../emulator/scenario.js';
import { createLogger } from '../../src/logger.js';
import { jobIds, queueNames, type QueueName } from '../../src/queue/catalog.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { createApp } from '../../src/server/app.js';
import { runWorkers, type RunningWorkers } from '../../workers/run.js';
import { testConfig, testSecrets } from './config.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { startTestEmulator, testClient, testScenario, type TestEmulator } from './emulator.js';
import { freshPrefix, removePrefix, testRedisUrl } from './redis.js';

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
  workers: RunningWorkers;
  app: Express;
  logLines: string[];
  responses: string[];
  prefix: string;
  api(method: 'get' | 'post', path: string, body?: object): Promise<request.Response>;
  /** Resolves with the job's result once it finished (race-free: it may be done already). */
  finished(queue: QueueName, jobId: string): Promise<Record<string, unknown>>;
  /** Straight-through consent by `upn`; resolves after the exchange and replacement ran. */
  grant(
    partnerId: string,
    upn: string,
  ): Promise<{ attemptId: string; callback: string; outcome: Record<string, unknown> }>;
  close(keep: boolean): Promise<void>;
}

export async function startHarness(
  scenario: ScenarioInput = testScenario(),
  env: Record<string, string> = {},
): Promise<Harness> {
  const emulator = await startTestEmulator(scenario);
  const database: TestDatabase = await createTestDatabase();
  const prefix = freshPrefix();
  const config = testConfig({
    DATABASE_URL: database.url,
    QUEUE_PREFIX: prefix,
    PUBLIC_URL: publicUrl,
    MICROSOFT_CLOUD: 'custom',
    MICROSOFT_AUTHORITY_HOST: emulator.url,
    PARTNER_CENTER_URL: emulator.url,
    GRAPH_URL: emulator.url,
    HTTP_EXTRA_CA_FILE: emulator.caFile,
    MICROSOFT_CLIENT_ID: testClient.clientId,
    MICROSOFT_CLIENT_SECRET: testClient.clientSecret,
    ...env,
  });
  const logLines: string[] = [];
  const responses: string[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });
  const runtime = await openRuntime(config, log);
  const workers = runWorkers(runtime);
  await workers.scheduled;
  const app = createApp(runtime);
  // Each job waited on adds a listener to its queue; a test waits on hundreds at once.
  for (const queue of runtime.queues.all()) queue.setMaxListeners(1_000);
  // Listening from the start: a QueueEvents made after a job may miss its finish, because
  // its first read of the stream starts at "now" after waitUntilReady has resolved.
  const events = new Map<QueueName, QueueEvents>(
    queueNames.map((queue) => [
      queue,
      new QueueEvents(queue, { connection: { url: testRedisUrl }, prefix }),
    ]),
  );
  await Promise.all([...events.values()].map((e) => e.waitUntilReady()));
  const eventsOf = (queue: QueueName) => events.get(queue)!;

  const harness: Harness = {
    emulator,
    runtime,
    workers,
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
      await workers.close(1_000);
      await runtime.close();
      await emulator.stop();
      if (!keep) {
        await database.drop();
        await removePrefix(prefix);
      }
    },
  };
  return harness;
}
