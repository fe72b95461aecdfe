import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { and, asc, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { LicenseSnapshot } from '../../src/domain/licenses.js';
import { createLogger } from '../../src/logger.js';
import { openStore, type Store } from '../../src/store/database.js';
import { recordLicenseState } from '../../src/store/license-state.js';
import { RefreshRunStore } from '../../src/store/refresh-runs.js';
import { deleteExpiredRuns } from '../../src/store/run-retention.js';
import {
  companies,
  customerLicenseReads,
  customerLicenses,
  customerSubscriptions,
  customLicenseCounts,
  customLicenseDefinitions,
  partners,
  refreshResults,
  refreshRuns,
  seatHistory,
} from '../../src/store/schema.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { suiteFailed } from '../support/keep-on-failure.js';

const log = createLogger({ level: 'silent' });
const tenant = '11111111-0000-4000-8000-000000000001';
const otherTenant = '11111111-0000-4000-8000-000000000002';
const skuA = '22222222-0000-4000-8000-00000000000a';
const skuB = '22222222-0000-4000-8000-00000000000b';
const skuC = '22222222-0000-4000-8000-00000000000c';

const license = (skuId: string, partNumber: string, seats: number): LicenseSnapshot => ({
  skuId,
  skuPartNumber: partNumber,
  activeUnits: seats,
  consumedUnits: seats - 1,
  suspendedUnits: 0,
  warningUnits: 0,
  billedQuantity: seats,
});

describe('license state: the latest counts kept in place, and runs kept bounded', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let store: Store;
  let partnerId: string;
  let companyId: string;

  before(async () => {
    database = await createTestDatabase();
    store = openStore({ databaseUrl: database.url, log });
    await store.migrate();
    [{ id: partnerId }] = (await store.db
      .insert(partners)
      .values({ name: 'State Partner' })
      .returning({ id: partners.id })) as [{ id: string }];
    [{ id: companyId }] = (await store.db
      .insert(companies)
      .values({ partnerId, name: 'Contoso', customerTenantId: tenant })
      .returning({ id: companies.id })) as [{ id: string }];
  });
  after(async function () {
    await store?.close();
    if (!suiteFailed(this)) await database?.drop();
  });

  const openRun = async (
    status: 'running' | 'completed' | 'stopped' = 'completed',
    daysAgo = 0,
  ): Promise<string> => {
    const [run] = await store.db
      .insert(refreshRuns)
      .values({
        partnerId,
        trigger: 'manual',
        status,
        startedAt: sql`now() - make_interval(days => ${daysAgo}::int)`,
        finishedAt:
          status === 'running' ? null : sql`now() - make_interval(days => ${daysAgo}::int)`,
      })
      .returning({ id: refreshRuns.id });
    return run!.id;
  };

  const record = (runId: string, licenses: LicenseSnapshot[], company = companyId) =>
    store.db.transaction((tx) =>
      recordLicenseState(tx, { runId, customerTenantId: tenant, companyId: company, licenses }),
    );

  /** The tenant's rows with their row versions: a row not written keeps its `xmin`. */
  const rows = () =>
    store.db
      .select({
        skuId: customerLicenses.skuId,
        activeUnits: customerLicenses.activeUnits,
        changedRunId: customerLicenses.changedRunId,
        version: sql<string>`${customerLicenses}.xmin::text`,
      })
      .from(customerLicenses)
      .where(eq(customerLicenses.customerTenantId, tenant))
      .orderBy(asc(customerLicenses.skuId));
  const read = async () => {
    const [row] = await store.db
      .select({
        runId: customerLicenseReads.runId,
        readAt: customerLicenseReads.readAt,
        version: sql<string>`${customerLicenseReads}.xmin::text`,
      })
      .from(customerLicenseReads)
      .where(eq(customerLicenseReads.customerTenantId, tenant));
    return row;
  };

  describe('recordLicenseState', () => {
    // The runs are completed in order, one per day, as the daily refreshes would be.
    let first: string;
    let second: string;
    let third: string;

    it('a first reading writes each SKU and the read', async () => {
      first = await openRun('completed');
      expect(
        await record(first, [license(skuA, 'SPB', 10), license(skuB, 'EXCHANGE', 3)]),
      ).to.deep.equal({ changed: 2, removed: 0, confirmed: true });
      expect((await rows()).map((r) => [r.skuId, r.activeUnits, r.changedRunId])).to.deep.equal([
        [skuA, 10, first],
        [skuB, 3, first],
      ]);
      expect(await read()).to.include({ runId: first });
    });

    it('a changed count rewrites its SKU only; an unchanged one writes nothing', async () => {
      const before = await rows();
      second = await openRun('completed');
      expect(
        await record(second, [license(skuA, 'SPB', 12), license(skuB, 'EXCHANGE', 3)]),
      ).to.deep.equal({ changed: 1, removed: 0, confirmed: true });
      const after = await rows();
      expect(after[0]).to.include({ skuId: skuA, activeUnits: 12, changedRunId: second });
      expect(after[0]!.version).to.not.equal(before[0]!.version);
      // The same row version: PostgreSQL wrote no new tuple for it.
      expect(after[1]).to.deep.equal(before[1]);
      expect(await read()).to.include({ runId: second });
    });

    it('a SKU the reading no longer lists goes; a new one comes', async () => {
      third = await openRun('completed');
      expect(
        await record(third, [license(skuA, 'SPB', 12), license(skuC, 'VISIO', 1)]),
      ).to.deep.equal({
        changed: 1,
        removed: 1,
        confirmed: true,
      });
      expect((await rows()).map((r) => r.skuId)).to.deep.equal([skuA, skuC]);
    });

    it('the same run and tenant recorded again changes nothing', async () => {
      const before = { rows: await rows(), read: await read() };
      expect(
        await record(third, [license(skuA, 'SPB', 12), license(skuC, 'VISIO', 1)]),
      ).to.deep.equal({
        changed: 0,
        removed: 0,
        confirmed: false,
      });
      expect({ rows: await rows(), read: await read() }).to.deep.equal(before);
    });

    it('the companies listing reads them with the time of the latest read', async () => {
      const runs = new RefreshRunStore(store.db);
      const latest = await runs.latestLicenses([companyId]);
      expect(latest.map((l) => [l.skuPartNumber, l.activeUnits])).to.deep.equal([
        ['SPB', 12],
        ['VISIO', 1],
      ]);
      expect(latest.every((l) => l.runId === third)).to.equal(true);
      expect(latest[0]!.capturedAt.getTime()).to.equal((await read())!.readAt.getTime());
      expect((await runs.seenSkus()).map((s) => [s.skuPartNumber, s.companies])).to.deep.equal([
        ['SPB', 1],
        ['VISIO', 1],
      ]);
      // A company linked to another tenant now does not show the licenses of the one before.
      await store.db
        .update(companies)
        .set({ customerTenantId: otherTenant })
        .where(eq(companies.id, companyId));
      expect(await runs.latestLicenses([companyId])).to.deep.equal([]);
      await store.db
        .update(companies)
        .set({ customerTenantId: tenant })
        .where(eq(companies.id, companyId));
    });

    it('a reading with no SKU leaves none, and the read still names its run', async () => {
      const fourth = await openRun('completed');
      expect(await record(fourth, [])).to.deep.equal({ changed: 0, removed: 2, confirmed: true });
      expect(await rows()).to.deep.equal([]);
      expect(await read()).to.include({ runId: fourth });
    });
  });

  describe('deleteExpiredRuns', () => {
    it('deletes old finished runs with their results; keeps the latest, the latest completed and running ones, and what outlives runs', async () => {
      const { id: other } = (
        await store.db.insert(partners).values({ name: 'Other Partner' }).returning()
      )[0]!;
      await store.db.delete(refreshRuns).where(eq(refreshRuns.partnerId, partnerId));
      const oldCompleted = await openRun('completed', 200);
      const latestCompleted = await openRun('completed', 150);
      const oldStopped = await openRun('stopped', 120);
      const latestStopped = await openRun('stopped', 100);
      // The other partner: a run still open from long ago, then two completed ones.
      const otherRun = async (status: 'running' | 'completed', daysAgo: number) => {
        const [run] = await store.db
          .insert(refreshRuns)
          .values({
            partnerId: other,
            trigger: 'manual',
            status,
            startedAt: sql`now() - make_interval(days => ${daysAgo}::int)`,
            finishedAt:
              status === 'running' ? null : sql`now() - make_interval(days => ${daysAgo}::int)`,
          })
          .returning({ id: refreshRuns.id });
        return run!.id;
      };
      const running = await otherRun('running', 300);
      await otherRun('completed', 260);
      const otherLatest = await otherRun('completed', 240);
      const results = (runId: string, n: number) =>
        store.db.insert(refreshResults).values(
          Array.from({ length: n }, (_, i) => ({
            runId,
            customerTenantId: `33333333-0000-4000-8000-${String(i).padStart(12, '0')}`,
            status: 'succeeded' as const,
          })),
        );
      await results(oldCompleted, 7);
      await results(latestCompleted, 3);
      await results(oldStopped, 4);
      await results(running, 2);
      // What hangs off a run and must outlive it: a custom-license count, a subscription's
      // run, seat history (no foreign key) and the current licenses (none either).
      const [definition] = await store.db
        .insert(customLicenseDefinitions)
        .values({ partnerId, name: 'Managed users', kind: 'fixed', params: { quantity: 5 } })
        .returning();
      await store.db.insert(customLicenseCounts).values({
        runId: oldCompleted,
        companyId,
        definitionId: definition!.id,
        state: 'counted',
        quantity: 5,
      });
      await store.db.insert(customerSubscriptions).values({
        partnerId,
        customerTenantId: tenant,
        subscriptionId: 'sub-1',
        offerId: 'offer',
        quantity: 5,
        status: 'active',
        runId: oldCompleted,
      });
      await store.db.insert(seatHistory).values({
        companyId,
        runId: oldCompleted,
        productKey: skuA,
        skuId: skuA,
        productName: 'SPB',
        field: 'purchased',
        fromValue: 0,
        toValue: 5,
      });
      await record(oldCompleted, [license(skuA, 'SPB', 5)]);

      // A small budget: results go in batches over several statements, and a later pass
      // finishes what one did not.
      const budget = { runs: 100, results: 2, statements: 3 };
      const pass = await deleteExpiredRuns(store.db, 90, budget);
      expect(pass.results).to.equal(6);
      const second = await deleteExpiredRuns(store.db, 90, budget);
      expect(pass.results + second.results).to.equal(11);
      expect(pass.runs + second.runs).to.equal(3);
      expect(await deleteExpiredRuns(store.db, 90)).to.deep.equal({ runs: 0, results: 0 });

      const left = await store.db.select({ id: refreshRuns.id }).from(refreshRuns);
      expect(left.map((r) => r.id)).to.have.members([
        latestCompleted,
        latestStopped,
        running,
        otherLatest,
      ]);
      const resultsLeft = await store.db
        .select({ runId: refreshResults.runId, n: sql<number>`count(*)::int` })
        .from(refreshResults)
        .groupBy(refreshResults.runId);
      expect(resultsLeft).to.have.deep.members([
        { runId: latestCompleted, n: 3 },
        { runId: running, n: 2 },
      ]);
      expect((await store.db.select().from(customLicenseCounts))[0]).to.include({
        runId: null,
        quantity: 5,
      });
      expect((await store.db.select().from(customerSubscriptions))[0]).to.include({ runId: null });
      expect((await store.db.select().from(seatHistory))[0]).to.include({ runId: oldCompleted });
      expect(await rows()).to.have.length(1);
    });

    it('keeps every run younger than the retention', async () => {
      await store.db.delete(refreshRuns);
      await openRun('completed', 5);
      await openRun('completed', 4);
      await openRun('stopped', 3);
      expect(await deleteExpiredRuns(store.db, 90)).to.deep.equal({ runs: 0, results: 0 });
      expect(await deleteExpiredRuns(store.db, 3)).to.deep.equal({ runs: 1, results: 0 });
    });
  });
  describe('seat history beside it', () => {
    // A company of its own, whose license state is recorded before it has any seat history:
    // as a company refreshed before the history began.
    const seatTenant = '11111111-0000-4000-8000-000000000003';
    let seatPartner: string;
    let seatCompany: string;
    let runs: RefreshRunStore;

    before(async () => {
      runs = new RefreshRunStore(store.db);
      [{ id: seatPartner }] = (await store.db
        .insert(partners)
        .values({ name: 'Seat Partner' })
        .returning({ id: partners.id })) as [{ id: string }];
      [{ id: seatCompany }] = (await store.db
        .insert(companies)
        .values({ partnerId: seatPartner, name: 'Fabrikam', customerTenantId: seatTenant })
        .returning({ id: companies.id })) as [{ id: string }];
    });

    /** A run of the seat partner in which the customer succeeds with `licenses`. */
    const succeedWith = async (licenses: LicenseSnapshot[]): Promise<string> => {
      const [run] = await store.db
        .insert(refreshRuns)
        .values({ partnerId: seatPartner, trigger: 'manual', status: 'running' })
        .returning({ id: refreshRuns.id });
      await runs.addTenants(run!.id, [{ customerTenantId: seatTenant, companyId: seatCompany }]);
      expect(await runs.succeed(run!.id, seatTenant, seatCompany, licenses, 1)).to.equal(true);
      await store.db
        .update(refreshRuns)
        .set({ status: 'completed', finishedAt: new Date() })
        .where(eq(refreshRuns.id, run!.id));
      return run!.id;
    };
    const changesOf = async (runId: string) =>
      (
        await store.db
          .select({
            sku: seatHistory.productKey,
            field: seatHistory.field,
            from: seatHistory.fromValue,
            to: seatHistory.toValue,
            initial: seatHistory.initial,
          })
          .from(seatHistory)
          .where(and(eq(seatHistory.companyId, seatCompany), eq(seatHistory.runId, runId)))
      ).sort((a, b) => `${a.sku}${a.field}`.localeCompare(`${b.sku}${b.field}`));

    it('records the first reading of a company whose licenses were known without it', async () => {
      const [{ id: before }] = (await store.db
        .insert(refreshRuns)
        .values({ partnerId: seatPartner, trigger: 'manual', status: 'completed' })
        .returning({ id: refreshRuns.id })) as [{ id: string }];
      await store.db.transaction((tx) =>
        recordLicenseState(tx, {
          runId: before,
          customerTenantId: seatTenant,
          companyId: seatCompany,
          licenses: [license(skuA, 'SPB', 10), license(skuB, 'EXCHANGE', 3)],
        }),
      );
      const first = await succeedWith([license(skuA, 'SPB', 10), license(skuB, 'EXCHANGE', 3)]);
      expect(await changesOf(first)).to.deep.equal([
        { sku: skuA, field: 'assigned', from: 0, to: 9, initial: true },
        { sku: skuA, field: 'billed', from: 0, to: 10, initial: true },
        { sku: skuA, field: 'purchased', from: 0, to: 10, initial: true },
        { sku: skuB, field: 'assigned', from: 0, to: 2, initial: true },
        { sku: skuB, field: 'billed', from: 0, to: 3, initial: true },
        { sku: skuB, field: 'purchased', from: 0, to: 3, initial: true },
      ]);
      expect(
        await changesOf(
          await succeedWith([license(skuA, 'SPB', 10), license(skuB, 'EXCHANGE', 3)]),
        ),
      ).to.deep.equal([]);
    });

    it('records a changed count, and a SKU gone while the others stay as they were', async () => {
      const changed = await succeedWith([license(skuA, 'SPB', 12), license(skuB, 'EXCHANGE', 3)]);
      expect(await changesOf(changed)).to.deep.equal([
        { sku: skuA, field: 'assigned', from: 9, to: 11, initial: false },
        { sku: skuA, field: 'billed', from: 10, to: 12, initial: false },
        { sku: skuA, field: 'purchased', from: 10, to: 12, initial: false },
      ]);
      const gone = await succeedWith([license(skuA, 'SPB', 12)]);
      expect(await changesOf(gone)).to.deep.equal([
        { sku: skuB, field: 'assigned', from: 2, to: 0, initial: false },
        { sku: skuB, field: 'billed', from: 3, to: 0, initial: false },
        { sku: skuB, field: 'purchased', from: 3, to: 0, initial: false },
      ]);
    });
  });
});

