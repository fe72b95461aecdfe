import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { isDatabaseUnavailable } from '../../src/store/availability.js';
import { migrationCount, openStore, type Store } from '../../src/store/database.js';
import { createLogger } from '../../src/logger.js';
import { KeyRing } from '../../src/store/encryption.js';
import { RefreshRunStore } from '../../src/store/refresh-runs.js';
import {
  companies,
  customerLicenses,
  delegatedAdmins,
  partners,
  refreshResults,
  seatHistory,
} from '../../src/store/schema.js';
import { testConfig } from '../support/config.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { suiteFailed } from '../support/keep-on-failure.js';

const log = createLogger({ level: 'silent' });

/** Runs `body` with this process's clock an hour ahead of the database's. */
async function withAppClockAhead<T>(body: () => Promise<T>): Promise<T> {
  const RealDate = Date;
  const aheadMs = 3_600_000;
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) =>
      Reflect.construct(
        target,
        args.length === 0 ? [RealDate.now() + aheadMs] : args,
        newTarget,
      ) as object,
    get: (target, property, receiver) =>
      property === 'now'
        ? () => RealDate.now() + aheadMs
        : (Reflect.get(target, property, receiver) as unknown),
  });
  try {
    return await body();
  } finally {
    globalThis.Date = RealDate;
  }
}

