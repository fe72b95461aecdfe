import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import { subscribedSkus } from '../../emulator/tenants.js';
import { withDeadline } from '../../src/deadline.js';
import { jobIds } from '../../src/queue/catalog.js';
import { refreshResults, refreshRuns } from '../../src/store/schema.js';
import { skusPerTenantReadIn } from '../support/license-state.js';
import { scenarioWith } from '../support/emulator.js';
import { adminAuth, publicUrl, startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, csrfOf, testPassword } from '../support/pages.js';
import { startService, type ServiceProcess } from '../support/process.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
const customerCount = 150;
/** Our pace for the partner's Partner Center calls, shared by every worker process. */
const pace = 60;
/**
 * The emulator's limit for the partner: above our pace, below what three workers would send
 * if each kept a schedule of its own (three times the pace).
 */
const partnerCenterLimit = 75;

const scenario = scenarioWith((p) =>
  p.tenantId === partnerTenant
    ? {
        ...p,
        rateLimits: { partnerCenterRps: partnerCenterLimit },
        customers: { generate: { seed: 19, count: customerCount } },
      }
    : p,
);
const tuning = {
  PARTNER_CENTER_REQUESTS_PER_SECOND: String(pace),
  // A killed worker's jobs come back within seconds, not the production minute.
  JOB_LOCK_SECONDS: '2',
  RECONCILE_INTERVAL_SECONDS: '2',
};
const customerRead = /\/customers\/([^/]+)\/(subscribedskus|subscriptions)$/;
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU seconds a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** A browser's cookies for the service: one jar, whichever API process it talks to. */
class Browser {
  private readonly cookies = new Map<string, string>();

  async send(base: string, path: string, form?: Record<string, string>): Promise<Response> {
    const res = await fetch(`${base}${path}`, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eqAt = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eqAt), pair!.slice(eqAt + 1));
    }
    return res;
  }

  async logIn(base: string, email: string): Promise<void> {
    const form = await (await this.send(base, '/login')).text();
    const res = await this.send(base, '/login', {
      _csrf: csrfOf(form),
      email,
      password: testPassword,
    });
    expect(res.status, await res.text()).to.equal(303);
  }
}