describe('migration 0015: the newest snapshot set becomes the current licenses', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let folder: string;

  before(async () => {
    database = await createTestDatabase();
    // The committed migrations up to 0014, as a database deployed before 0015 has them.
    const committed = fileURLToPath(new URL('../../src/store/migrations', import.meta.url));
    folder = mkdtempSync(join(tmpdir(), 'ls-migrations-'));
    cpSync(committed, folder, { recursive: true });
    const journalFile = join(folder, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as {
      entries: { idx: number }[];
    };
    journal.entries = journal.entries.filter((e) => e.idx <= 14);
    writeFileSync(journalFile, JSON.stringify(journal));
  });
  after(async function () {
    rmSync(folder, { recursive: true, force: true });
    if (!suiteFailed(this)) await database?.drop();
  });

  it('carries each customer tenant newest set over, per partner, and drops the snapshots', async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    try {
      await migrate(drizzle(pool), { migrationsFolder: folder });
      const one = async (text: string, values: unknown[] = []) =>
        ((await pool.query(text, values)).rows[0] ?? {}) as Record<string, string>;
      const p1 = (await one(`insert into partners (name) values ('P1') returning id`)).id!;
      const p2 = (await one(`insert into partners (name) values ('P2') returning id`)).id!;
      const c1 = (
        await one(
          `insert into companies (partner_id, name, customer_tenant_id) values ($1, 'C', $2) returning id`,
          [p1, tenant],
        )
      ).id!;
      const c2 = (
        await one(
          `insert into companies (partner_id, name, customer_tenant_id) values ($1, 'C', $2) returning id`,
          [p2, tenant],
        )
      ).id!;
      const run = async (partner: string, daysAgo: number) =>
        (
          await one(
            `insert into refresh_runs (partner_id, trigger, status, started_at, finished_at)
             values ($1, 'schedule', 'completed', now() - make_interval(days => $2), now() - make_interval(days => $2))
             returning id`,
            [partner, daysAgo],
          )
        ).id!;
      const snapshot = (
        runId: string,
        company: string,
        sku: string,
        seats: number,
        daysAgo: number,
      ) =>
        pool.query(
          `insert into license_snapshots (run_id, company_id, customer_tenant_id, sku_id,
             sku_part_number, active_units, consumed_units, suspended_units, warning_units,
             billed_quantity, captured_at)
           values ($1, $2, $3, $4, $5, $6, $7, 1, 2, $6, now() - make_interval(days => $8))`,
          [runId, company, tenant, sku, `PART-${sku.slice(-1)}`, seats, seats - 1, daysAgo],
        );
      const old1 = await run(p1, 2);
      const new1 = await run(p1, 1);
      const only2 = await run(p2, 3);
      // P1: two SKUs two days ago, then one of them (B went) yesterday with a new count.
      await snapshot(old1, c1, skuA, 10, 2);
      await snapshot(old1, c1, skuB, 4, 2);
      await snapshot(new1, c1, skuA, 11, 1);
      // P2 has the same tenant as a customer: its own counts, not P1's.
      await snapshot(only2, c2, skuC, 7, 3);

      const store = openStore({ databaseUrl: database.url, log });
      try {
        await store.migrate();
        expect(await store.migrationState()).to.include({ status: 'current' });
        const licenses = await store.db
          .select()
          .from(customerLicenses)
          .orderBy(asc(customerLicenses.partnerId), asc(customerLicenses.skuId));
        const expected = [
          { partnerId: p1, companyId: c1, skuId: skuA, activeUnits: 11, changedRunId: new1 },
          { partnerId: p2, companyId: c2, skuId: skuC, activeUnits: 7, changedRunId: only2 },
        ].sort((a, b) => a.partnerId.localeCompare(b.partnerId));
        expect(
          licenses.map((l) => ({
            partnerId: l.partnerId,
            companyId: l.companyId,
            skuId: l.skuId,
            activeUnits: l.activeUnits,
            changedRunId: l.changedRunId,
          })),
        ).to.deep.equal(expected);
        const copied = licenses.find((l) => l.skuId === skuA)!;
        expect(copied).to.include({
          customerTenantId: tenant,
          skuPartNumber: 'PART-a',
          consumedUnits: 10,
          suspendedUnits: 1,
          warningUnits: 2,
          billedQuantity: 11,
        });
        const reads = await store.db.select().from(customerLicenseReads);
        expect(reads.map((r) => [r.partnerId, r.runId])).to.have.deep.members([
          [p1, new1],
          [p2, only2],
        ]);
        const runs = new RefreshRunStore(store.db);
        expect((await runs.latestLicenses([c1])).map((l) => l.activeUnits)).to.deep.equal([11]);
        const gone = await pool.query<{ gone: boolean }>(
          `select to_regclass('license_snapshots') is null as gone`,
        );
        expect(gone.rows[0]!.gone).to.equal(true);
      } finally {
        await store.close();
      }
    } finally {
      await pool.end();
    }
  });
});