/** The same behaviour is expected of both drivers; `open` gives a new store, not yet migrated. */
function storeContract(open: () => Promise<Store>) {
  let store: Store;
  before(async () => {
    store = await open();
    await store.migrate();
  });
  after(async () => {
    await store?.close();
  });

  it('reports pending migrations, applies them, then reports them current', async () => {
    const fresh = await open();
    try {
      const before = await fresh.migrationState();
      expect(before.status).to.equal('pending');
      await fresh.migrate();
      await fresh.migrate(); // idempotent
      expect(await fresh.migrationState()).to.deep.equal({
        status: 'current',
        applied: migrationCount,
      });
    } finally {
      await fresh.close();
    }
  });

  it('keeps partners, their delegated admins and companies, sealed password included', async () => {
    const ring = new KeyRing(testConfig().encryptionKeys);
    const { db } = store;
    const [partner] = await db.insert(partners).values({ name: 'Contoso CSP' }).returning();
    const adminId = crypto.randomUUID();
    await db.insert(delegatedAdmins).values({
      id: adminId,
      partnerId: partner!.id,
      kind: 'legacy',
      username: 'sync@s365l.com',
      domain: 's365l.com',
      passwordEnc: ring.encrypt('Pa55word!', `delegated_admin:${adminId}:password`),
      createdBy: 'test',
    });
    await db.insert(companies).values([
      {
        partnerId: partner!.id,
        name: 'A',
        customerTenantId: crypto.randomUUID(),
        delegatedAdminId: adminId,
      },
      {
        partnerId: partner!.id,
        name: 'B',
        customerTenantId: crypto.randomUUID(),
        delegatedAdminId: adminId,
      },
    ]);
    const [admin] = await db.select().from(delegatedAdmins).where(eq(delegatedAdmins.id, adminId));
    expect(admin!.status).to.equal('active');
    expect(admin!.passwordEnc).to.not.contain('Pa55word!');
    expect(ring.decryptString(admin!.passwordEnc!, `delegated_admin:${adminId}:password`)).to.equal(
      'Pa55word!',
    );
    // count() is int8: drizzle's helper gives a number with both drivers.
    const [{ n }] = (await db
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(companies)
      .where(eq(companies.delegatedAdminId, adminId))) as [{ n: number }];
    expect(n).to.equal(2);
  });

  it('refuses a second company with the same customer tenant for one partner', async () => {
    const { db } = store;
    const [partner] = await db.insert(partners).values({ name: 'Fabrikam' }).returning();
    const tenant = crypto.randomUUID();
    await db
      .insert(companies)
      .values({ partnerId: partner!.id, name: 'One', customerTenantId: tenant });
    let error: unknown;
    try {
      await db
        .insert(companies)
        .values({ partnerId: partner!.id, name: 'Two', customerTenantId: tenant });
    } catch (e) {
      error = e;
    }
    expect(String((error as { cause?: unknown })?.cause ?? error)).to.match(/unique|duplicate/i);
  });

  it("times a run and its results by the database's clock, whatever the app's says", async () => {
    const { db } = store;
    const runs = new RefreshRunStore(db);
    const { partner, tenants } = await partnerWithCompanies(db, 'Northwind', ['One', 'Two']);
    // PGlite runs in this process, on its clock: the check bites on PostgreSQL.
    const ids = await withAppClockAhead(async () => {
      // Completed by its last result, completed with nothing to refresh, stopped.
      const counted = (await runs.start(partner.id, 'manual')).run.id;
      await runs.addTenants(counted, tenants);
      await runs.succeed(counted, tenants[0]!.customerTenantId, tenants[0]!.companyId, [], 1);
      await runs.fail(
        counted,
        [tenants[1]!.customerTenantId],
        { kind: 'permanent', service: 'partnerCenter', code: 'test', message: 'Failed.' },
        1,
      );
      const empty = (await runs.start(partner.id, 'manual')).run.id;
      await runs.addTenants(empty, []);
      const stopped = (await runs.start(partner.id, 'manual')).run.id;
      await runs.stop(stopped, 'Stopped.');
      return [counted, empty, stopped];
    });
    for (const id of ids) {
      const run = (await runs.get(id))!;
      expect(run.status).to.be.oneOf(['completed', 'stopped']);
      const took = run.finishedAt!.getTime() - run.startedAt.getTime();
      expect(took, `run ${run.status}`).to.be.within(0, 60_000);
      const results = await db.select().from(refreshResults).where(eq(refreshResults.runId, id));
      for (const result of results) {
        expect(result.finishedAt!.getTime()).to.be.within(
          run.startedAt.getTime(),
          run.finishedAt!.getTime(),
        );
      }
    }
  });

  it('customers recorded at the same moment are all recorded, and one that cannot be fails alone', async () => {
    const { db } = store;
    const runs = new RefreshRunStore(db);
    const { partner, tenants } = await partnerWithCompanies(db, 'Litware', [
      'One',
      'Two',
      'Three',
      'Four',
    ]);
    const runId = (await runs.start(partner.id, 'manual')).run.id;
    await runs.addTenants(runId, tenants);
    const license = (skuId: string, units: number) => ({
      skuId,
      skuPartNumber: 'O365_BUSINESS_PREMIUM',
      activeUnits: units,
      consumedUnits: units - 1,
      suspendedUnits: 0,
      warningUnits: 0,
      billedQuantity: units,
    });
    const sku = crypto.randomUUID();
    // Called in one turn of the event loop, as jobs finishing together do; the third's SKU id
    // is not one PostgreSQL takes.
    const outcomes = await Promise.allSettled(
      tenants.map((t, i) =>
        runs.succeed(
          runId,
          t.customerTenantId,
          t.companyId,
          [license(i === 2 ? 'not-a-sku-id' : sku, 10 + i)],
          1,
        ),
      ),
    );
    expect(outcomes.map((o) => o.status)).to.deep.equal([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    const results = await db
      .select({ tenant: refreshResults.customerTenantId, status: refreshResults.status })
      .from(refreshResults)
      .where(eq(refreshResults.runId, runId));
    const statusOf = new Map(results.map((r) => [r.tenant, r.status]));
    expect(tenants.map((t) => statusOf.get(t.customerTenantId))).to.deep.equal([
      'succeeded',
      'succeeded',
      'pending',
      'succeeded',
    ]);
    const licenses = await db
      .select({ tenant: customerLicenses.customerTenantId, units: customerLicenses.activeUnits })
      .from(customerLicenses)
      .where(eq(customerLicenses.partnerId, partner.id));
    expect(new Map(licenses.map((l) => [l.tenant, l.units]))).to.deep.equal(
      new Map([0, 1, 3].map((i) => [tenants[i]!.customerTenantId, 10 + i])),
    );
    // Each company's seats start its history, the failed one's none.
    const history = await db
      .select({
        companyId: seatHistory.companyId,
        field: seatHistory.field,
        to: seatHistory.toValue,
      })
      .from(seatHistory)
      .where(eq(seatHistory.runId, runId));
    for (const [i, t] of tenants.entries()) {
      const own = history.filter((h) => h.companyId === t.companyId);
      if (i === 2) expect(own, 'the failed one').to.deep.equal([]);
      else
        expect(own.find((h) => h.field === 'purchased')?.to, `company ${i + 1}`).to.equal(10 + i);
    }
    // The one left pending is recorded by its retry, and the run then completes.
    await runs.succeed(
      runId,
      tenants[2]!.customerTenantId,
      tenants[2]!.companyId,
      [license(sku, 12)],
      2,
    );
    expect(await runs.settle(runId)).to.include({ status: 'completed' });
  });

  it('rolls back a transaction that fails', async () => {
    const { db } = store;
    await db
      .transaction(async (tx) => {
        await tx.insert(partners).values({ name: 'Rolled back' });
        throw new Error('abort');
      })
      .catch(() => {});
    const rows = await db.select().from(partners).where(eq(partners.name, 'Rolled back'));
    expect(rows).to.have.length(0);
  });
}

describe('store on PostgreSQL', function () {
  const databases: TestDatabase[] = [];
  /** A new database of this file's, dropped after a passing file. */
  async function freshDatabase(): Promise<TestDatabase> {
    const database = await createTestDatabase();
    databases.push(database);
    return database;
  }
  storeContract(async () => openStore({ databaseUrl: (await freshDatabase()).url, log }));
  after(async function () {
    if (!suiteFailed(this)) for (const database of databases) await database.drop();
  });

  it('answers a ping, and a failed ping after close', async () => {
    const store = openStore({ databaseUrl: (await freshDatabase()).url, log });
    await store.ping();
    await store.close();
    let failed = false;
    await store.ping().catch(() => (failed = true));
    expect(failed).to.be.true;
  });

  it('a connection lost while a transaction runs no statement fails the transaction, not the process', async () => {
    const database = await freshDatabase();
    const store = openStore({ databaseUrl: database.url, log });
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    try {
      const outcome = await store.db
        .transaction(async (tx) => {
          const result = await tx.execute(sql`select pg_backend_pid() as pid`);
          const pid = (result as { rows: { pid: number }[] }).rows[0]!.pid;
          await other.query('select pg_terminate_backend($1)', [pid]);
          // The backend is gone and its goodbye sits on the client's socket while the
          // transaction's code runs: read between the other client's round trips.
          for (const deadline = Date.now() + 10_000; ;) {
            const { rows: left } = await other.query(
              'select pg_sleep(0.02), count(*)::int as n from pg_stat_activity where pid = $1',
              [pid],
            );
            if ((left[0] as { n: number }).n === 0) break;
            if (Date.now() > deadline) throw new Error('the backend was not terminated');
          }
          await other.query('select 1');
          await tx.execute(sql`select 1`);
          return 'committed';
        })
        .catch((error: unknown) => error);
      expect(outcome).to.be.instanceOf(Error);
      expect(isDatabaseUnavailable(outcome), String(outcome)).to.be.true;
      // The pool gave the broken connection up: the store still answers.
      await store.ping();
    } finally {
      await other.end();
      await store.close();
    }
  });
});

describe('store on PGlite (migrations smoke test)', function () {
  storeContract(() => Promise.resolve(openStore({ databaseUrl: undefined, log })));
});

/** A partner and its companies, each with a customer tenant of its own. */
async function partnerWithCompanies(db: Store['db'], name: string, companyNames: string[]) {
  const [partner] = await db.insert(partners).values({ name }).returning();
  const tenants = await db
    .insert(companies)
    .values(
      companyNames.map((company) => ({
        partnerId: partner!.id,
        name: company,
        customerTenantId: crypto.randomUUID(),
      })),
    )
    .returning()
    .then((rows) => rows.map((c) => ({ customerTenantId: c.customerTenantId!, companyId: c.id })));
  return { partner: partner!, tenants };
}
