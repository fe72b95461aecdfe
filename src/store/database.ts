import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import type { Logger } from 'pino';
import { lockDataDir } from './data-dir-lock.js';
import * as schema from './schema.js';

/** The drizzle database, whichever driver is underneath. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

type MigrationState =
  | { status: 'current'; applied: number }
  | { status: 'pending'; applied: number; expected: number }
  | { status: 'ahead'; applied: number; expected: number };

export interface Store {
  db: Database;
  /** pg: a PostgreSQL server (DATABASE_URL); pglite: the embedded single-process database. */
  driver: 'pg' | 'pglite';
  migrate(): Promise<void>;
  migrationState(): Promise<MigrationState>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));
const expectedMigrations = readMigrationFiles({ migrationsFolder });
/** How many migrations this version of the code applies. */
export const migrationCount = expectedMigrations.length;
/** Held while migrating, so an API and a worker starting together do not both migrate. */
const migrationLockId = 7_311_001;

export interface StoreOptions {
  /** PostgreSQL URL; when undefined the embedded PGlite database is used. */
  databaseUrl: string | undefined;
  /** PGlite data directory, or memory:// for a throw-away database. Default: memory:// */
  pgliteDataDir?: string;
  log: Logger;
}

export function openStore(options: StoreOptions): Store {
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, options.log)
    : openPglite(options.pgliteDataDir ?? 'memory://');
}

function openPostgres(url: string, log: Logger): Store {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client's error (e.g. PostgreSQL restarting) is emitted here; unhandled it would
  // crash the process. Queries in flight fail on their own and are retried by their callers.
  pool.on('error', (error) => log.warn({ err: error }, 'PostgreSQL connection lost'));
  // The pool listens to its idle clients only. A client checked out but between two queries
  // (a transaction's code running) would crash the process too: its next query fails instead,
  // as a lost connection its caller retries.
  pool.on('connect', (client) => {
    client.on('error', (error) =>
      log.debug({ err: error }, 'PostgreSQL connection lost by a client in use'),
    );
  });
  const db = drizzlePg(pool, { schema });
  return {
    db,
    driver: 'pg',
    async migrate() {
      const client = await pool.connect();
      try {
        await client.query('select pg_advisory_lock($1)', [migrationLockId]);
        await migratePg(drizzlePg(client, { schema }), { migrationsFolder });
      } finally {
        await client.query('select pg_advisory_unlock($1)', [migrationLockId]).catch(() => {});
        client.release();
      }
    },
    migrationState: () => readMigrationState(async (text) => (await pool.query<object>(text)).rows),
    async ping() {
      await pool.query('select 1');
    },
    close: () => pool.end(),
  };
}

/** Throws DataDirInUseError when another live process has the same data directory open. */
function openPglite(dataDir: string): Store {
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  const lock = inMemory ? undefined : lockDataDir(dataDir);
  let client: PGlite;
  try {
    client = new PGlite(dataDir);
  } catch (error) {
    lock?.release();
    throw error;
  }
  const db = drizzlePglite(client, { schema });
  return {
    db,
    driver: 'pglite',
    migrate: () => migratePglite(db, { migrationsFolder }),
    migrationState: () => readMigrationState(async (text) => (await client.query(text)).rows),
    async ping() {
      await client.query('select 1');
    },
    async close() {
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}

type RawQuery = (text: string) => Promise<unknown[]>;

async function readMigrationState(query: RawQuery): Promise<MigrationState> {
  const expected = expectedMigrations.length;
  const [table] = (await query(
    `select to_regclass('drizzle.__drizzle_migrations') is not null as "exists"`,
  )) as { exists: boolean }[];
  if (!table?.exists) return { status: 'pending', applied: 0, expected };
  // created_at is int8: pg returns it as a string, PGlite as a number.
  const rows = (await query('select created_at from drizzle.__drizzle_migrations')) as {
    created_at: string | number;
  }[];
  const applied = new Set(rows.map((r) => Number(r.created_at)));
  const known = new Set(expectedMigrations.map((m) => m.folderMillis));
  if ([...applied].some((when) => !known.has(when))) {
    return { status: 'ahead', applied: applied.size, expected };
  }
  if (expectedMigrations.some((m) => !applied.has(m.folderMillis))) {
    return { status: 'pending', applied: applied.size, expected };
  }
  return { status: 'current', applied: applied.size };
}
