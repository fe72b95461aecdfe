// npm run demo: the Microsoft emulator, the API and the workers in one process, with a seeded
// partner whose legacy delegated admin (sync@<scenario domain>) waits to be replaced.
// Needs only a Redis (REDIS_URL, or a cluster in REDIS_CLUSTER_NODES); the database is embedded unless DATABASE_URL is set.
// DEMO_DAYS=n replays n days of daily refreshes ending today (consent granted by the demo).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { loadDefaultScenario } from '../emulator/scenario.js';
import { startEmulator } from '../emulator/server.js';
import { startFixturePsa } from '../emulator/psa/fixture.js';
import { psaKinds, type PsaKind } from '../src/psa/client.js';
import { demoBilling, seedBilling } from './demo-billing.js';
import { startDemoMail } from './demo-mail.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { runProcess } from '../src/lifecycle.js';
import { runApi } from '../src/server/run.js';
import { runWorkers } from '../workers/run.js';
import { hashPassword } from '../src/server/auth/passwords.js';
import { moveClockBack } from './demo-clock.js';
import { simulateDays } from './demo-days.js';

const env: Record<string, string | undefined> = { ...process.env };

let preliminary;
try {
  preliminary = loadConfig(env).config;
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(78);
}

// Days of history to replay: the clock moves back, which PostgreSQL's now() cannot follow.
const maxDemoDays = 90;
const demoDays = env.DEMO_DAYS ? Number(env.DEMO_DAYS) : undefined;
if (
  demoDays !== undefined &&
  !(Number.isInteger(demoDays) && demoDays >= 1 && demoDays <= maxDemoDays)
) {
  process.stderr.write(`DEMO_DAYS: expected a whole number of days from 1 to ${maxDemoDays}\n`);
  process.exit(78);
}
if (demoDays !== undefined && env.DATABASE_URL) {
  process.stderr.write(
    "DEMO_DAYS replays past days on a clock moved back, and a PostgreSQL server's now() cannot be moved: unset DATABASE_URL to use the embedded database.\n",
  );
  process.exit(78);
}

// Fail with a sentence, not a stack of reconnect errors, when there is no Redis.
const cluster = preliminary.redisCluster;
const redisWhere = cluster
  ? `the Redis Cluster at ${cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}: start it or fix REDIS_CLUSTER_NODES`
  : `a Redis server at ${preliminary.redisUrl}: start one (redis-server) or set REDIS_URL`;
