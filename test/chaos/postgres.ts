import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { closedPort } from '../support/redis.js';

const run = promisify(execFile);

export interface PrivatePostgres {
  url: string;
  restart(): Promise<void>;
  /** Stops the cluster (fast shutdown), keeping its data, until `up`: an outage of any length. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A PostgreSQL cluster of the suite's own on a free port (Debian's pg_createcluster: initdb
 * refuses root), trust auth on localhost, with one database; dropped at the end.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const version = readdirSync('/etc/postgresql').sort().at(-1)!;
  const name = `chaos${Date.now()}`;
  const port = await closedPort();
  await run('pg_createcluster', [
    version,
    name,
    '-p',
    String(port),
    '--start',
    '--',
    '--auth=trust',
  ]);
  const admin = new pg.Client({
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
  });
  await admin.connect();
  await admin.query('create database license_sync');
  await admin.end();
  const ctl = (action: string, ...args: string[]) =>
    run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, action, ...args]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/license_sync`,
    restart: async () => {
      await ctl('restart', '-m', 'fast');
    },
    down: async () => {
      await ctl('stop', '-m', 'fast');
    },
    up: async () => {
      await ctl('start');
    },
    stop: async () => {
      await run('pg_dropcluster', [version, name, '--stop']);
    },
  };
}
