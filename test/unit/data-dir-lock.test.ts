import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { DataDirInUseError, lockDataDir, lockFileName } from '../../src/store/data-dir-lock.js';

describe('PGlite data directory lock', () => {
  let dir: string;
  let lockPath: string;
  const writeLock = (pid: number, host = hostname()) =>
    writeFileSync(lockPath, JSON.stringify({ pid, host, since: '2026-01-01T00:00:00.000Z' }));
  /** The pid of a process that has exited. */
  const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'license-sync-lock-'));
    lockPath = join(dir, lockFileName);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a directory a live process holds, naming the directory and its pid', () => {
    writeLock(process.ppid);
    expect(() => lockDataDir(dir))
      .to.throw(DataDirInUseError)
      .with.property('message')
      .that.contains(`pid ${String(process.ppid)}`)
      .and.contains(dir)
      .and.contains('DATABASE_URL');
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).to.include({ pid: process.ppid });
  });

  it('refuses a second open in the same process, and allows it after release', () => {
    const lock = lockDataDir(dir);
    expect(() => lockDataDir(dir)).to.throw(DataDirInUseError, /this process/);
    lock.release();
    expect(existsSync(lockPath)).to.equal(false);
    lockDataDir(dir).release();
  });

  it('takes over the lock of a process that is gone', () => {
    writeLock(deadPid());
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).to.include({ pid: process.pid });
    lock.release();
  });

  it('takes over a lock untouched for over a minute, even if its pid is alive (reused) or on another host', () => {
    for (const [pid, host] of [
      [process.ppid, hostname()],
      [process.ppid, 'another-host'],
    ] as const) {
      writeLock(pid, host);
      const old = new Date(Date.now() - 2 * 60_000);
      utimesSync(lockPath, old, old);
      lockDataDir(dir).release();
    }
  });

  it('refuses a fresh lock of another host, whose pid it cannot check', () => {
    writeLock(deadPid(), 'another-host');
    expect(() => lockDataDir(dir)).to.throw(DataDirInUseError, /on host another-host/);
  });

  it('release leaves alone a lock that is no longer its own', () => {
    const lock = lockDataDir(dir);
    writeLock(process.ppid);
    lock.release();
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).to.include({ pid: process.ppid });
  });
});
