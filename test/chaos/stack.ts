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

export const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';

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
  api!: ServiceProcess;
  base!: string;
  env!: Record<string, string | undefined>;
  db!: pg.Pool;

  private constructor(
    readonly emulator: TestEmulator,
    readonly redis: PrivateRedis,
    readonly postgres: PrivatePostgres,
  ) {}

  static async start(customers: number): Promise<ChaosStack> {
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
      rateLimits: { partnerCenterRps: 300, graphRps: 100 },
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
      LOG_LEVEL: 'info',
      ...emulatorEnv(emulator),
      PARTNER_CENTER_REQUESTS_PER_SECOND: '100',
      // Faults come back within seconds, not production's half-minutes.
      JOB_LOCK_SECONDS: '2',
      RECONCILE_INTERVAL_SECONDS: '2',
      MICROSOFT_HTTP_TIMEOUT_SECONDS: '2',
    });
    stack.db = new pg.Pool({ connectionString: postgres.url, max: 2 });
    stack.db.on('error', () => {}); // PostgreSQL restarts on purpose
    stack.api = startService('src/server/main.ts', stack.env);
    await stack.api.waitForLog((l) => l.msg === 'API listening');
    await stack.startWorker();
    return stack;
  }

  async startWorker(): Promise<ServiceProcess> {
    const worker = startService('workers/main.ts', this.env);
    this.workers.push(worker);
    await worker.waitForLog((l) => l.msg === 'workers started');
    return worker;
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
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
  }

  async run(partnerId: string): Promise<RunView | null> {
    const { body } = await this.api_('GET', `/partners/${partnerId}/delegated-admin`);
    return (body as { run: RunView | null }).run;
  }

  /** Polls the status endpoint until `done` holds (the suite is a script, not a test). */
  async until(
    partnerId: string,
    done: (run: RunView) => boolean,
    timeoutMs = 180_000,
  ): Promise<RunView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.run(partnerId).catch(() => null);
      if (run && done(run)) return run;
      if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(run)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Every log line of every process so far. */
  logLines(): string[] {
    return [...this.api.lines, ...this.workers.flatMap((w) => w.lines)];
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