const probe = cluster
  ? new Cluster(cluster.nodes, {
      lazyConnect: true,
      clusterRetryStrategy: () => null,
      redisOptions: { maxRetriesPerRequest: 0, password: cluster.password },
    })
  : new Redis(preliminary.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
probe.on('error', () => {});
try {
  await probe.connect();
  await probe.ping();
} catch {
  process.stderr.write(`npm run demo needs ${redisWhere}.\n`);
  process.exit(1);
} finally {
  probe.disconnect();
}

const scenario = loadDefaultScenario();
const client = scenario.clients[0]!;
client.redirectUris = [`${preliminary.publicUrl}/auth/callback`];
const emulator = await startEmulator({ scenario, hostname: '127.0.0.1' });
const partnerSpec = scenario.partners[0]!;

// The partner's PSA, seeded from the emulator's customers (DEMO_PSA picks which).
const psaKind = (env.DEMO_PSA ?? 'connectwise') as PsaKind;
if (!psaKinds.includes(psaKind)) {
  process.stderr.write(`DEMO_PSA: expected one of ${psaKinds.join(', ')}\n`);
  process.exit(78);
}
const billing = demoBilling(emulator.state.directory.partner(partnerSpec.tenantId)!.customers);
const psa = await startFixturePsa(psaKind, billing.fixture, randomBytes(12).toString('base64url'));
// One file of the CAs to trust: the Microsoft emulator's and the PSA emulator's.
const trustedCas = join(dirname(emulator.caFile), 'demo-trusted-cas.pem');
writeFileSync(trustedCas, `${emulator.ca}\n${psa.emulator.ca}`);

const mail = await startDemoMail(env);

// From here on the process lives DEMO_DAYS - 1 days back, until the replay reaches today. The
// emulators started first: their GDAP ends and certificates count from the real time.
const clock = demoDays === undefined ? undefined : moveClockBack(demoDays - 1);

Object.assign(env, {
  MICROSOFT_CLOUD: 'custom',
  MICROSOFT_AUTHORITY_HOST: emulator.url,
  PARTNER_CENTER_URL: emulator.url,
  GRAPH_URL: emulator.url,
  HTTP_EXTRA_CA_FILE: trustedCas,
  MICROSOFT_CLIENT_ID: client.clientId,
  // The scenario's client secret is a test-only value known to the emulator.
  MICROSOFT_CLIENT_SECRET: client.clientSecret,
  // Fresh emulator keys every run: an embedded database that outlives it would hold tokens
  // nothing can redeem, so the demo's own database lives in memory unless told otherwise.
  PGLITE_DATA_DIR: env.PGLITE_DATA_DIR ?? 'memory://',
  // Seeded people with a printed password: this machine only, unless HOST says otherwise.
  HOST: env.HOST ?? '127.0.0.1',
});

await runProcess(
  'license-sync-demo',
  async (runtime) => {
    // Each request's line at debug: at the default level the banner stays on screen.
    const api = await runApi(runtime, { requestLogLevel: 'debug' });
    const workers = runWorkers(runtime);
    const { partners } = runtime.services;
    const partner = await partners.create(partnerSpec.name, 'demo');
    const legacy = await partners.addLegacyAdmin(
      partner.id,
      `sync@${partnerSpec.domain}`,
      randomBytes(12).toString('base64url'),
      'demo',
    );
    const customers = emulator.state.directory.partner(partnerSpec.tenantId)!.customers;
    for (const customer of customers) {
      await partners.addCompany(
        partner.id,
        {
          name: customer.name,
          customerTenantId: customer.tenantId,
          domain: customer.domain,
          delegatedAdminId: legacy.id,
        },
        'demo',
      );
    }
    // The PSA's calls are paced in Redis: the producer connection must be up first.
    if (runtime.producer.status !== 'ready') await once(runtime.producer, 'ready');
    await seedBilling(
      { ...runtime.services, queues: runtime.queues },
      partner.id,
      psaKind,
      psa.fields,
      billing,
    );
    await mail.addChannel(runtime.services, partner.id, `it@${partnerSpec.domain}`);
    // People to log in as: an operator, and a user of the partner. DEMO_PASSWORD, or one made
    // up for this run (the database lives in memory unless DATABASE_URL is set).
    const password = env.DEMO_PASSWORD || randomBytes(9).toString('base64url');
    const passwordHash = await hashPassword(password);
    const operatorEmail = 'operator@license-sync.example';
    const partnerEmail = `it@${partnerSpec.domain}`;
    await runtime.services.users.create(
      { email: operatorEmail, passwordHash, role: 'operator', partnerId: null },
      'demo',
    );
    await runtime.services.users.create(
      { email: partnerEmail, passwordHash, role: 'partner', partnerId: partner.id },
      'demo',
    );
    const base = `http://localhost:${api.port}`;
    const admin = partnerSpec.users.find((u) => u.mfa && u.adminAgent)!.upn;
    // Start-up's own lines first, so that the banner below is the last thing on screen.
    await Promise.all([workers.scheduled, workers.resealQueued]);
    const replayed = clock && {
      runs: await simulateDays({
        runtime,
        emulator: emulator.state,
        caFile: emulator.caFile,
        partnerId: partner.id,
        partnerTenantId: partnerSpec.tenantId,
        admin,
        days: demoDays!,
        clock,
      }).catch((error: unknown) => {
        runtime.log.fatal({ err: error }, `DEMO_DAYS: ${(error as Error).message}`);
        process.exit(1);
      }),
    };
    runtime.log.info(
      {
        partnerId: partner.id,
        apiUrl: base,
        emulatorUrl: emulator.url,
        caFile: emulator.caFile,
        companies: customers.length,
        loginUrl: `${base}/login`,
        users: [partnerEmail, operatorEmail],
        days: demoDays,
      },
      'demo ready',
    );
    process.stdout.write(`
license-sync demo
  Open               ${base}/login
  Partner user       ${partnerEmail}   password ${password}
  Operator           ${operatorEmail}   password ${password}
  (The Microsoft sign-in pages come from the emulator, whose certificate your browser does not
  know: accept it once at ${emulator.url}/_emulator/scenario.)

  API                ${base}/api/v1   (Authorization: Bearer $ADMIN_API_TOKEN)
  Queue dashboard    ${base}/admin/queues   (as the operator, or Authorization: Bearer $ADMIN_API_TOKEN)
  Health             ${base}/readyz    Metrics ${api.metricsPort === undefined ? `${base}/metrics   (the token as Bearer)` : `http://localhost:${api.metricsPort}/metrics`}
  Microsoft emulator ${emulator.url}   (control: ${emulator.url}/_emulator)
  PSA emulator       ${psa.emulator.url}   (${psaKind}; control: ${psa.emulator.url}/_emulator)
  Mail received      ${mail.pageUrl}   (alerts emailed to it@${partnerSpec.domain})
  Partner            ${partner.id}: legacy account ${legacy.username}, ${customers.length} companies

The admin token is ADMIN_API_TOKEN from your environment, or generated into .local/secrets.json:
  export ADMIN_API_TOKEN=$(node -p "require('./.local/secrets.json').ADMIN_API_TOKEN")

${
  replayed
    ? `Replayed ${demoDays} days: ${admin} granted consent, and a refresh ran each day since
${replayed.runs[0]!.startedAt.toISOString().slice(0, 10)}; companies show their seat history, Renewals the terms ending soon.
`
    : `Start a consent as ${admin}, then open the authorizeUrl it returns in a browser:
  curl -s -X POST -H "Authorization: Bearer $ADMIN_API_TOKEN" -H 'Content-Type: application/json' -d '{"returnTo":"/admin/queues","loginHint":"${admin}"}' ${base}/api/v1/partners/${partner.id}/consents
`
}After the first refresh, Billing (${base}/partners/${partner.id}/billing) shows ${psaKind}'s
quantities beside Microsoft's and the changes to approve; setup lists the unmapped product.
See the legacy account replaced:
  curl -s -H "Authorization: Bearer $ADMIN_API_TOKEN" ${base}/api/v1/partners/${partner.id}/delegated-admin
`);
    return [
      (graceMs) => api.close(graceMs),
      (graceMs) => workers.close(graceMs),
      () => emulator.stop(),
      () => psa.emulator.stop(),
      () => mail.close(),
    ];
  },
  env,
  // Written at once, so that every line logged before the banner is out before it.
  pino.destination({ dest: 1, sync: true }),
);
