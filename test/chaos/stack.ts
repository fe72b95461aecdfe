import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { ScenarioInput } from '../../emulator/scenario.js';
import { testEnv, testSecrets } from '../support/config.js';
import {
  emulatorEnv,
  startTestEmulator,
  testScenario,
  type TestEmulator,
} from '../support/emulator.js';
import { startService, type ServiceProcess } from '../support/process.js';
import { closedPort, startPrivateRedis, type PrivateRedis } from '../support/redis.js';
import { startPrivatePostgres, type PrivatePostgres } from './postgres.js';
import { within } from '../support/within.js';

export const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';

export { within };

/** Polls `check` every 250 ms until it returns a value (not undefined), within `ms`. */
export async function poll<T>(
  ms: number,
  what: string,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: Error | undefined;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error as Error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `gave up after ${Math.round(ms / 1000)} s waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The service's production timings: a crashed job waits out its lock, calls their timeout. */
export const realTimings: Record<string, string | undefined> = {
  JOB_LOCK_SECONDS: undefined,
  RECONCILE_INTERVAL_SECONDS: undefined,
  MICROSOFT_HTTP_TIMEOUT_SECONDS: undefined,
};

export interface RunView {
  id: string;
  status: string;
  total: number;
  succeeded: number;
  failed: number;
}

/**
 * The service as production runs it, against private Redis and PostgreSQL instances: an API
 * process and a worker process (restartable), the emulator in this process.
 */
export class ChaosStack {
  readonly workers: ServiceProcess[] = [];
  /** API and worker processes replaced by `restartServices`, kept for their logs. */
  readonly retired: ServiceProcess[] = [];
  api!: ServiceProcess;
  base!: string;
  env!: Record<string, string | undefined>;
  db!: pg.Pool;

  private constructor(
    readonly emulator: TestEmulator,
    readonly redis: PrivateRedis,
    readonly postgres: PrivatePostgres,
  ) {}

  static async start(
    customers: number,
    timings: Record<string, string | undefined>,
  ): Promise<ChaosStack> {
    const [redis, postgres, port] = await Promise.all([
      startPrivateRedis(),
      startPrivatePostgres(),
      closedPort(),
    ]);
    const base = `http://localhost:${port}`;
    const scenario: ScenarioInput = testScenario();
    scenario.clients[0]!.redirectUris = [`${base}/auth/callback`];
    scenario.latencyMs = 10;
    // Below MSAL's renewal margin: every job redeems (and rotates) the refresh token, so the
    // secret scan has hundreds of tokens to look for, and rotation is under stress too.
    scenario.tokenLifetimes = { accessTokenSec: 299 };
    scenario.partners[0] = {
      ...scenario.partners[0]!,
      rateLimits: { partnerCenterRps: 300 },
      customers: { generate: { seed: 99, count: customers } },
    };
    const emulator = await startTestEmulator(scenario);
    const stack = new ChaosStack(emulator, redis, postgres);
    stack.base = base;
    stack.env = testEnv({
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: '{chaos}',
      PORT: String(port),
      PUBLIC_URL: base,
      ...emulatorEnv(emulator),
      PARTNER_CENTER_REQUESTS_PER_SECOND: '100',
      ...timings,
    });
    // Its own limits: a connection or query that hangs ends as an error, not a stuck suite.
    stack.db = new pg.Pool({
      connectionString: postgres.url,
      max: 2,
      connectionTimeoutMillis: 10_000,
      query_timeout: 60_000,
    });
    stack.db.on('error', () => {}); // PostgreSQL restarts on purpose
    await stack.startApi();
    await stack.startWorker();
    return stack;
  }

  private async startApi(): Promise<void> {
    this.api = startService('src/server/main.ts', this.env);
    await within(
      60_000,
      'the API process to log "API listening"',
      this.api.waitForLog((l) => l.msg === 'API listening'),
    );
  }

  async startWorker(): Promise<ServiceProcess> {
    const worker = startService('workers/main.ts', this.env);
    this.workers.push(worker);
    await within(
      60_000,
      'the worker process to log "workers started"',
      worker.waitForLog((l) => l.msg === 'workers started'),
    );
    return worker;
  }

  /** Stops the API and the workers (SIGTERM) and starts them again with `env` changed. */
  async restartServices(env: Record<string, string | undefined>): Promise<void> {
    for (const p of [this.api, ...this.workers]) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        await within(60_000, 'a service process to exit after SIGTERM', p.exited);
      }
    }
    this.retired.push(this.api, ...this.workers.splice(0));
    this.env = { ...this.env, ...env };
    for (const [name, value] of Object.entries(env)) if (value === undefined) delete this.env[name];
    await this.startApi();
    await this.startWorker();
  }

  async api_(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.base}/api/v1${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${testSecrets.ADMIN_API_TOKEN}`,
        'Content-Type': 'application/json',
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
  }

  async run(partnerId: string): Promise<RunView | null> {
    const { body } = await this.api_('GET', `/partners/${partnerId}/delegated-admin`);
    return (body as { run: RunView | null }).run;
  }

  /** Polls the status endpoint until `done` holds, within `timeoutMs`. */
  async until(
    partnerId: string,
    done: (run: RunView) => boolean,
    what: string,
    timeoutMs = 180_000,
  ): Promise<RunView> {
    let last: RunView | null = null;
    try {
      return await poll(timeoutMs, what, async () => {
        last = await this.run(partnerId);
        return last && done(last) ? last : undefined;
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}; last run seen: ${JSON.stringify(last)}`, {
        cause: error,
      });
    }
  }

  /** The consent queue's jobs by state. */
  async consentJobs(): Promise<{
    active: number;
    waiting: number;
    delayed: number;
    total: number;
  }> {
    const queue = new Queue('consent', { connection: { url: this.redis.url }, prefix: '{chaos}' });
    try {
      const counts = await queue.getJobCounts();
      return {
        active: counts.active ?? 0,
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        delayed: counts.delayed ?? 0,
        total: Object.values(counts).reduce((a, b) => a + b, 0),
      };
    } finally {
      await queue.close();
    }
  }

  /** Every log line of every process so far. */
  logLines(): string[] {
    return [this.api, ...this.workers, ...this.retired].flatMap((p) => p.lines);
  }

  redisClient(): Redis {
    return new Redis(this.redis.url, { maxRetriesPerRequest: 3 });
  }

  async stop(): Promise<void> {
    for (const p of [this.api, ...this.workers]) {
      if (p && p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
    await this.db.end().catch(() => {});
    await this.emulator.stop();
    await this.redis.stop();
    await this.postgres.stop();
  }
}
