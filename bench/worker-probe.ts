// Loaded into a worker process by the worker-cpu benchmark (node --import): measures a window of
// the process' own life on command, so the figures are the worker's alone. The benchmark writes
// `measure` or `profile` to $BENCH_PROBE_DIR/command and sends SIGUSR2 to open a window, and
// SIGUSR2 again to close it; the probe then prints one JSON line {benchProbe: ...} on stdout
// with the window's CPU time and PostgreSQL statements, and with `profile` writes a V8 CPU
// profile of the window to $BENCH_PROBE_DIR/window.cpuprofile.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import net from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';

const dir = process.env.BENCH_PROBE_DIR;
if (!dir) throw new Error('BENCH_PROBE_DIR must name the directory the benchmark reads');

let statements = 0;
let transactions = 0;
/** Statements by their text's start, to tell which ones a customer costs. */
const byText = new Map<string, number>();
// Every statement of the pool goes through Client#query, drizzle's included.
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with its client below
const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements += 1;
  const first = args[0];
  const text = typeof first === 'string' ? first : (first as { text?: unknown } | null)?.text;
  // Cheap on purpose: this runs in the measured process, for every statement.
  if (typeof text === 'string') {
    if (text === 'begin') transactions += 1; // drizzle's transactions open with it
    const start = text.slice(0, 70);
    byText.set(start, (byText.get(start) ?? 0) + 1);
  }
  return query.apply(this, args);
} as typeof pg.Client.prototype.query;

/** Socket writes (each one a write or writev system call) by the peer they went to. */
const writesByPeer = new Map<string, number>();
const ports = new Map<string, string>();
for (const [name, url] of [
  ['postgres', process.env.DATABASE_URL],
  ['redis', process.env.REDIS_URL],
] as const) {
  if (url) ports.set(new URL(url).port || (name === 'redis' ? '6379' : '5432'), name);
}
const peerOf = (socket: net.Socket) => {
  const port = String(socket.remotePort ?? '');
  return ports.get(port) ?? (socket.remoteAddress ? `other (${port})` : 'unix socket');
};
// Socket#_writeGeneric is where both write paths of a net.Socket meet (TLS sockets included).
const proto = net.Socket.prototype as unknown as {
  _writeGeneric: (this: net.Socket, ...args: unknown[]) => unknown;
};
const writeGeneric = proto._writeGeneric;
proto._writeGeneric = function (this: net.Socket, ...args: unknown[]) {
  const peer = peerOf(this);
  writesByPeer.set(peer, (writesByPeer.get(peer) ?? 0) + 1);
  return writeGeneric.apply(this, args);
};
/** Commands the worker's ioredis clients sent, by name (a script's EVALSHA counts once). */
const redisCalls = new Map<string, number>();
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with its client below
const sendCommand = Redis.prototype.sendCommand as (this: Redis, ...args: unknown[]) => unknown;
Redis.prototype.sendCommand = function (this: Redis, ...args: unknown[]) {
  const name = (args[0] as { name?: string } | undefined)?.name ?? '?';
  redisCalls.set(name, (redisCalls.get(name) ?? 0) + 1);
  return sendCommand.apply(this, args);
};

interface Window {
  cpu: NodeJS.CpuUsage;
  statements: number;
  transactions: number;
  session: Session | undefined;
}
let open: Window | undefined;

async function toggle(): Promise<void> {
  if (!open) {
    const command = readFileSync(join(dir!, 'command'), 'utf8').trim();
    let session: Session | undefined;
    if (command === 'profile') {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    byText.clear();
    writesByPeer.clear();
    redisCalls.clear();
    open = { cpu: process.cpuUsage(), statements, transactions, session };
    process.stdout.write(`${JSON.stringify({ benchProbe: 'opened', command })}\n`);
    return;
  }
  const window = open;
  open = undefined;
  const cpu = process.cpuUsage(window.cpu);
  const measured = {
    userMicros: cpu.user,
    systemMicros: cpu.system,
    statements: statements - window.statements,
    transactions: transactions - window.transactions,
    statementsByText: [...byText].sort((a, b) => b[1] - a[1]).slice(0, 25),
    socketWritesByPeer: [...writesByPeer].sort((a, b) => b[1] - a[1]),
    redisCallsByCommand: [...redisCalls].sort((a, b) => b[1] - a[1]).slice(0, 12),
  };
  if (window.session) {
    const { profile } = await window.session.post('Profiler.stop');
    writeFileSync(join(dir!, 'window.cpuprofile'), JSON.stringify(profile));
    window.session.disconnect();
  }
  process.stdout.write(`${JSON.stringify({ benchProbe: 'closed', ...measured })}\n`);
}

process.on('SIGUSR2', () => {
  toggle().catch((error: unknown) => {
    process.stdout.write(`${JSON.stringify({ benchProbe: 'error', error: String(error) })}\n`);
  });
});
