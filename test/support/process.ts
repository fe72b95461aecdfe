import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface ServiceProcess {
  child: ChildProcess;
  /** stdout lines (pino JSON) and stderr lines so far. */
  lines: string[];
  /** Resolves with the first parsed log line matching `predicate`. */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the first line, JSON or not, matching `predicate`. */
  waitForLine(predicate: (line: string) => boolean): Promise<string>;
  /** Resolves with the exit code (or signal). */
  exited: Promise<number | string>;
}

/**
 * Runs one of the service's entrypoints as its own process, the way `npm start` does;
 * `nodeArgs` go to node itself, after tsx is registered (e.g. another `--import`).
 */
export function startService(
  entry: string,
  env: Record<string, string | undefined>,
  args: string[] = [],
  nodeArgs: string[] = [],
): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, entry, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: {
    predicate: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  const lineWaiters: { predicate: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    for (const waiter of [...lineWaiters]) {
      if (waiter.predicate(line)) {
        lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    for (const waiter of [...waiters]) {
      if (waiter.predicate(parsed)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    }
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return {
    child,
    lines,
    exited,
    waitForLine(predicate) {
      const seen = lines.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return Promise.race([
        new Promise<string>((resolve) => lineWaiters.push({ predicate, resolve })),
        exited.then((code) => {
          throw new Error(`process exited (${code}) first:\n${lines.join('\n')}`);
        }),
      ]);
    },
    waitForLog(predicate) {
      for (const line of lines) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (predicate(parsed)) return Promise.resolve(parsed);
        } catch {
          // not JSON
        }
      }
      return Promise.race([
        new Promise<Record<string, unknown>>((resolve) => waiters.push({ predicate, resolve })),
        exited.then((code) => {
          throw new Error(`process exited (${code}) first:\n${lines.join('\n')}`);
        }),
      ]);
    },
  };
}

/** Exit code and output of a process run to its end; killed and rejected after `limitMs`. */
export async function runToEnd(service: ServiceProcess, what: string, limitMs = 60_000) {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    service.exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        service.child.kill('SIGKILL');
        reject(new Error(`${what} did not exit within ${String(limitMs)} ms`));
      }, limitMs);
    }),
  ]).finally(() => clearTimeout(timer));
  return { code, output: service.lines.join('\n') };
}
