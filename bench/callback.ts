// Benchmark 3, the callback path: /auth/callback with valid fresh states under a fixed request
// rate, against a floor measured at the same rate: a bare Express route doing one PostgreSQL
// UPDATE and one Queue.add (bench/floor-server.ts). Floor and service runs alternate, so a
// noisy moment of the machine falls on both sides; the figures are medians and spreads.
import { randomBytes, randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../src/logger.js';
import { ConsentAttemptStore } from '../src/store/consent-attempts.js';
import { openStore } from '../src/store/database.js';
import { KeyRing } from '../src/store/encryption.js';
import { PartnerStore } from '../src/store/partners.js';
import { testEnv } from '../test/support/config.js';
import { createTestDatabase } from '../test/support/database.js';
import { startService } from '../test/support/process.js';
import { closedPort, freshPrefix, removePrefix } from '../test/support/redis.js';
import type { BenchOutcome } from './results.js';
import { spread, type Spread } from './stats.js';

interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  requestsPerSec: number;
  non2xx3xx: number;
}

export type CallbackInputs = {
  rate: number;
  requestsPerRun: number;
  connections: number;
  pairs: number;
};

export interface CallbackFigures {
  /** Each pair in the order run: the floor, then the service. */
  pairs: { floor: LatencyFigures; service: LatencyFigures; p99Ratio: number }[];
  /** Service p99 / floor p99 of the same pair, over the pairs. */
  p99Ratio: Spread;
  serviceP50Ms: Spread;
  serviceP99Ms: Spread;
  floorP50Ms: Spread;
  floorP99Ms: Spread;
  /** Answers other than 3xx, and errors, over every run of either side. */
  non2xx3xx: number;
}

const connections = 20;

async function load(url: string, paths: string[], rate: number): Promise<LatencyFigures> {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    overallRate: rate,
    amount: paths.length,
    requests: [
      {
        setupRequest: (request) => ({ ...request, path: paths[next++ % paths.length]! }),
      },
    ],
  });
  return {
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requestsPerSec: result.requests.average,
    // Every answer should be the 303 back to the page.
    non2xx3xx: result['1xx'] + result['2xx'] + result['4xx'] + result['5xx'] + result.errors,
  };
}

export interface CallbackOptions {
  /** Requests per second, both sides. Default: 300 */
  rate?: number;
  /** Requests of each run. Default: 3000 (10 s at 300/s) */
  requestsPerRun?: number;
  /** Floor-then-service pairs. Default: 5 */
  pairs?: number;
}

export async function callbackBench(
  options: CallbackOptions = {},
): Promise<BenchOutcome<CallbackFigures, CallbackInputs>> {
  const { rate = 300, requestsPerRun = 3000, pairs = 5 } = options;
  const requests = requestsPerRun * pairs;
  // Both servers in processes of their own, as in production; the load comes from this one.
  const database = await createTestDatabase();
  const prefix = freshPrefix();
  const [apiPort, floorPort] = [await closedPort(), await closedPort()];
  const env = testEnv({
    DATABASE_URL: database.url,
    QUEUE_PREFIX: prefix,
    PORT: String(apiPort),
    PUBLIC_URL: `http://localhost:${apiPort}`,
    LOG_LEVEL: 'warn',
  });
  const api = startService('src/server/main.ts', env);
  const floor = startService('bench/floor-server.ts', { ...env, PORT: String(floorPort) });
  const { config } = loadConfig(env);
  const log = createLogger({ level: 'silent' });
  const store = openStore({ databaseUrl: config.databaseUrl, log });
  try {
    // Logging at warn, as a busy production API would: wait for health instead of a log line.
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${apiPort}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await floor.waitForLog((l) => l.msg === 'floor listening');
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    await pool.query(
      'create table bench_floor (id serial primary key, state text unique, code text, received_at timestamptz)',
    );
    const floorStates = Array.from({ length: requests }, () =>
      randomBytes(32).toString('base64url'),
    );
    await pool.query('insert into bench_floor (state) select unnest($1::text[])', [floorStates]);
    await pool.end();

    // Fresh consents, each with its own state: every callback below is a first, valid one.
    const partners = new PartnerStore(store.db, new KeyRing(config.encryptionKeys));
    const attempts = new ConsentAttemptStore(store.db, new KeyRing(config.encryptionKeys));
    const partner = await partners.create('Callback Partner', 'bench');
    const states: string[] = [];
    for (let i = 0; i < requests; i++) {
      const state = randomBytes(32).toString('base64url');
      await attempts.start({
        partnerId: partner.id,
        kind: 'partner_center',
        state,
        verifier: randomBytes(32).toString('base64url'),
        nonce: randomUUID(),
        returnUrl: `http://localhost:${apiPort}/company/delegated-admin`,
      });
      states.push(state);
    }
    const code = () => randomBytes(600).toString('base64url');
    const runs: CallbackFigures['pairs'] = [];
    for (let pair = 0; pair < pairs; pair++) {
      const slice = (all: string[]) =>
        all.slice(pair * requestsPerRun, (pair + 1) * requestsPerRun);
      const floorFigures = await load(
        `http://127.0.0.1:${floorPort}`,
        slice(floorStates).map((s) => `/floor?code=${code()}&state=${s}`),
        rate,
      );
      const serviceFigures = await load(
        `http://127.0.0.1:${apiPort}`,
        slice(states).map((s) => `/auth/callback?code=${code()}&state=${s}`),
        rate,
      );
      runs.push({
        floor: floorFigures,
        service: serviceFigures,
        p99Ratio: serviceFigures.p99Ms / floorFigures.p99Ms,
      });
    }
    return {
      inputs: { rate, requestsPerRun, connections, pairs },
      figures: {
        pairs: runs,
        p99Ratio: spread(runs.map((r) => r.p99Ratio)),
        serviceP50Ms: spread(runs.map((r) => r.service.p50Ms)),
        serviceP99Ms: spread(runs.map((r) => r.service.p99Ms)),
        floorP50Ms: spread(runs.map((r) => r.floor.p50Ms)),
        floorP99Ms: spread(runs.map((r) => r.floor.p99Ms)),
        non2xx3xx: runs.reduce((sum, r) => sum + r.floor.non2xx3xx + r.service.non2xx3xx, 0),
      },
    };
  } finally {
    for (const p of [api, floor]) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    await store.close();
    await database.drop();
    await removePrefix(prefix);
  }
}