describe('many processes: three workers and two APIs serve one partner', function () {
  this.timeout(180_000);
  let h: Harness;
  const workers: ServiceProcess[] = [];
  const apis: string[] = [];
  const apiProcesses: ServiceProcess[] = [];
  let partnerId: string;

  before(async () => {
    h = await startHarness(scenario, tuning, { workers: false, logLevel: 'warn' });
    const env = { ...h.env, LOG_LEVEL: 'info' };
    for (let i = 0; i < 3; i++) workers.push(startService('workers/main.ts', env));
    for (let i = 0; i < 2; i++) apiProcesses.push(startService('src/server/main.ts', env));
    // Five processes start on two cores: each has its own limit, and says what it did so far.
    const started = (p: ServiceProcess, what: string, msg: string) =>
      withDeadline(
        90_000,
        p.waitForLog((l) => l.msg === msg),
      ).catch((error: unknown) => {
        throw new Error(`${what}: ${String(error)}\n${p.lines.slice(-20).join('\n')}`);
      });
    await Promise.all(workers.map((w, i) => started(w, `worker ${i}`, 'workers started')));
    for (const [i, p] of apiProcesses.entries()) {
      const { port } = await started(p, `API ${i}`, 'API listening');
      apis.push(`http://127.0.0.1:${String(port)}`);
    }
    const partner = (await h.api('post', '/partners', { name: 'Many Processes Partner' })).body as {
      id: string;
    };
    partnerId = partner.id;
    for (const c of h.emulator.state.directory.partner(partnerTenant)!.customers) {
      await h.runtime.services.partners.addCompany(
        partnerId,
        { name: c.name, customerTenantId: c.tenantId },
        'test',
      );
    }
  });
  after(async function () {
    for (const p of [...workers, ...apiProcesses]) {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
    await Promise.all([...workers, ...apiProcesses].map((p) => p.exited));
    await h?.close(suiteFailed(this));
  });

  /** A call to the JSON API of one API process. */
  async function api(base: string, method: 'GET' | 'POST', path: string, body?: object) {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { ...adminAuth, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  interface RunStatus {
    id: string;
    status: string;
    total: number;
    succeeded: number;
    failed: number;
    noAccess: number;
    pending: number;
  }
  const runOf = async (base: string) =>
    (await api(base, 'GET', `/partners/${partnerId}/delegated-admin`)).body.run as RunStatus;

  /** Partner Center reads of each customer since the log entry `afterId`, by path kind. */
  function customerReads(afterId: number) {
    const reads = new Map<string, { subscribedskus: number; subscriptions: number }>();
    for (const e of h.emulator.state.log) {
      if (e.id <= afterId || e.surface !== 'partnerCenter') continue;
      const m = customerRead.exec(e.path);
      if (!m) continue;
      const tenant = m[1]!.toLowerCase();
      const entry = reads.get(tenant) ?? { subscribedskus: 0, subscriptions: 0 };
      entry[m[2] as 'subscribedskus' | 'subscriptions'] += 1;
      reads.set(tenant, entry);
    }
    return reads;
  }
  const lastLogId = () => h.emulator.state.log.at(-1)?.id ?? 0;
  const tenants = () =>
    h.emulator.state.directory.partner(partnerTenant)!.customers.map((c) => c.tenantId);

  /** No Partner Center request of the partner was answered 429 so far. */
  function expectNeverThrottled(): void {
    const counters = h.emulator.state.counters.get(partnerTenant)!;
    expect(counters.partnerCenter.requests).to.be.above(0);
    expect(counters.partnerCenter.throttled, 'Partner Center 429s').to.equal(0);
    expect(h.emulator.state.log.filter((e) => e.status === 429)).to.deep.equal([]);
  }

  /** The run's rows: one result per customer, each succeeded, and one snapshot set each. */
  async function expectEveryCustomerOnce(runId: string): Promise<void> {
    const db = h.runtime.store.db;
    const results = await db
      .select({ tenant: refreshResults.customerTenantId, status: refreshResults.status })
      .from(refreshResults)
      .where(eq(refreshResults.runId, runId));
    expect(results.map((r) => r.tenant)).to.have.members(tenants());
    expect(results.filter((r) => r.status !== 'succeeded')).to.deep.equal([]);
    const snapshots = await skusPerTenantReadIn(db, runId);
    const directory = h.emulator.state.directory;
    expect(snapshots).to.have.deep.members(
      directory.partner(partnerTenant)!.customers.map((c) => ({
        tenant: c.tenantId,
        n: subscribedSkus(directory.detail(c)).length,
      })),
    );
  }

  /** Both APIs show the run completed with every customer succeeded. */
  async function expectCompletedThroughBoth(runId: string): Promise<void> {
    for (const base of apis) {
      expect(await runOf(base)).to.include({
        id: runId,
        status: 'completed',
        total: customerCount,
        succeeded: customerCount,
        failed: 0,
        noAccess: 0,
        pending: 0,
      });
    }
  }

  it('a user logged in through one API process is recognised by the other', async () => {
    const { operator } = await createPeople(h);
    const browser = new Browser();
    const page = `/partners/${partnerId}/delegated-admin`;
    // Signed out, the other process sends the browser to its login page.
    const before = await browser.send(apis[1]!, page);
    expect(before.status).to.equal(303);
    expect(before.headers.get('location')).to.match(/^\/login/);
    await browser.logIn(apis[0]!, operator.email);
    const after = await browser.send(apis[1]!, page);
    expect(after.status).to.equal(200);
    expect(await after.text()).to.contain('Many Processes Partner');
  });

  it("consent through one API, callback through the other: the first run, in the partner's pace", async () => {
    const started = await api(apis[0]!, 'POST', `/partners/${partnerId}/consents`, {
      returnTo: '/company/delegated-admin',
      loginHint: 'admin@first.example',
    });
    expect(started.status).to.equal(201);
    const { attemptId, authorizeUrl } = started.body as { attemptId: string; authorizeUrl: string };
    const atMicrosoft = await h.emulator.http.get(authorizeUrl);
    const location = new URL(String(atMicrosoft.headers.location));
    expect(location.origin + location.pathname).to.equal(`${publicUrl}/auth/callback`);
    const back = await fetch(`${apis[1]!}${location.pathname}${location.search}`, {
      redirect: 'manual',
    });
    expect(back.status).to.equal(303);
    const outcome = await h.finished('consent', jobIds.exchangeConsentCode(attemptId));
    expect(outcome.outcome).to.equal('completed');
    // The replacement step opens the partner's first run.
    await h.finished('consent', jobIds.replaceLegacyAdmins(outcome.delegatedAdminId as string));
    const runId = (await runOf(apis[0]!)).id;

    await h.runEnded(runId);
    await expectCompletedThroughBoth(runId);
    await expectEveryCustomerOnce(runId);
    expectNeverThrottled();
  });

  it('sync now sent to both APIs at once: one run, said so by the second answer; each customer read once, by three workers', async () => {
    const mark = lastLogId();
    const cpuBefore = workers.map((w) => cpuSeconds(w.child.pid!));
    // Each order: whichever process answers second joins the run the first opened.
    const answers = await Promise.all(
      apis.map((base) => api(base, 'POST', `/partners/${partnerId}/refresh`)),
    );
    expect(answers.map((a) => a.status)).to.deep.equal([202, 202]);
    const runIds = new Set(answers.map((a) => a.body.runId as string));
    expect(runIds.size, 'runs opened').to.equal(1);
    const [runId] = [...runIds] as [string];
    expect(answers.map((a) => a.body.deduplicated).sort()).to.deep.equal([false, true]);
    // While it runs, either process joins it.
    for (const base of [...apis].reverse()) {
      expect((await api(base, 'POST', `/partners/${partnerId}/refresh`)).body).to.deep.equal({
        runId,
        deduplicated: true,
      });
    }

    await h.runEnded(runId);
    await expectCompletedThroughBoth(runId);
    await expectEveryCustomerOnce(runId);
    const reads = customerReads(mark);
    expect([...reads.keys()]).to.have.members(tenants());
    const notOnce = [...reads].filter(([, r]) => r.subscribedskus !== 1 || r.subscriptions !== 1);
    expect(notOnce, 'customers not read exactly once').to.deep.equal([]);
    expectNeverThrottled();
    // Each worker process took its share: the run's CPU went to all three.
    const spent = workers.map((w, i) => cpuSeconds(w.child.pid!) - cpuBefore[i]!);
    const total = spent.reduce((a, b) => a + b, 0);
    for (const s of spent)
      expect(s / total, `worker CPU shares ${spent.join(', ')}`).to.be.above(0.1);
  });

  it("the pages' sync now sent to both APIs at once: one run, the second page says so; a worker killed mid-run, every customer once", async () => {
    const mark = lastLogId();
    const { operator } = await createPeople(h);
    // Two sessions of one operator, each answered by another process.
    const browsers = [new Browser(), new Browser()];
    await browsers[0]!.logIn(apis[0]!, operator.email);
    await browsers[1]!.logIn(apis[0]!, operator.email);
    const page = `/partners/${partnerId}/delegated-admin`;
    const tokens = await Promise.all(
      browsers.map(async (b, i) => csrfOf(await (await b.send(apis[i]!, page)).text())),
    );
    const before = (await runOf(apis[0]!)).id;
    let completed = 0;
    const progressed = new Promise<void>((resolve) => {
      const onCompleted = () => {
        completed += 1;
        if (completed >= 20) {
          h.events('refresh').off('completed', onCompleted);
          resolve();
        }
      };
      h.events('refresh').on('completed', onCompleted);
    });
    const answers = await Promise.all(
      browsers.map((b, i) =>
        b.send(apis[i]!, `/partners/${partnerId}/refresh`, { _csrf: tokens[i]! }),
      ),
    );
    expect(answers.map((a) => a.status)).to.deep.equal([303, 303]);
    // The flash each session shows next, read through the other process.
    const flashes = await Promise.all(
      browsers.map(async (b, i) => {
        const html = await (await b.send(apis[1 - i]!, page)).text();
        return /Refresh started\.|A refresh is already running\./.exec(html)?.[0];
      }),
    );
    expect(flashes.sort()).to.deep.equal(['A refresh is already running.', 'Refresh started.']);
    const runId = (await runOf(apis[1]!)).id;
    expect(runId).to.not.equal(before);
    const opened = await h.runtime.store.db
      .select({ id: refreshRuns.id })
      .from(refreshRuns)
      .where(eq(refreshRuns.partnerId, partnerId));
    // The consent's run, the API's sync now and this one.
    expect(opened).to.have.length(3);

    await progressed;
    const [killed] = workers;
    killed!.child.kill('SIGKILL');
    await killed!.exited;
    expect((await runOf(apis[0]!)).status).to.equal('running');

    await h.runEnded(runId);
    await expectCompletedThroughBoth(runId);
    await expectEveryCustomerOnce(runId);
    // Microsoft is asked again only for customers the killed worker held: at most its
    // concurrency, and each at most twice.
    const reads = customerReads(mark);
    expect([...reads.keys()]).to.have.members(tenants());
    const again = [...reads].filter(([, r]) => r.subscribedskus > 1 || r.subscriptions > 1);
    expect(again.filter(([, r]) => r.subscribedskus > 2 || r.subscriptions > 2)).to.deep.equal([]);
    expect(again.length).to.be.at.most(h.runtime.config.queues.refreshConcurrency);
    expectNeverThrottled();
  });
});
