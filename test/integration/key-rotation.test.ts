import { randomBytes } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import { enqueueResealIfStale } from '../../jobs/reseal-keys.js';
import { createLogger } from '../../src/logger.js';
import { openRuntime } from '../../src/runtime.js';
import { ConsentAttemptStore, sha256, sealContext } from '../../src/store/consent-attempts.js';
import { openStore, type Store } from '../../src/store/database.js';
import { KeyRing } from '../../src/store/encryption.js';
import { countSealedValues, resealStaleValues } from '../../src/store/key-rotation.js';
import { legacyPasswordContext, PartnerStore } from '../../src/store/partners.js';
import { consentAttempts, delegatedAdmins } from '../../src/store/schema.js';
import { TokenCacheStore, type CachePartition } from '../../src/store/token-cache.js';
import { runWorkers } from '../../workers/run.js';
import { testConfig, testEnv } from '../support/config.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { runToEnd, startService } from '../support/process.js';
import { freshPrefix, removePrefix, testRedisUrl } from '../support/redis.js';

const log = createLogger({ level: 'silent' });
const newKey = (id: string) => ({ id, key: randomBytes(32) });
const k1 = newKey('k1');
const k2 = newKey('k2');
const k3 = newKey('k3');
const envKeys = (...keys: { id: string; key: Buffer }[]) =>
  keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');

/** What each sealed column holds after `sealEverything`, and how to read it back. */
interface Sealed {
  adminId: string;
  password: string;
  partition: CachePartition;
  cache: string;
  /** Code sealed by state hash (today's rule), and one sealed by attempt id (the old rule). */
  attempts: { id: string; code: string; verifier: string; nonce: string }[];
}

/** One value in every sealed column, written by the stores the service uses. */
async function sealEverything(db: Store['db'], ring: KeyRing): Promise<Sealed> {
  const partners = new PartnerStore(db, ring);
  const partner = await partners.create('Contoso CSP', 'test');
  const password = `legacy-${randomBytes(6).toString('hex')}`;
  const admin = await partners.addLegacyAdmin(partner.id, 'sync@s365l.com', password, 'test');
  const partition: CachePartition = {
    partnerId: partner.id,
    delegatedAdminId: admin.id,
    purpose: 'partner_center',
  };
  const cache = JSON.stringify({
    RefreshToken: { one: { secret: randomBytes(8).toString('hex') } },
  });
  await new TokenCacheStore(db, ring).save(partition, cache, 'new');
  const attemptStore = new ConsentAttemptStore(db, ring);
  const attempts: Sealed['attempts'] = [];
  for (const rule of ['state hash', 'attempt id'] as const) {
    const secrets = {
      state: randomBytes(8).toString('hex'),
      verifier: randomBytes(8).toString('hex'),
      nonce: randomBytes(8).toString('hex'),
      code: randomBytes(8).toString('hex'),
    };
    const attempt = await attemptStore.start({
      partnerId: partner.id,
      kind: 'partner_center',
      returnUrl: 'http://localhost:3000/',
      ...secrets,
    });
    await attemptStore.receiveCode(secrets.state, secrets.code, undefined);
    if (rule === 'attempt id') {
      await db
        .update(consentAttempts)
        .set({
          codeEnc: ring.encrypt(secrets.code, sealContext(attempt.id, 'code')),
          codeHash: sha256(secrets.code),
        })
        .where(eq(consentAttempts.id, attempt.id));
    }
    attempts.push({ id: attempt.id, ...secrets });
  }
  return { adminId: admin.id, password, partition, cache, attempts };
}

/** Every sealed value opens with `ring` and reads back as written. */
async function expectAllOpen(db: Store['db'], ring: KeyRing, sealed: Sealed) {
  const [admin] = await db
    .select()
    .from(delegatedAdmins)
    .where(eq(delegatedAdmins.id, sealed.adminId));
  expect(ring.decryptString(admin!.passwordEnc!, legacyPasswordContext(sealed.adminId))).to.equal(
    sealed.password,
  );
  expect((await new TokenCacheStore(db, ring).load(sealed.partition))?.serialized).to.equal(
    sealed.cache,
  );
  const attempts = new ConsentAttemptStore(db, ring);
  for (const expected of sealed.attempts) {
    const attempt = await attempts.get(expected.id);
    expect(attempts.secrets(attempt!)).to.deep.equal({
      code: expected.code,
      verifier: expected.verifier,
      nonce: expected.nonce,
    });
  }
}

