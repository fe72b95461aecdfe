import { QueueEvents } from 'bullmq';
import { expect } from 'chai';
import { Directory } from '../../emulator/directory.js';
import { loadDefaultScenario } from '../../emulator/scenario.js';
import { createHttpClient } from '../../src/http-client.js';
import { testSecrets } from '../support/config.js';
import { csrfOf } from '../support/pages.js';
import { startService, type ServiceProcess } from '../support/process.js';
import { closedPort, freshPrefix, removePrefix, testRedisUrl } from '../support/redis.js';

/** Test-only. */
const demoPassword = 'demo-password-test-only';

describe('npm run demo', function () {
  this.timeout(60_000);
  let demo: ServiceProcess | undefined;
  let prefix: string;
  beforeEach(() => {
    prefix = freshPrefix();
  });
  afterEach(async function () {
    if (demo && demo.child.exitCode === null) {
      demo.child.kill('SIGKILL');
      await demo.exited;
    }
    if (this.currentTest?.state === 'passed') await removePrefix(prefix);
  });

  it('seeds a partner with a legacy account that a consent replaces, then refreshes every company it can reach and shows the rest by access problem', async () => {
    const port = await closedPort();
    demo = startService('scripts/demo.ts', {
      PORT: String(port),
      QUEUE_PREFIX: prefix,
      REDIS_URL: testRedisUrl,
      ADMIN_API_TOKEN: testSecrets.ADMIN_API_TOKEN,
      ENCRYPTION_KEYS: testSecrets.ENCRYPTION_KEYS,
      DEMO_PASSWORD: demoPassword,
    });
    const ready = await demo.waitForLog((l) => l.msg === 'demo ready');
    expect(ready.companies).to.equal(36);
    // The banner comes last; its last line is the command that shows the replaced account.
    const bannerEnd = await demo.waitForLine((line) =>
      line.endsWith(`/partners/${ready.partnerId as string}/delegated-admin`),
    );
    // This machine only, HOST being unset.
    const listening = await demo.waitForLog((l) => l.msg === 'API listening');
    expect(listening.address).to.equal('127.0.0.1');
    const output = demo.lines.join('\n');
    /** The banner's line whose first column is `label`, its columns joined by one space. */
    const bannerLine = (label: string) =>
      demo!.lines
        .map((line) => line.trim().split(/ {2,}/))
        .find(([first]) => first === label)
        ?.join(' ');
    expect(bannerLine('Partner')).to.equal(
      `Partner ${ready.partnerId as string}: legacy account sync@s365l.com, 36 companies`,
    );
    expect(output).to.not.contain(testSecrets.ADMIN_API_TOKEN);
    // The page opens with the seeded people and DEMO_PASSWORD.
    expect(bannerLine('Open')).to.equal(`Open http://localhost:${port}/login`);
    expect(bannerLine('Partner user')).to.equal(
      `Partner user it@s365l.com password ${demoPassword}`,
    );
    expect(bannerLine('Operator')).to.equal(
      `Operator operator@license-sync.example password ${demoPassword}`,
    );
    const form = await fetch(`http://localhost:${port}/login`);
    const cookie = String(form.headers.get('set-cookie')).split(';')[0]!;
    const login = await fetch(`http://localhost:${port}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        _csrf: csrfOf(await form.text()),
        email: 'it@s365l.com',
        password: demoPassword,
      }),
    });
    expect(login.status).to.equal(303);
    // Requests log at debug, start-up before the banner: nothing has scrolled it away.
    const afterBanner = demo.lines.slice(demo.lines.lastIndexOf(bannerEnd) + 1);
    expect(afterBanner.filter((line) => line.trim() !== '')).to.deep.equal([]);

    const base = `http://localhost:${port}/api/v1/partners/${ready.partnerId as string}`;
    const headers = {
      Authorization: `Bearer ${testSecrets.ADMIN_API_TOKEN}`,
      'Content-Type': 'application/json',
    };
    const events = new QueueEvents('consent', { connection: { url: testRedisUrl }, prefix });
    const refreshEvents = new QueueEvents('refresh', { connection: { url: testRedisUrl }, prefix });
    await Promise.all([events.waitUntilReady(), refreshEvents.waitUntilReady()]);
    try {
      const replaced = new Promise<void>((resolve) => {
        events.on('completed', ({ jobId }) => {
          if (jobId.startsWith('replace-admins-')) resolve();
        });
      });
      const started = await fetch(`${base}/consents`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ returnTo: '/admin/queues', loginHint: 'admin@s365l.com' }),
      });
      const { authorizeUrl } = (await started.json()) as { authorizeUrl: string };
      // The browser's part: Microsoft (the emulator) sends it back to our callback.
      const emulatorHttp = createHttpClient({ extraCaFile: await caFileOf(demo) });
      const atMicrosoft = await emulatorHttp.get(authorizeUrl);
      const back = await fetch(String(atMicrosoft.headers.location), { redirect: 'manual' });
      expect(back.status).to.equal(303);
      await replaced;
      const status = (await (await fetch(`${base}/delegated-admin`, { headers })).json()) as {
        model: string;
        legacyAccounts: { status: string }[];
      };
      expect(status.model).to.equal('sam');
      expect(status.legacyAccounts.map((a) => a.status)).to.deep.equal(['replaced']);

      // The initial refresh, as the status endpoint shows it: checked at each job's end.
      const run = await new Promise<RunView>((resolve, reject) => {
        const check = () => {
          fetch(`${base}/delegated-admin`, { headers })
            .then(async (res) => {
              const { run } = (await res.json()) as { run: RunView | null };
              if (run && run.status !== 'running') resolve(run);
            })
            .catch(reject);
        };
        refreshEvents.on('completed', check);
        check();
      });
      // The demo's scenario spreads its 36 customers over every access problem (seed 126,
      // withoutDelegatedAccess 0.3, withoutAppConsent 0.1): counted from its customers' data.
      const reachable = 22;
      expect(run).to.include({
        status: 'completed',
        total: 36,
        succeeded: reachable,
        failed: 0,
        noAccess: 36 - reachable,
      });
      const { customers } = (await (await fetch(`${base}/access`, { headers })).json()) as {
        customers: { customerTenantId: string; state: string }[];
      };
      const byState = (state: string) =>
        customers.filter((c) => c.state === state).map((c) => c.customerTenantId);
      expect(
        Object.fromEntries(
          ['ok', 'expiring', 'expired', 'no_relationship', 'missing_role', 'app_not_consented'].map(
            (s) => [s, byState(s).length],
          ),
        ),
      ).to.deep.equal({
        ok: 18,
        expiring: 4,
        expired: 2,
        no_relationship: 5,
        missing_role: 3,
        app_not_consented: 4,
      });
      // Which ones, as the emulator's customers are: the app refused where it is not consented,
      // and no relationship that is active where one expired, was terminated or never was.
      const generated = new Directory(loadDefaultScenario()).partners[0]!.customers;
      expect(byState('app_not_consented')).to.have.members(
        generated.filter((c) => c.appConsent === false).map((c) => c.tenantId),
      );
      expect([...byState('expired'), ...byState('no_relationship')]).to.have.members(
        generated.filter((c) => !c.gdap.some((r) => r.status === 'active')).map((c) => c.tenantId),
      );
      const { companies } = (await (await fetch(`${base}/companies`, { headers })).json()) as {
        companies: { licenses: unknown[]; licensesRefreshedAt: string | null }[];
      };
      expect(companies).to.have.length(36);
      // Those the partner can reach are licensed; the others wait for their access.
      expect(
        companies.filter((c) => c.licenses.length > 0 && c.licensesRefreshedAt !== null),
      ).to.have.length(reachable);
    } finally {
      await Promise.all([events.close(), refreshEvents.close()]);
    }
    demo.child.kill('SIGTERM');
    expect(await demo.exited).to.equal(0);
  });

  it('replays DEMO_DAYS days of daily refreshes ending today: seat changes on each day, the last run today', async function () {
    this.timeout(240_000);
    const port = await closedPort();
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    demo = startService('scripts/demo.ts', {
      PORT: String(port),
      QUEUE_PREFIX: prefix,
      REDIS_URL: testRedisUrl,
      ADMIN_API_TOKEN: testSecrets.ADMIN_API_TOKEN,
      ENCRYPTION_KEYS: testSecrets.ENCRYPTION_KEYS,
      DEMO_PASSWORD: demoPassword,
      DEMO_DAYS: '2',
    });
    const ready = await demo.waitForLog((l) => l.msg === 'demo ready');
    expect(ready.days).to.equal(2);
    // The process's clock is the real one again.
    expect(Math.abs((ready.time as number) - Date.now())).to.be.below(60_000);
    const base = `http://localhost:${port}/api/v1/partners/${ready.partnerId as string}`;
    const headers = { Authorization: `Bearer ${testSecrets.ADMIN_API_TOKEN}` };
    const status = (await (await fetch(`${base}/delegated-admin`, { headers })).json()) as {
      model: string;
      consent: { upn: string; grantedAt: string };
      run: RunView & { startedAt: string };
    };
    expect(status.model).to.equal('sam');
    // Consent and the first refresh yesterday, the last refresh today.
    expect(status.consent.upn).to.equal('admin@s365l.com');
    expect(status.consent.grantedAt.slice(0, 10)).to.equal(yesterday);
    expect(status.run).to.include({ status: 'completed', succeeded: 22, failed: 0 });
    expect(status.run.startedAt.slice(0, 10)).to.equal(today);
    const { companies } = (await (await fetch(`${base}/companies`, { headers })).json()) as {
      companies: { id: string; licensesRefreshedAt: string | null }[];
    };
    const history = (
      await Promise.all(
        companies.map(async (c) => {
          const res = await fetch(`${base}/companies/${c.id}/history`, { headers });
          return ((await res.json()) as { history: { at: string; initial: boolean }[] }).history;
        }),
      )
    ).flat();
    const days = (rows: { at: string }[]) => [...new Set(rows.map((r) => r.at.slice(0, 10)))];
    // Every company found yesterday, and today's changes read today.
    expect(days(history.filter((r) => r.initial))).to.deep.equal([yesterday]);
    expect(days(history.filter((r) => !r.initial))).to.deep.equal([today]);
    // The banner says what was replayed, and nothing follows it.
    const bannerEnd = await demo.waitForLine((line) =>
      line.endsWith(`/partners/${ready.partnerId as string}/delegated-admin`),
    );
    expect(demo.lines.join('\n')).to.contain(
      `Replayed 2 days: admin@s365l.com granted consent, and a refresh ran each day since\n${yesterday}`,
    );
    const afterBanner = demo.lines.slice(demo.lines.lastIndexOf(bannerEnd) + 1);
    expect(afterBanner.filter((line) => line.trim() !== '')).to.deep.equal([]);
    demo.child.kill('SIGTERM');
    expect(await demo.exited).to.equal(0);
  });

  it('refuses DEMO_DAYS with DATABASE_URL, whose now() it cannot move', async () => {
    demo = startService('scripts/demo.ts', {
      DEMO_DAYS: '3',
      // Nothing listens there: the refusal comes before any connection.
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/none`,
      REDIS_URL: testRedisUrl,
    });
    expect(await demo.exited).to.equal(78);
    expect(demo.lines.join('\n')).to.contain(
      "DEMO_DAYS replays past days on a clock moved back, and a PostgreSQL server's now() cannot be moved: unset DATABASE_URL",
    );
  });

  it('says clearly that it needs Redis when none answers', async () => {
    demo = startService('scripts/demo.ts', {
      REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
    });
    expect(await demo.exited).to.equal(1);
    expect(demo.lines.join('\n')).to.match(
      /npm run demo needs a Redis server at redis:\/\/127\.0\.0\.1:\d+/,
    );
  });
});

interface RunView {
  status: string;
  total: number;
  succeeded: number;
  failed: number;
  noAccess: number;
}

/** The demo logs where its emulator's CA file is. */
async function caFileOf(demo: ServiceProcess): Promise<string> {
  const line = await demo.waitForLog((l) => typeof l.caFile === 'string');
  return line.caFile as string;
}
