// npm run chaos: the reliability suite. Breaks the service on purpose against private Redis and
// PostgreSQL instances and prints one line per scenario: what was done, expected and seen.
// Results go to docs/RELIABILITY.md. Slow (minutes), so not part of npm test.
// CHAOS_CUSTOMERS (default 500) sizes the partner; CHAOS_SCENARIOS=1,3b runs only those (the
// others then count as missing and the suite fails): both for working on the suite itself.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, QueueEvents } from 'bullmq';
import { jobIds, queueNames } from '../../src/queue/catalog.js';
import { createLogger } from '../../src/logger.js';
import { hashPassword } from '../../src/server/auth/passwords.js';
import { openStore } from '../../src/store/database.js';
import { UserStore } from '../../src/store/users.js';
import { testSecrets } from '../support/config.js';
import { ChaosStack, partnerTenant, poll, realTimings, within } from './stack.js';
import { hostileCallbacks } from './hostile.js';
import { PageSession } from './page-session.js';
import { psaOutage } from './psa-outage.js';
import { alertCrash, deliveredPayloads } from './alert-crash.js';
import { verifyRun, type FaultWindow } from './verify.js';

const customers = Number(process.env.CHAOS_CUSTOMERS ?? 500);
if (!Number.isInteger(customers) || customers < 10 || customers > 5_000) {
  process.stderr.write('CHAOS_CUSTOMERS: expected a whole number from 10 to 5000\n');
  process.exit(64);
}
const only = process.env.CHAOS_SCENARIOS?.split(',').map((s) => s.trim());

/** Faults come back within seconds: crashed jobs after 2 s, calls time out after 2 s. */
const fastTimings = {
  JOB_LOCK_SECONDS: '2',
  RECONCILE_INTERVAL_SECONDS: '2',
  MICROSOFT_HTTP_TIMEOUT_SECONDS: '2',
  LOG_LEVEL: 'info',
};
/** Production's timings (lock 30 s, timeouts 30 s, reconciler every minute), logging at debug. */
const productionTimings = { ...realTimings, LOG_LEVEL: 'debug' };
const postgresOutageMs = 30_000;
const redisOutageMs = 60_000;

interface Outcome {
  scenario: string;
  did: string;
  expected: string;
  seen: string;
  ok: boolean;
}
type Timings = 'fast' | 'production';
interface Scenario {
  id: string;
  title: string;
  /** Timings the scenario needs; undefined when any will do. */
  timings?: Timings;
  run: () => Promise<Omit<Outcome, 'scenario'>>;
}

const outcomes: Outcome[] = [];
function report(outcome: Outcome) {
  outcomes.push(outcome);
  process.stdout.write(
    `${outcome.ok ? 'PASS' : 'FAIL'} ${outcome.scenario}: did ${outcome.did}; expected ${outcome.expected}; saw ${outcome.seen}\n`,
  );
}

const startedAt = Date.now();
const stack = await ChaosStack.start(customers, fastTimings);
// Interrupted: still remove the private Redis and PostgreSQL and the service processes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stdout.write(`${signal}: stopping the stack\n`);
    void stack.stop().finally(() => process.exit(130));
  });
}
let timings: Timings = 'fast';
const legacyPassword = `legacy-pw-${Date.now()}-test-only`;
const pagePasswords = {
  a: `page-a-pw-${Date.now()}-test-only`,
  b: `page-b-pw-${Date.now()}-test-only`,
};
const all = stack.emulator.state.directory.partner(partnerTenant)!.customers;
const tenants = all.map((c) => c.tenantId);
let partnerId = '';
let consentCallback = '';
const silent = createLogger({ level: 'silent' });
const store = openStore({ databaseUrl: stack.postgres.url, log: silent });

