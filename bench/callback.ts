// Benchmark 3, the callback path: /auth/callback with valid fresh states under a fixed request
// rate, against a floor measured at the same rate: a bare Express route doing one PostgreSQL
// UPDATE and one Queue.add.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import express from 'express';
import pg from 'pg';
import { testScenario } from '../test/support/emulator.js';
import { startHarness } from '../test/support/harness.js';
import { testRedisUrl } from '../test/support/redis.js';

export interface LatencyFigures {
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

const listen = async (app: express.Express): Promise<{ server: Server; url: string }> => {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
};

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
    non2xx3xx: result.non2xx + result.errors,
  };
}

export async function callbackBench(
  options: { rate?: number; seconds?: number } = {},
): Promise<CallbackResult & { chart?: undefined }> {
  const { rate = 300, seconds = 20 } = options;
  const requests = rate * seconds;
  const h = await startHarness(testScenario(), {}, { workers: false, logLevel: 'warn' });
  const pool = new pg.Pool({ connectionString: h.runtime.config.databaseUrl, max: 10 });
  const floorQueue = new Queue('floor', { connection: { url: testRedisUrl }, prefix: h.prefix });
  const servers: Server[] = [];
  try {
    // The floor: one UPDATE of a row like an attempt, one Queue.add, a redirect.
    await pool.query(
      'create table bench_floor (id serial primary key, state text unique, code text, received_at timestamptz)',
    );
    const floorStates = Array.from({ length: requests }, () =>
      randomBytes(32).toString('base64url'),
    );
    await pool.query('insert into bench_floor (state) select unnest($1::text[])', [floorStates]);
    const floorApp = express();
    floorApp.get('/floor', async (req, res) => {
      const { rows } = await pool.query<{ id: number }>(
        'update bench_floor set code = $1, received_at = now() where state = $2 and code is null returning id',
        [req.query.code, req.query.state],
      );
      await floorQueue.add(
        'x',
        { id: rows[0]?.id },
        { jobId: `floor-${rows[0]?.id ?? randomUUID()}` },
      );
      res.redirect(303, '/done');
    });
    const floor = await listen(floorApp);
    const service = await listen(h.app);
    servers.push(floor.server, service.server);

    // Fresh consents, each with its own state: every callback below is a first, valid one.
    const partner = await h.runtime.services.partners.create('Callback Partner', 'bench');
    const states: string[] = [];
    for (let i = 0; i < requests; i++) {
      const state = randomBytes(32).toString('base64url');
      await h.runtime.services.attempts.start({
        partnerId: partner.id,
        kind: 'partner_center',
        state,
        verifier: randomBytes(32).toString('base64url'),
        nonce: randomUUID(),
        returnUrl: 'http://localhost:3000/company/delegated-admin',
      });
      states.push(state);
    }
    const code = () => randomBytes(600).toString('base64url');
    const floorFigures = await load(
      floor.url,
      floorStates.map((s) => `/floor?code=${code()}&state=${s}`),
      rate,
    );
    const serviceFigures = await load(
      service.url,
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
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
    await floorQueue.close();
    await pool.end();
    await h.close(false);
  }
}
