import {
  linkSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';

/** Thrown when another live process holds the PGlite data directory. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    const here = holder.host === hostname();
    const who = here && holder.pid === process.pid ? 'this process' : 'another process';
    const where = here ? '' : ` on host ${holder.host}`;
    super(
      `The embedded database in ${dataDir} is in use by ${who} (pid ${String(holder.pid)}${where}, ` +
        `since ${holder.since}). PGlite serves one process at a time: stop that process ` +
        '(e.g. `npm start`) and try again, or set DATABASE_URL to share a PostgreSQL server.',
    );
    this.name = 'DataDirInUseError';
  }
}

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

export interface DataDirLock {
  /** The lock file. */
  path: string;
  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): void;
}

export const lockFileName = 'license-sync.lock';
/** Locks this process holds: a second open here is refused, not taken for a past life's. */
const heldHere = new Map<string, LockHolder>();
/** How often a holder touches its lock file. */
const heartbeatMs = 10_000;
/** A lock file untouched this long is stale whatever its pid says (pid reuse, another host). */
const staleAfterMs = 60_000;

/**
 * Takes the PGlite data directory for this process. Each process running PGlite has its own
 * PostgreSQL in memory over the same files, so a second one would write past the first and
 * lose what it saved. The lock file names its holder; it is stale once that process is gone
 * (same host) or has not touched it for a minute (a dead holder's pid reused, another host).
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = resolve(dataDir, lockFileName);
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const mine = heldHere.get(path);
  if (mine) throw new DataDirInUseError(resolve(dataDir), mine);
  for (let tries = 0; tries < 5; tries++) {
    if (tryCreate(path, me)) return holdLock(path, me);
    const holder = readHolder(path);
    if (holder && !isStale(path, holder)) throw new DataDirInUseError(resolve(dataDir), holder);
    removeStale(path, holder);
  }
  throw new Error(`cannot take the lock ${path}: it keeps changing hands`);
}

/** Written aside, then linked into place: the lock never exists half-written. */
function tryCreate(path: string, me: LockHolder): boolean {
  const draft = `${path}.${String(process.pid)}.new`;
  writeFileSync(draft, JSON.stringify(me), { mode: 0o644 });
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(draft);
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') {
      return { pid: parsed.pid, host: parsed.host, since: String(parsed.since) };
    }
  } catch {
    // gone meanwhile, or not a lock this code wrote: stale either way
  }
  return undefined;
}

function isStale(path: string, holder: LockHolder): boolean {
  let touchedMs: number;
  try {
    touchedMs = statSync(path).mtimeMs;
  } catch {
    return true;
  }
  if (Date.now() - touchedMs > staleAfterMs) return true;
  if (holder.host !== hostname()) return false;
  // Not held here (checked first), so this pid's previous life wrote it (container restart).
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    // EPERM: alive, owned by another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Moves the stale lock aside before deleting it, and checks that what moved is the lock judged
 * stale: two processes clearing the same stale lock must not delete the one that won meanwhile.
 */
function removeStale(path: string, judged: LockHolder | undefined): void {
  const aside = `${path}.${String(process.pid)}.stale`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = readHolder(aside);
  const same =
    moved?.pid === judged?.pid && moved?.host === judged?.host && moved?.since === judged?.since;
  if (!same) {
    try {
      linkSync(aside, path); // put the winner's lock back
    } catch {
      // someone holds the path again: that process goes on; this one tries afresh
    }
  }
  unlinkSync(aside);
}

function holdLock(path: string, me: LockHolder): DataDirLock {
  let held = true;
  heldHere.set(path, me);
  const heartbeat = setInterval(() => {
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      // removed by hand: nothing to keep alive
    }
  }, heartbeatMs);
  heartbeat.unref();
  const release = () => {
    if (!held) return;
    held = false;
    heldHere.delete(path);
    clearInterval(heartbeat);
    process.off('exit', release);
    const holder = readHolder(path);
    if (holder?.pid === me.pid && holder.host === me.host && holder.since === me.since) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  };
  // process.exit() skips close(): the lock goes with the process anyway.
  process.on('exit', release);
  return { path, release };
}
