// npm run chaos: the reliability suite. Breaks the service on purpose against private Redis and
// PostgreSQL instances and prints one line per scenario: what was done, expected and seen.
// Results go to docs/RELIABILITY.md. Slow (minutes), so not part of npm test.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { Queue } from 'bullmq';
import { queueNames } from '../../src/queue/catalog.js';
import { testSecrets } from '../support/config.js';
import { ChaosStack, partnerTenant } from './stack.js';
import { hostileCallbacks } from './hostile.js';

const customers = 500;

interface Outcome {
  scenario: string;
  did: string;
  expected: string;
  seen: string;
  ok: boolean;
}

const outcomes: Outcome[] = [];
function report(outcome: Outcome) {
  outcomes.push(outcome);
  process.stdout.write(
    `${outcome.ok ? 'PASS' : 'FAIL'} ${outcome.scenario}: did ${outcome.did}; expected ${outcome.expected}; saw ${outcome.seen}\n`,
  );
}

const stack = await ChaosStack.start(customers);
const legacyPassword = `legacy-pw-${Date.now()}-test-only`;
try {
  // A partner with a legacy account and every customer as a company, then its consent.
  const partner = (await stack.api_('POST', '/partners', { name: 'Chaos Partner' })).body as {
    id: string;
  };
  await stack.api_('POST', `/partners/${partner.id}/delegated-admins`, {
    username: 'sync@first.example',
    password: legacyPassword,
  });
  const all = stack.emulator.state.directory.partner(partnerTenant)!.customers;
  for (let i = 0; i < all.length; i += 25) {
    await Promise.all(
      all.slice(i, i + 25).map((c) =>
        stack.api_('POST', `/partners/${partner.id}/companies`, {
          name: c.name,
          customerTenantId: c.tenantId,
        }),
      ),
    );
  }
  const started = (
    await stack.api_('POST', `/partners/${partner.id}/consents`, {
      returnTo: '/',
      loginHint: 'admin@first.example',
    })
  ).body as { authorizeUrl: string };
  const atMicrosoft = await stack.emulator.http.get(started.authorizeUrl);
  const consentCallback = String(atMicrosoft.headers.location);
  await fetch(consentCallback, { redirect: 'manual' });
  await stack.until(partner.id, (r) => r.status !== 'running');

  const syncNow = async () =>
    ((await stack.api_('POST', `/partners/${partner.id}/refresh`)).body as { runId: string }).runId;
  const onceEach = async (runId: string) => {
    const { rows } = await stack.db.query<{ tenants: string; duplicates: string }>(
      `select count(distinct customer_tenant_id) as tenants,
              count(*) - count(distinct (customer_tenant_id, sku_id)) as duplicates
         from license_snapshots where run_id = $1`,
      [runId],
    );
    return { tenants: Number(rows[0]!.tenants), duplicates: Number(rows[0]!.duplicates) };
  };

  // 1. kill -9 the worker three times during a run.
  {
    const runId = await syncNow();
    for (const at of [100, 200, 300]) {
      await stack.until(partner.id, (r) => r.succeeded >= at);
      const worker = stack.workers.at(-1)!;
      worker.child.kill('SIGKILL');
      await worker.exited;
      await stack.startWorker();
    }
    const run = await stack.until(partner.id, (r) => r.status !== 'running');
    const { tenants, duplicates } = await onceEach(runId);
    report({
      scenario: '1. worker killed',
      did: `kill -9 of the worker at 100, 200 and 300 of ${customers} customers, each time restarted`,
      expected: `run completed ${customers}/${customers}, a snapshot set for every customer, no duplicate rows`,
      seen: `run ${run.status} ${run.succeeded}/${run.total} (${run.failed} failed), ${tenants} customers with snapshots, ${duplicates} duplicate rows`,
      ok:
        run.status === 'completed' &&
        run.succeeded === customers &&
        tenants === customers &&
        duplicates === 0,
    });
  }

  // 2. Redis restarted empty mid-run.
  {
    const runId = await syncNow();
    await stack.until(partner.id, (r) => r.succeeded >= 150);
    await stack.redis.restart();
    const run = await stack.until(partner.id, (r) => r.status !== 'running');
    const { tenants, duplicates } = await onceEach(runId);
    report({
      scenario: '2. Redis restarted without persistence',
      did: `restarted Redis (empty) at 150 of ${customers} customers`,
      expected: `the reconciler rebuilds the queue from PostgreSQL; run completed ${customers}/${customers}`,
      seen: `run ${run.status} ${run.succeeded}/${run.total}, ${tenants} customers with snapshots, ${duplicates} duplicate rows`,
      ok: run.status === 'completed' && run.succeeded === customers && duplicates === 0,
    });
  }

  // 3. PostgreSQL restarted mid-run.
  {
    const runId = await syncNow();
    await stack.until(partner.id, (r) => r.succeeded >= 150);
    await stack.postgres.restart();
    const run = await stack.until(partner.id, (r) => r.status !== 'running');
    const { tenants, duplicates } = await onceEach(runId);
    report({
      scenario: '3. PostgreSQL restarted',
      did: `restarted PostgreSQL (fast shutdown) at 150 of ${customers} customers`,
      expected: `jobs retry; run completed ${customers}/${customers}`,
      seen: `run ${run.status} ${run.succeeded}/${run.total}, ${tenants} customers with snapshots, ${duplicates} duplicate rows`,
      ok: run.status === 'completed' && run.succeeded === customers && duplicates === 0,
    });
  }

  // 4. Upstream faults: 20% 5xx, 10% 429, 2% timeouts, and one customer answering 403.
  {
    const forbidden = all[42]!.tenantId;
    const calls = '/v1/customers/*/{subscribedskus,subscriptions}';
    await stack.emulator.http.post(`${stack.emulator.url}/_emulator/faults`, [
      { path: `/v1/customers/${forbidden}/subscribedskus`, status: 403 },
      { path: calls, status: 500, probability: 0.2 },
      // Conditional on the faults before: about 10% and 2% of all calls.
      { path: calls, status: 429, retryAfterSec: 1, probability: 0.125 },
      { path: calls, delayMs: 5_000, probability: 0.0286 },
    ]);
    const since = stack.emulator.state.log.at(-1)?.id ?? 0;
    const runId = await syncNow();
    const run = await stack.until(partner.id, (r) => r.status !== 'running', 300_000);
    await stack.emulator.http.delete(`${stack.emulator.url}/_emulator/faults`);
    // Delayed answers are logged when they end, after the client gave up on them.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const faults = stack.emulator.state.log.filter((e) => e.id > since && e.fault);
    const count = (status: number) => faults.filter((e) => e.status === status).length;
    const { rows } = await stack.db.query<{
      customer_tenant_id: string;
      attempts: number;
      error_code: string;
    }>(
      `select customer_tenant_id, attempts, error_code from refresh_results where run_id = $1 and status = 'failed'`,
      [runId],
    );
    const { duplicates } = await onceEach(runId);
    report({
      scenario: '4. upstream faults',
      did: `answered ${count(500)} calls 500, ${count(429)} calls 429, delayed ${count(499)} past the 2 s timeout, and one customer 403`,
      expected: `${customers - 1} customers refreshed; the 403 customer failed at once (1 attempt)`,
      seen: `run ${run.status} ${run.succeeded}/${run.total}; failed: ${rows.map((r) => `${r.customer_tenant_id === forbidden ? 'the 403 customer' : r.customer_tenant_id} (${r.error_code}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'})`).join(', ') || 'none'}; ${duplicates} duplicate rows`,
      ok:
        run.succeeded === customers - 1 &&
        rows.length === 1 &&
        rows[0]!.customer_tenant_id === forbidden &&
        rows[0]!.attempts === 1 &&
        duplicates === 0,
    });
  }

  // 5. Hostile callbacks.
  {
    const queues = queueNames.map(
      (name) => new Queue(name, { connection: { url: stack.redis.url }, prefix: '{chaos}' }),
    );
    const jobs = async () => {
      let n = 0;
      for (const q of queues) {
        n += Object.values(await q.getJobCounts()).reduce((a, b) => a + b, 0);
      }
      return n;
    };
    const consentJobsBefore = await jobs();
    const result = await hostileCallbacks(stack, consentCallback, 10_000);
    // Maintenance jobs (the reconciler) run meanwhile; consent jobs are what a callback adds.
    const consent = queues.find((q) => q.name === 'consent')!;
    const consentCounts = await consent.getJobCounts();
    const healthy = (await fetch(`${stack.base}/healthz`)).status === 200;
    const alive = stack.api.child.exitCode === null;
    report({
      scenario: '5. hostile callbacks',
      did: `sent ${result.sent} malformed or hostile requests to /auth/callback (${result.kinds.join(', ')})`,
      expected: 'no 5xx, no job enqueued, the process up',
      seen: `${result.fiveXx} answers 5xx, ${result.failedRequests} requests without an answer, statuses ${JSON.stringify(result.statuses)}, consent jobs ${Object.values(consentCounts).reduce((a, b) => a + b, 0)} (1 before: the real consent), process ${alive && healthy ? 'up' : 'DOWN'}`,
      ok:
        result.fiveXx === 0 &&
        alive &&
        healthy &&
        Object.values(consentCounts).reduce((a, b) => a + b, 0) <= 2 &&
        consentJobsBefore >= 0,
    });
    await Promise.all(queues.map((q) => q.close()));
  }

  // 6. Secret scan.
  {
    const issued = JSON.parse(
      (await stack.emulator.http.get<string>(`${stack.emulator.url}/_emulator/issued`)).data,
    ) as Record<string, string[]>;
    const secrets = new Map<string, string>();
    for (const [kind, values] of Object.entries(issued)) {
      for (const v of values) if (v.length >= 16) secrets.set(v, kind);
    }
    secrets.set(legacyPassword, 'legacy password');
    secrets.set(testSecrets.MICROSOFT_CLIENT_SECRET, 'client secret');
    const sources: [string, string][] = [['logs', stack.logLines().join('\n')]];
    const redis = stack.redisClient();
    let cursor = '0';
    const redisText: string[] = [];
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? await redis.get(key)
            : type === 'hash'
              ? JSON.stringify(await redis.hgetall(key))
              : type === 'list'
                ? JSON.stringify(await redis.lrange(key, 0, -1))
                : type === 'set'
                  ? JSON.stringify(await redis.smembers(key))
                  : type === 'zset'
                    ? JSON.stringify(await redis.zrange(key, 0, -1))
                    : type === 'stream'
                      ? JSON.stringify(await redis.xrange(key, '-', '+'))
                      : '';
        redisText.push(key, value ?? '');
      }
    } while (cursor !== '0');
    redis.disconnect();
    sources.push(['Redis', redisText.join('\n')]);
    const board: string[] = [];
    for (const queue of queueNames) {
      for (const status of ['latest', 'active', 'waiting', 'delayed', 'completed', 'failed']) {
        const res = await fetch(
          `${stack.base}/admin/queues/api/queues?activeQueue=${queue}&status=${status}&page=1&jobsPerPage=1000`,
          { headers: { Authorization: `Bearer ${testSecrets.ADMIN_API_TOKEN}` } },
        );
        board.push(await res.text());
      }
    }
    sources.push(['Bull Board API', board.join('\n')]);
    const { rows: columns } = await stack.db.query<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns
        where table_schema = 'public' and data_type in ('text', 'jsonb', 'json', 'character varying')`,
    );
    const pgText: string[] = [];
    for (const c of columns) {
      const { rows } = await stack.db.query<{ v: string | null }>(
        `select "${c.column_name}"::text as v from "${c.table_name}"`,
      );
      for (const r of rows) if (r.v) pgText.push(r.v);
    }
    sources.push(['PostgreSQL', pgText.join('\n')]);
    const leaks: string[] = [];
    for (const [where, text] of sources) {
      for (const [secret, kind] of secrets) {
        if (text.includes(secret)) leaks.push(`${kind} in ${where}`);
      }
    }
    report({
      scenario: '6. secret scan',
      did: `searched logs (${stack.logLines().length} lines), ${redisText.length / 2} Redis keys, the Bull Board API and ${columns.length} PostgreSQL text columns for ${secrets.size} secrets (${Object.entries(
        issued,
      )
        .map(([k, v]) => `${v.length} ${k}`)
        .join(', ')}, the legacy password, the client secret)`,
      expected: 'none in clear',
      seen: leaks.length === 0 ? 'none' : [...new Set(leaks)].join('; '),
      ok: leaks.length === 0,
    });
  }
} finally {
  await stack.stop();
}

const lines = [
  '# Reliability',
  '',
  'The service broken on purpose, by `npm run chaos` (`test/chaos/run.ts`): an API process and',
  'a worker process as in production, against a private redis-server and a private PostgreSQL',
  "cluster (pg_createcluster) on other ports, never the machine's shared ones, and the emulator.",
  `${customers} customers per run; paced at 100 requests/s; crashed jobs come back after 2 s`,
  '(`JOB_LOCK_SECONDS`), the reconciler runs every 2 s, Microsoft calls time out after 2 s.',
  '',
  '| Scenario | Done | Expected | Seen | |',
  '|---|---|---|---|---|',
  ...outcomes.map(
    (o) =>
      `| ${o.scenario} | ${o.did} | ${o.expected} | ${o.seen} | ${o.ok ? 'pass' : '**FAIL**'} |`,
  ),
  '',
  `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
  '',
];
writeFileSync(new URL('../../docs/RELIABILITY.md', import.meta.url), lines.join('\n'));
process.stdout.write('wrote docs/RELIABILITY.md\n');
process.exit(outcomes.every((o) => o.ok) && outcomes.length === 6 ? 0 : 1);