describe('key rotation: counting and resealing sealed values', function () {
  let database: TestDatabase;
  let store: Store;

  beforeEach(async () => {
    database = await createTestDatabase();
    store = openStore({ databaseUrl: database.url, log });
    await store.migrate();
  });
  afterEach(async function () {
    await store.close();
    if (this.currentTest?.state === 'passed') await database.drop();
  });

  it('npm run keys: status counts values per old key and column, reseal moves them all to the new key, which alone opens them', async () => {
    const sealed = await sealEverything(store.db, new KeyRing([k1]));
    const keys = (command: string, ...ring: { id: string; key: Buffer }[]) =>
      runToEnd(
        startService(
          'src/keys.ts',
          testEnv({ DATABASE_URL: database.url, ENCRYPTION_KEYS: envKeys(...ring) }),
          [command],
        ),
        `npm run keys -- ${command}`,
      );

    const before = await keys('status', k2, k1);
    expect(before.code, before.output).to.equal(0);
    expect(before.output).to.match(/^ {2}k2 \(first: seals new values\): 0$/m);
    expect(before.output).to.match(/^ {2}k1: 8$/m);
    for (const [column, values] of [
      ['delegated_admins.password_enc', 1],
      ['consent_attempts.pkce_verifier_enc', 2],
      ['consent_attempts.nonce_enc', 2],
      ['consent_attempts.code_enc', 2],
      ['token_cache_partitions.cache_enc', 1],
    ] as const) {
      expect(before.output).to.match(new RegExp(`^ {2}${column} +k1: ${String(values)}$`, 'm'));
    }
    expect(before.output).to.contain('Key k1 still seals 8 values');

    const reseal = await keys('reseal', k2, k1);
    expect(reseal.code, reseal.output).to.equal(0);
    expect(reseal.output).to.match(
      /consent_attempts\.code_enc +2 resealed, 0 changed meanwhile \(left as written\), 0 unreadable/,
    );
    expect(reseal.output).to.match(/^ {2}k2 \(first: seals new values\): 8$/m);
    expect(reseal.output).to.match(/^ {2}k1: 0$/m);
    expect(reseal.output).to.contain(
      'Key k1 seals nothing: it can be removed from ENCRYPTION_KEYS.',
    );

    expect(await countSealedValues(store.db)).to.satisfy((counts: { keyId: string }[]) =>
      counts.every((c) => c.keyId === 'k2'),
    );
    await expectAllOpen(store.db, new KeyRing([k2]), sealed);
  });

  it('never overwrites a value written between the reseal reading it and writing it', async () => {
    const sealed = await sealEverything(store.db, new KeyRing([k1]));
    const ring = new KeyRing([k2, k1]);
    const rotatedCache = JSON.stringify({ RefreshToken: { one: { secret: 'rotated' } } });

    // MSAL saves a rotated cache in a transaction still open while the reseal reads the old
    // value; the reseal's write then waits on the row and must find the value changed.
    const caches = new TokenCacheStore(store.db, ring);
    const loaded = (await caches.load(sealed.partition))!;
    const { reseal } = await store.db.transaction(async (tx) => {
      await caches.save(sealed.partition, rotatedCache, loaded.version, tx);
      const running = resealStaleValues(store.db, ring);
      await waitForBlockedWrite(store, 20_000);
      return { reseal: running }; // not awaited here: it waits for this transaction to end
    });
    const outcome = await reseal;

    expect(outcome.find((c) => c.column === 'token_cache_partitions.cache_enc')).to.deep.equal({
      column: 'token_cache_partitions.cache_enc',
      resealed: 0,
      changedMeanwhile: 1,
      unreadable: 0,
    });
    expect((await caches.load(sealed.partition))?.serialized).to.equal(rotatedCache);
  });

  it('a worker starting with a new first key queues one reseal, which reseals everything', async () => {
    const sealed = await sealEverything(store.db, new KeyRing([k1]));
    const prefix = freshPrefix();
    const config = testConfig({
      DATABASE_URL: database.url,
      QUEUE_PREFIX: prefix,
      ENCRYPTION_KEYS: envKeys(k3, k1),
    });
    const runtime = await openRuntime(config, log);
    const events = new QueueEvents('maintenance', {
      connection: { url: testRedisUrl },
      prefix,
    });
    await events.waitUntilReady();
    const workers = runWorkers(runtime);
    try {
      const jobId = await workers.resealQueued;
      expect(jobId, 'a reseal queued at start-up').to.be.a('string');
      const job = await runtime.queues.get('maintenance').getJob(jobId!);
      const columns = (await job!.waitUntilFinished(events, 30_000)) as { resealed: number }[];
      expect(columns.reduce((sum, c) => sum + c.resealed, 0)).to.equal(8);
      const startUp = { ...runtime.services, queues: runtime.queues, log };
      expect(await enqueueResealIfStale(startUp)).to.equal(undefined);
      await expectAllOpen(store.db, new KeyRing([k3]), sealed);
    } finally {
      await workers.close(1_000);
      await events.close();
      await runtime.close();
      await removePrefix(prefix);
    }
  });

  it('queues one reseal per first key while it waits, and none when nothing is stale', async () => {
    const prefix = freshPrefix();
    const runtime = await openRuntime(
      testConfig({
        DATABASE_URL: database.url,
        QUEUE_PREFIX: prefix,
        ENCRYPTION_KEYS: envKeys(k3),
      }),
      log,
    );
    const startUp = { ...runtime.services, queues: runtime.queues, log };
    try {
      expect(await enqueueResealIfStale(startUp), 'nothing sealed yet').to.equal(undefined);
      await sealEverything(store.db, new KeyRing([k1]));
      const first = await enqueueResealIfStale(startUp);
      const again = await enqueueResealIfStale(startUp);
      expect(first).to.be.a('string');
      expect(again).to.equal(first);
      const waiting = await runtime.queues.get('maintenance').getJobs(['waiting']);
      expect(waiting.filter((job) => job.name === 'resealKeys')).to.have.length(1);
    } finally {
      await runtime.close();
      await removePrefix(prefix);
    }
  });
});

/** Resolves once a statement of this database waits on a row lock; rejects after `limitMs`. */
async function waitForBlockedWrite(store: Store, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const [row] = await store.db
      .execute<{ waiting: number }>(
        sql`select count(*)::int as waiting from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`,
      )
      .then((r) => (r as { rows: { waiting: number }[] }).rows);
    if (row && row.waiting > 0) return;
    if (Date.now() > deadline) {
      throw new Error(`no write waited on the token cache row within ${String(limitMs)} ms`);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}
