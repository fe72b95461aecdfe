// Benchmark 3, the callback path: /auth/callback with valid fresh states under a fixed request
// rate, against a floor measured at the same rate: a bare Express route doing one PostgreSQL
// UPDATE and one Queue.add (bench/floor-server.ts).
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

interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  requestsPerSec: number;
  non2xx3xx: number;
}

export interface CallbackResult {
  rate: number;
  requests: number;
  service: LatencyFigures;
  floor: LatencyFigures;
  p99Ratio: number;
}

async function load(url: string, paths: string[], rate: number): Promise<LatencyFigures> {
  let next = 0;
  const result = await autocannon({
    url,
    connections: 20,
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

export async function callbackBench(
  options: { rate?: number; seconds?: number } = {},
): Promise<CallbackResult & { chart?: undefined }> {
  const { rate = 300, seconds = 20 } = options;
  const requests = rate * seconds;
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
    const floorFigures = await load(
      `http://127.0.0.1:${floorPort}`,
      floorStates.map((s) => `/floor?code=${code()}&state=${s}`),
      rate,
    );
    const serviceFigures = await load(
      `http://127.0.0.1:${apiPort}`,
      states.map((s) => `/auth/callback?code=${code()}&state=${s}`),
      rate,
    );
    return {
      rate,
      requests,
      service: serviceFigures,
      floor: floorFigures,
      p99Ratio: serviceFigures.p99Ms / floorFigures.p99Ms,
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