const syncNow = async () => {
  const res = await stack.api_('POST', `/partners/${partnerId}/refresh`);
  if (res.status !== 202 && res.status !== 200 && res.status !== 201) {
    throw new Error(`sync now answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return (res.body as { runId: string }).runId;
};
const runEnd = (what: string, ms = 300_000) =>
  stack.until(partnerId, (r) => r.status !== 'running', what, ms);
const lastLogId = () => stack.emulator.state.log.at(-1)?.id ?? 0;
const onceEach = async (runId: string) => {
  const { rows } = await stack.db.query<{ tenants: string; duplicates: string }>(
    // Customers whose latest read was this run; a (tenant, SKU) is one row by its key, so a
    // repeat shows as a second read of the result instead (refresh_results checks that).
    `select count(distinct r.customer_tenant_id) as tenants,
            count(l.sku_id) - count(distinct (l.customer_tenant_id, l.sku_id)) as duplicates
       from customer_license_reads r
       left join customer_licenses l
         on l.partner_id = r.partner_id and l.customer_tenant_id = r.customer_tenant_id
      where r.run_id = $1`,
    [runId],
  );
  return { tenants: Number(rows[0]!.tenants), duplicates: Number(rows[0]!.duplicates) };
};

/**
 * A run with `fault` applied once the run is under way; judged by the service's tables and by
 * Microsoft's side (the emulator's data and request log).
 */
async function faultyRun(fault: () => Promise<FaultWindow[]>, runLimitMs = 300_000) {
  const since = lastLogId();
  const runId = await syncNow();
  const windows = await fault();
  const run = await runEnd(`run ${runId} to end after the fault`, runLimitMs);
  const { tenants: withSnapshots, duplicates } = await onceEach(runId);
  const verdict = await verifyRun(stack, runId, tenants, since, windows);
  return {
    expected: `run completed ${customers}/${customers}, a snapshot set for every customer, no duplicate rows; every customer's quantities equal Microsoft's; Microsoft read each customer once (again only if a fault cut its job short)`,
    seen: `run ${run.status} ${run.succeeded}/${run.total} (${run.failed} failed), ${withSnapshots} customers with snapshots, ${duplicates} duplicate rows; ${verdict.summary}`,
    ok:
      run.id === runId &&
      run.status === 'completed' &&
      run.succeeded === customers &&
      withSnapshots === customers &&
      duplicates === 0 &&
      verdict.ok,
  };
}

const whenDone = (at: number) =>
  stack.until(partnerId, (r) => r.succeeded >= at, `the run to reach ${at} customers`);

/** Takes PostgreSQL or Redis away for `ms`, doing `during` meanwhile; always brings it back. */
async function outage<T>(
  service: 'PostgreSQL' | 'Redis',
  ms: number,
  during: () => Promise<T>,
): Promise<{ window: FaultWindow; during: T }> {
  const target = service === 'PostgreSQL' ? stack.postgres : stack.redis;
  await within(30_000, `${service} to stop`, target.down());
  const from = Date.now();
  try {
    const result = await during();
    // The outage's length is the fault itself, not a wait for the service.
    await sleep(Math.max(0, from + ms - Date.now()));
    return { window: { from, to: Date.now() }, during: result };
  } finally {
    await within(60_000, `${service} to start again`, target.up());
  }
}

/** A consent of the partner started through the API, and the callback Microsoft sends back. */
async function startConsent() {
  const res = await stack.api_('POST', `/partners/${partnerId}/consents`, {
    returnTo: '/',
    loginHint: 'admin@first.example',
  });
  if (res.status !== 201) throw new Error(`starting a consent answered ${res.status}`);
  const { attemptId, authorizeUrl } = res.body as { attemptId: string; authorizeUrl: string };
  const atMicrosoft = await stack.emulator.http.get(authorizeUrl);
  return { attemptId, callback: String(atMicrosoft.headers.location) };
}

interface Answer {
  status: number;
  type: string;
  text: string;
}
async function callBack(url: string): Promise<Answer> {
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(25_000) });
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      text: await res.text(),
    };
  } catch (error) {
    return { status: 0, type: '', text: `no answer: ${String(error)}` };
  }
}
const describeAnswer = (a: Answer) =>
  a.status === 0
    ? a.text
    : `${a.status} ${a.type.split(';')[0] || 'no type'}${a.status >= 400 ? ` "${(/<h1[^>]*>([^<]*)/.exec(a.text)?.[1] ?? a.text.slice(0, 80)).trim()}"` : ''}`;

/** The attempt once it ended, and then the end of any run its consent started. */
async function consentEnded(attemptId: string, ms: number) {
  let last: { status: string; error: string | null } | undefined;
  const attempt = await poll(ms, `consent attempt ${attemptId} to complete or fail`, async () => {
    const { rows } = await stack.db.query<{ status: string; error: string | null }>(
      'select status, error from consent_attempts where id = $1',
      [attemptId],
    );
    last = rows[0];
    return last && ['completed', 'failed', 'expired'].includes(last.status) ? last : undefined;
  }).catch(() => ({
    // Reported as seen, so the table says where the attempt stopped.
    status: `still ${last?.status ?? 'missing'} ${Math.round(ms / 1000)} s after the outage`,
    error: last?.error ?? null,
  }));
  const run = await runEnd('the run the consent started to end');
  return { attempt, run };
}

/** Holds the next token request at Microsoft for `ms`; resolves once one arrives. */
async function tokenRequestHeld(ms: number, start: () => Promise<unknown>) {
  const held = stack.emulator.state.addFault({
    path: '/*/oauth2/v2.0/token',
    method: 'POST',
    delayMs: ms,
    count: 1,
  });
  try {
    await start();
    await poll(30_000, 'the code exchange to ask Microsoft for tokens', () =>
      Promise.resolve(held.remaining === 0 ? true : undefined),
    );
  } finally {
    stack.emulator.state.faults = stack.emulator.state.faults.filter((f) => f.id !== held.id);
  }
}

const retryPage = (a: Answer) =>
  a.status === 503 && a.type.startsWith('text/html') && /try again|retry/i.test(a.text);

/** The callback reloaded until it answers below 500, as the user the 503 page asked to. */
const reloadUntilAnswered = (url: string) =>
  poll(90_000, 'the callback to answer without a 5xx once the outage ended', async () => {
    const again = await callBack(url);
    return again.status > 0 && again.status < 500 ? again : undefined;
  });

const consentExpected = 'the consent completes; any run it starts completes';
function consentSeen(
  during: Answer,
  retried: Answer | undefined,
  ended: Awaited<ReturnType<typeof consentEnded>>,
) {
  return `callback answered ${describeAnswer(during)}${retried ? `, reloaded after: ${describeAnswer(retried)}` : ''}; attempt ${ended.attempt.status}${ended.attempt.error ? ` (${ended.attempt.error})` : ''}; run ${ended.run.status} ${ended.run.succeeded}/${ended.run.total}`;
}
const consentOk = (ended: Awaited<ReturnType<typeof consentEnded>>) =>
  ended.attempt.status === 'completed' &&
  ended.run.status === 'completed' &&
  ended.run.failed === 0;

const scenarios: Scenario[] = [
  {
    id: '1',
    title: 'worker killed',
    timings: 'fast',
    run: async () => {
      const result = await faultyRun(async () => {
        const windows: FaultWindow[] = [];
        for (const at of [0.2, 0.4, 0.6].map((f) => Math.round(f * customers))) {
          await whenDone(at);
          const worker = stack.workers.at(-1)!;
          worker.child.kill('SIGKILL');
          windows.push({ from: Date.now(), to: Date.now() });
          await within(30_000, 'the killed worker to exit', worker.exited);
          await stack.startWorker();
        }
        return windows;
      });
      return {
        did: `kill -9 of the worker at 20, 40 and 60% of ${customers} customers, each time restarted`,
        ...result,
      };
    },
  },
  {
    id: '2',
    title: 'Redis restarted without persistence',
    timings: 'fast',
    run: async () => {
      const result = await faultyRun(async () => {
        await whenDone(Math.round(customers * 0.3));
        const from = Date.now();
        await within(30_000, 'Redis to restart', stack.redis.restart());
        return [{ from, to: Date.now() }];
      });
      return {
        did: `restarted Redis (empty) at 30% of ${customers} customers`,
        ...result,
        expected: `the reconciler rebuilds the queue from PostgreSQL; ${result.expected}`,
      };
    },
  },
  {
    id: '3',
    title: 'PostgreSQL restarted',
    timings: 'fast',
    run: async () => {
      const result = await faultyRun(async () => {
        await whenDone(Math.round(customers * 0.3));
        const from = Date.now();
        await within(60_000, 'PostgreSQL to restart', stack.postgres.restart());
        return [{ from, to: Date.now() }];
      });
      return {
        did: `restarted PostgreSQL (fast shutdown, 1–2 s) at 30% of ${customers} customers`,
        ...result,
        expected: `jobs retry; ${result.expected}`,
      };
    },
  },
  {
    id: '3b',
    title: `PostgreSQL down ${postgresOutageMs / 1000} s at a consent's callback`,
    timings: 'production',
    run: async () => {
      const { attemptId, callback } = await startConsent();
      const { during } = await outage('PostgreSQL', postgresOutageMs, () => callBack(callback));
      const retried = await reloadUntilAnswered(callback);
      const ended = await consentEnded(attemptId, 180_000);
      return {
        did: `stopped PostgreSQL for ${postgresOutageMs / 1000} s, the consent's callback arriving meanwhile; reloaded the callback after`,
        expected: `the callback answers an HTML 503 asking to try again; reloaded after, it is accepted (303) and ${consentExpected}`,
        seen: consentSeen(during, retried, ended),
        ok: retryPage(during) && retried.status === 303 && consentOk(ended),
      };
    },
  },
  {
    id: '3c',
    title: `PostgreSQL down ${postgresOutageMs / 1000} s during a consent's code exchange`,
    timings: 'production',
    run: async () => {
      const { attemptId, callback } = await startConsent();
      let back: Answer | undefined;
      await tokenRequestHeld(3_000, async () => (back = await callBack(callback)));
      await outage('PostgreSQL', postgresOutageMs, async () => {});
      const ended = await consentEnded(attemptId, 180_000);
      return {
        did: `stopped PostgreSQL for ${postgresOutageMs / 1000} s while the code exchange waited for Microsoft's tokens`,
        expected: `callback accepted (303); ${consentExpected}`,
        seen: consentSeen(back!, undefined, ended),
        ok: back!.status === 303 && consentOk(ended),
      };
    },
  },
  {
    id: '3d',
    title: `PostgreSQL down ${postgresOutageMs / 1000} s during a run`,
    timings: 'production',
    run: async () => {
      const result = await faultyRun(async () => {
        await whenDone(Math.round(customers * 0.3));
        const { window } = await outage('PostgreSQL', postgresOutageMs, async () => {});
        return [window];
      }, 600_000);
      return {
        did: `stopped PostgreSQL for ${postgresOutageMs / 1000} s at 30% of ${customers} customers`,
        ...result,
      };
    },
  },
  {
    id: '3e',
    title: `Redis down ${redisOutageMs / 1000} s at a consent's callback`,
    timings: 'production',
    run: async () => {
      const { attemptId, callback } = await startConsent();
      const { during } = await outage('Redis', redisOutageMs, () => callBack(callback));
      // An error page asks the user to come back; a 303 or a "finishing shortly" page does not.
      const retried =
        during.status === 0 || retryPage(during) ? await reloadUntilAnswered(callback) : undefined;
      const ended = await consentEnded(attemptId, 180_000);
      return {
        did: `stopped Redis for ${redisOutageMs / 1000} s (it comes back empty), the consent's callback arriving meanwhile`,
        expected: `the callback answers (a 303, or an HTML page; never JSON or no answer); ${consentExpected} once Redis is back`,
        seen: consentSeen(during, retried, ended),
        ok:
          (during.status === 303 ||
            (during.status >= 200 && during.type.startsWith('text/html'))) &&
          consentOk(ended),
      };
    },
  },
  {
    id: '3f',
    title: `Redis down ${redisOutageMs / 1000} s during a consent's code exchange`,
    timings: 'production',
    run: async () => {
      const { attemptId, callback } = await startConsent();
      let back: Answer | undefined;
      await tokenRequestHeld(3_000, async () => (back = await callBack(callback)));
      await outage('Redis', redisOutageMs, async () => {});
      const ended = await consentEnded(attemptId, 180_000);
      return {
        did: `stopped Redis for ${redisOutageMs / 1000} s (it comes back empty) while the code exchange waited for Microsoft's tokens`,
        expected: `callback accepted (303); ${consentExpected}`,
        seen: consentSeen(back!, undefined, ended),
        ok: back!.status === 303 && consentOk(ended),
      };
    },
  },
  {
    id: '3g',
    title: `Redis down ${redisOutageMs / 1000} s during a run`,
    timings: 'production',
    run: async () => {
      const result = await faultyRun(async () => {
        await whenDone(Math.round(customers * 0.3));
        const { window } = await outage('Redis', redisOutageMs, async () => {});
        return [window];
      }, 600_000);
      return {
        did: `stopped Redis for ${redisOutageMs / 1000} s (it comes back empty) at 30% of ${customers} customers`,
        ...result,
        expected: `the reconciler rebuilds the queue from PostgreSQL; ${result.expected}`,
      };
    },
  },
  {
    id: '4',
    title: 'upstream faults',
    timings: 'fast',
    run: async () => {
      const forbidden = all[42 % all.length]!.tenantId;
      const calls = '/v1/customers/*/{subscribedskus,subscriptions}';
      await stack.emulator.http.post(`${stack.emulator.url}/_emulator/faults`, [
        { path: `/v1/customers/${forbidden}/subscribedskus`, status: 403 },
        { path: calls, status: 500, probability: 0.2 },
        // Conditional on the faults before: about 10% and 2% of all calls.
        { path: calls, status: 429, retryAfterSec: 1, probability: 0.125 },
        { path: calls, delayMs: 5_000, probability: 0.0286 },
      ]);
      const since = lastLogId();
      const runId = await syncNow();
      const run = await runEnd(`run ${runId} to end under upstream faults`);
      await stack.emulator.http.delete(`${stack.emulator.url}/_emulator/faults`);
      // Delayed answers are logged when they end, up to 5 s after the client gave up on them.
      await sleep(6_000);
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
      return {
        did: `answered ${count(500)} calls 500, ${count(429)} calls 429, delayed ${count(499)} past the 2 s timeout, and one customer 403`,
        expected: `${customers - 1} customers refreshed; the 403 customer failed at once (1 attempt)`,
        seen: `run ${run.status} ${run.succeeded}/${run.total}; failed: ${rows.map((r) => `${r.customer_tenant_id === forbidden ? 'the 403 customer' : r.customer_tenant_id} (${r.error_code}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'})`).join(', ') || 'none'}; ${duplicates} duplicate rows`,
        ok:
          run.id === runId &&
          run.succeeded === customers - 1 &&
          rows.length === 1 &&
          rows[0]!.customer_tenant_id === forbidden &&
          rows[0]!.attempts === 1 &&
          duplicates === 0,
      };
    },
  },
  {
    id: '5',
    title: 'hostile callbacks',
    timings: 'fast',
    run: async () => {
      // Every job added to the consent queue meanwhile, even one done and removed since.
      const events = new QueueEvents('consent', {
        connection: { url: stack.redis.url },
        prefix: '{chaos}',
      });
      await within(10_000, 'the consent queue events to connect', events.waitUntilReady());
      const added: string[] = [];
      events.on('added', ({ jobId }) => added.push(jobId));
      // A job added with a delay is announced as "delayed" instead.
      events.on('delayed', ({ jobId }) => {
        if (!added.includes(jobId)) added.push(jobId);
      });
      try {
        const before = await stack.consentJobs();
        const result = await hostileCallbacks(stack, partnerId, consentCallback, 10_000);
        // Events are read from Redis a moment after they happened: mark the end with a
        // delayed job of our own (no worker takes it) and read up to it.
        const marker = new Queue('consent', {
          connection: { url: stack.redis.url },
          prefix: '{chaos}',
        });
        const end = `chaos-marker-${Date.now()}`;
        await poll(10_000, 'the end marker among the consent queue events', async () => {
          if (!added.includes(end)) {
            const job = await marker.getJob(end);
            if (!job) await marker.add('chaosMarker', {}, { jobId: end, delay: 3_600_000 });
          }
          return added.includes(end) ? true : undefined;
        });
        await (await marker.getJob(end))?.remove();
        await marker.close();
        added.splice(added.indexOf(end), 1);
        const after = await stack.consentJobs();
        const healthy =
          (await fetch(`${stack.base}/healthz`, { signal: AbortSignal.timeout(10_000) })).status ===
          200;
        const alive = stack.api.child.exitCode === null;
        return {
          did: `sent ${result.sent} malformed or hostile requests to /auth/callback (${result.kinds.join(', ')}), 32 at a time`,
          expected: 'no 5xx, every request answered, no consent job added, the process up',
          seen: `${result.fiveXx} answers 5xx, ${result.failedRequests} requests without an answer, statuses ${JSON.stringify(result.statuses)}, ${added.length} consent jobs added${added.length ? ` (${added.slice(0, 3).join(', ')})` : ''} (${before.total} in the queue before, ${after.total} after), process ${alive && healthy ? 'up' : 'DOWN'}`,
          ok:
            result.fiveXx === 0 &&
            result.failedRequests === 0 &&
            added.length === 0 &&
            alive &&
            healthy,
        };
      } finally {
        await events.close();
      }
    },
  },
  {
    id: '5b',
    title: "consent completed in another partner's browser",
    timings: 'fast',
    run: async () => {
      const partnerB = (await stack.api_('POST', '/partners', { name: 'Chaos Partner B' }))
        .body as { id: string };
      const users = new UserStore(store.db);
      const stamp = Date.now();
      const emailA = `page-a-${stamp}@first.example`;
      const emailB = `page-b-${stamp}@second.example`;
      await users.create(
        {
          email: emailA,
          passwordHash: await hashPassword(pagePasswords.a),
          role: 'partner',
          partnerId,
        },
        'chaos',
      );
      await users.create(
        {
          email: emailB,
          passwordHash: await hashPassword(pagePasswords.b),
          role: 'partner',
          partnerId: partnerB.id,
        },
        'chaos',
      );
      // Partner B's user starts a consent from the pages...
      const b = new PageSession(stack.base);
      await b.logIn(emailB, pagePasswords.b);
      const page = await b.get(`/partners/${partnerB.id}/delegated-admin`);
      const started = await b.post(`/partners/${partnerB.id}/consent`, {
        _csrf: PageSession.csrfOf(page.text),
      });
      if (started.status !== 303)
        throw new Error(`starting the consent answered ${started.status}`);
      // ...and partner A's admin signs in at Microsoft from their own browser, where the
      // service knows them as partner A's user, not B's.
      const authorize = new URL(started.location!);
      authorize.searchParams.set('login_hint', 'admin@first.example');
      const atMicrosoft = await stack.emulator.http.get(authorize.toString());
      const callback = new URL(String(atMicrosoft.headers.location));
      const a = new PageSession(stack.base);
      await a.logIn(emailA, pagePasswords.a);
      const consentJobsBefore = await stack.consentJobs();
      const answer = await a.get(callback.pathname + callback.search);
      const { rows: attempts } = await stack.db.query<{ id: string; status: string }>(
        'select id, status from consent_attempts where partner_id = $1 order by created_at desc',
        [partnerB.id],
      );
      const attempt = attempts[0];
      const consent = new Queue('consent', {
        connection: { url: stack.redis.url },
        prefix: '{chaos}',
      });
      const exchange = attempt
        ? await consent.getJob(jobIds.exchangeConsentCode(attempt.id))
        : undefined;
      // Let an exchange the callback set off run to its end before looking at partner B.
      if (exchange) {
        await poll(120_000, `exchange job ${exchange.id} to end`, async () => {
          const state = await consent.getJobState(exchange.id!);
          return ['completed', 'failed', 'unknown'].includes(state) ? true : undefined;
        });
      }
      await consent.close();
      const { rows: bound } = await stack.db.query<{ n: string; tenant: string | null }>(
        `select (select count(*) from delegated_admins d where d.partner_id = p.id and d.kind <> 'legacy') as n,
                p.home_tenant_id as tenant
           from partners p where p.id = $1`,
        [partnerB.id],
      );
      const boundConsents = Number(bound[0]?.n ?? 0);
      const tenant = bound[0]?.tenant ?? null;
      const pending = answer.location?.includes('consent=pending') ?? false;
      const accepted = ['received', 'exchanging', 'completed'].includes(attempt?.status ?? '');
      return {
        did: `partner B's user started a consent from the pages; partner A's admin signed in at Microsoft and completed the callback in a browser logged in as partner A's user (consent jobs before: ${consentJobsBefore.total})`,
        expected:
          'the callback answers a page that completes nothing; partner B has no consent and no tenant; no exchange job',
        seen: `callback answered ${answer.status}${answer.location ? ` → ${answer.location.replace(/attempt=[^&]+/, 'attempt=…')}` : ''}; attempt ${attempt?.status ?? 'none'}; exchange job ${exchange ? 'ADDED' : 'none'}; partner B: ${boundConsents} consent${boundConsents === 1 ? '' : 's'}, tenant ${tenant ?? 'none'}`,
        ok:
          answer.status > 0 &&
          answer.status < 500 &&
          !pending &&
          !accepted &&
          !exchange &&
          boundConsents === 0 &&
          tenant === null,
      };
    },
  },
  // Before the secret scan, which searches what it delivered.
  {
    id: '8',
    title: 'alert survives a crash',
    timings: 'fast',
    run: () =>
      alertCrash(stack, partnerId, async () => {
        const again = await startConsent();
        const answer = await callBack(again.callback);
        const ended = await consentEnded(again.attemptId, 120_000);
        return `${answer.status} ${ended.attempt.status}`.replace(/^303 /, '');
      }),
  },
  {
    id: '6',
    title: 'secret scan',
    run: secretScan,
  },
  {
    id: '7',
    title: 'PSA outage',
    timings: 'fast',
    run: () => psaOutage(stack, partnerId, tenants),
  },
];

async function secretScan(): Promise<Omit<Outcome, 'scenario'>> {
  const issued = JSON.parse(
    (await stack.emulator.http.get<string>(`${stack.emulator.url}/_emulator/issued`)).data,
  ) as Record<string, string[]>;
  const secrets = new Map<string, string>();
  for (const [kind, values] of Object.entries(issued)) {
    for (const v of values) if (v.length >= 16) secrets.set(v, kind);
  }
  // OAuth states and nonces: what the emulator saw at its authorize endpoint.
  let states = 0;
  let nonces = 0;
  for (const entry of stack.emulator.state.log) {
    if (!entry.path.endsWith('/oauth2/v2.0/authorize')) continue;
    const query = new URLSearchParams(entry.query);
    const state = query.get('state');
    const nonce = query.get('nonce');
    if (state && state.length >= 16 && !secrets.has(state)) {
      secrets.set(state, 'OAuth state');
      states += 1;
    }
    if (nonce && nonce.length >= 16 && !secrets.has(nonce)) {
      secrets.set(nonce, 'OAuth nonce');
      nonces += 1;
    }
  }
  secrets.set(legacyPassword, 'legacy password');
  secrets.set(pagePasswords.a, 'page user password');
  secrets.set(pagePasswords.b, 'page user password');
  secrets.set(testSecrets.MICROSOFT_CLIENT_SECRET, 'client secret');
  secrets.set(testSecrets.ADMIN_API_TOKEN, 'ADMIN_API_TOKEN');
  secrets.set(testSecrets.SESSION_SECRET, 'SESSION_SECRET');
  for (const key of testSecrets.ENCRYPTION_KEYS.split(',')) {
    secrets.set(key.slice(key.indexOf(':') + 1), 'encryption key');
  }
  const logLines = stack.logLines();
  const debugLines = logLines.filter((l) => l.includes('"level":20')).length;
  const sources: [string, string][] = [['logs', logLines.join('\n')]];
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
        {
          headers: { Authorization: `Bearer ${testSecrets.ADMIN_API_TOKEN}` },
          signal: AbortSignal.timeout(30_000),
        },
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
  // What the alert scenario delivered: bodies and headers (the signature is the secret's
  // output, not the secret; the path is the channel's URL itself), and every mail whole.
  for (const [secret, kind] of deliveredPayloads.secrets) secrets.set(secret, kind);
  const { requests, mails } = deliveredPayloads;
  sources.push([
    'delivered webhooks',
    requests
      .map((r) => {
        const headers = Object.entries(r.headers).filter(
          ([name]) => name !== 'license-sync-signature',
        );
        return `${JSON.stringify(headers)}\n${r.body}`;
      })
      .join('\n'),
  ]);
  sources.push(['delivered mails', mails.map((m) => m.raw).join('\n')]);
  const leaks: string[] = [];
  for (const [where, text] of sources) {
    for (const [secret, kind] of secrets) {
      if (text.includes(secret)) leaks.push(`${kind} in ${where}`);
    }
  }
  const kinds = new Map<string, number>();
  for (const kind of secrets.values()) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  return {
    did: `searched logs (${logLines.length} lines, ${debugLines} at debug), ${redisText.length / 2} Redis keys, the Bull Board API, ${columns.length} PostgreSQL text columns (${pgText.length} values), ${requests.length} delivered webhook requests (bodies and headers but the signature) and ${mails.length} delivered mails (whole, headers and parts) for ${secrets.size} secrets (${[
      ...kinds,
    ]
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')})`,
    expected:
      'none in clear; debug logs of the API and workers among those searched; states and nonces among the secrets; the alerts delivered in scenario 8 among those searched',
    seen: leaks.length === 0 ? 'none' : [...new Set(leaks)].join('; '),
    ok:
      leaks.length === 0 &&
      debugLines > 0 &&
      states > 0 &&
      nonces > 0 &&
      // Alerts delivered (scenario 8 ran): their payloads were among those searched.
      (deliveredPayloads.secrets.size === 0 || (requests.length > 0 && mails.length > 0)),
  };
}

try {
  // A partner with a legacy account and every customer as a company, then its consent.
  const partner = (await stack.api_('POST', '/partners', { name: 'Chaos Partner' })).body as {
    id: string;
  };
  partnerId = partner.id;
  await stack.api_('POST', `/partners/${partnerId}/delegated-admins`, {
    username: 'sync@first.example',
    password: legacyPassword,
  });
  for (let i = 0; i < all.length; i += 25) {
    await Promise.all(
      all.slice(i, i + 25).map((c) =>
        stack.api_('POST', `/partners/${partnerId}/companies`, {
          name: c.name,
          customerTenantId: c.tenantId,
        }),
      ),
    );
  }
  const first = await startConsent();
  consentCallback = first.callback;
  const back = await callBack(consentCallback);
  if (back.status !== 303) throw new Error(`the first consent's callback answered ${back.status}`);
  const setUp = await consentEnded(first.attemptId, 300_000);
  if (!consentOk(setUp))
    throw new Error(`the first consent: ${consentSeen(back, undefined, setUp)}`);

  for (const scenario of scenarios) {
    if (only && !only.includes(scenario.id)) continue;
    const name = `${scenario.id}. ${scenario.title}`;
    try {
      if (scenario.timings && scenario.timings !== timings) {
        await stack.restartServices(scenario.timings === 'fast' ? fastTimings : productionTimings);
        timings = scenario.timings;
      }
      process.stdout.write(`... ${name}\n`);
      const began = Date.now();
      const outcome = await scenario.run();
      process.stdout.write(
        `  (${scenario.id} took ${Math.round((Date.now() - began) / 1000)} s)\n`,
      );
      report({ scenario: name, ...outcome });
    } catch (error) {
      report({
        scenario: name,
        did: 'the scenario did not finish',
        expected: 'it to finish',
        seen: `ERROR: ${(error as Error).message.slice(0, 500)}`,
        ok: false,
      });
    }
    if (!outcomes.at(-1)!.ok) {
      // Close what the failure left open, so the next scenario is judged on its own.
      await stack.db
        .query(
          `update refresh_runs set status = 'stopped', error = 'closed by the chaos suite', finished_at = now()
            where status = 'running'`,
        )
        .catch(() => {});
    }
  }
} finally {
  await store.close().catch(() => {});
  await stack.stop();
}

const missing = scenarios.filter((s) => !outcomes.some((o) => o.scenario.startsWith(`${s.id}. `)));
for (const s of missing) {
  report({
    scenario: `${s.id}. ${s.title}`,
    did: 'not run',
    expected: 'run',
    seen: 'missing',
    ok: false,
  });
}
if (outcomes.some((o) => !o.ok)) {
  // Every process's log, to find out why.
  const logFile = join(tmpdir(), `chaos-${Date.now()}.log`);
  writeFileSync(logFile, stack.logLines().join('\n'));
  process.stdout.write(`service logs: ${logFile}\n`);
}
const minutes = ((Date.now() - startedAt) / 60_000).toFixed(1);
const rowOf = (o: Outcome) =>
  `| ${o.scenario} | ${o.did} | ${o.expected} | ${o.seen.replaceAll('|', '\\|')} | ${o.ok ? 'pass' : '**FAIL**'} |`;
const lines = [
  '# Reliability',
  '',
  'The service broken on purpose, by `npm run chaos` (`test/chaos/run.ts`): an API process and',
  'a worker process as in production, against a private redis-server and a private PostgreSQL',
  "cluster (pg_createcluster) on other ports, never the machine's shared ones, and the emulator.",
  `${customers} customers per run, paced at 100 requests/s. Runs are judged by the service's tables`,
  "and by Microsoft's side: every customer's stored quantities against the emulator's data, and",
  'the reads the emulator saw per customer (a customer read twice fails the scenario unless a',
  'fault cut its first job short).',
  '',
  'Scenarios 1–5b, 7 and 8 use short timings so faults come back within seconds: crashed jobs after 2 s',
  '(`JOB_LOCK_SECONDS`), the reconciler every 2 s, Microsoft calls time out after 2 s, logs at',
  "info. Scenarios 3b–3g and 6 use production's: a 30 s lock, 30 s timeouts, the reconciler",
  'every minute, and logs at debug, which the secret scan reads too.',
  '',
  "Scenario 7 brings the partner's Autotask down in two ways: its emulator's server stopped",
  '(connections refused), then every request answered 503 or held past the 2 s timeout.',
  'Scenario 8 runs before 6, whose scan searches the webhooks and mails it delivered.',
  '',
  '| Scenario | Done | Expected | Seen | |',
  '|---|---|---|---|---|',
  ...outcomes.map(rowOf),
  '',
  `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${minutes} min on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
  '',
];
const docFile = new URL('../../docs/RELIABILITY.md', import.meta.url);
const previous = existsSync(docFile) ? readFileSync(docFile, 'utf8') : '';
// The sections after the table (written by hand) stay as they are.
const rest = previous.includes('\n## ') ? previous.slice(previous.indexOf('\n## ') + 1) : '';
if (only) {
  // Some scenarios only: their rows replaced (or added below the table), the rest kept.
  const doc = previous.split('\n');
  const tableEnd = () => {
    const firstSection = doc.findIndex((l) => l.startsWith('## '));
    return (firstSection < 0 ? doc : doc.slice(0, firstSection)).findLastIndex((l) =>
      l.startsWith('| '),
    );
  };
  for (const o of outcomes) {
    const id = o.scenario.slice(0, o.scenario.indexOf('. '));
    if (!only.includes(id)) continue;
    const at = doc.findIndex((l, i) => i <= tableEnd() && l.startsWith(`| ${id}. `));
    if (at >= 0) doc[at] = rowOf(o);
    else doc.splice(tableEnd() + 1, 0, rowOf(o));
  }
  writeFileSync(docFile, doc.join('\n'));
} else {
  writeFileSync(docFile, [...lines, ...(rest ? [rest] : [])].join('\n'));
}
process.stdout.write(`wrote docs/RELIABILITY.md (${minutes} min)\n`);
const passed = outcomes.filter((o) => o.ok).length;
process.stdout.write(`${passed}/${scenarios.length} scenarios passed\n`);
process.exit(missing.length === 0 && outcomes.every((o) => o.ok) ? 0 : 1);
