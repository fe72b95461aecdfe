// Benchmark 6, worker CPU: the CPU time a worker process of its own spends per customer of a
// refresh run (no upstream latency or limit, our paces at their highest), with what it asks of
// PostgreSQL and Redis per customer, and where its CPU goes (a CPU profile of another run).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Job } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { defaultQueueTuning } from '../config/index.js';
import { jobIds } from '../src/queue/catalog.js';
import type { RefreshRun } from '../src/store/refresh-runs.js';
import type { Harness } from '../test/support/harness.js';
import { startHarness } from '../test/support/harness.js';
import { startService, type ServiceProcess } from '../test/support/process.js';
import { startPrivateRedis } from '../test/support/redis.js';
import { summariseProfile, type ProfileSummary } from './cpu-profile.js';
import type { BenchOutcome } from './results.js';
import { benchScenario, completedWithoutFailures, consentBenchPartner } from './stack.js';
import { median } from './stats.js';
import { paces } from './worker-overhead.js';

export type WorkerCpuInputs = {
  customers: number;
  concurrency: number;
  customLicenses: boolean;
  latencyMs: number;
  runs: number;
};

/** One measured run: per customer, or per 1,000 customers for CPU seconds. */
interface WorkerCpuRun {
  durationSec: number;
  /** 1-minute load average as the run started and as it ended. */
  loadAverage: [number, number];
  workerCpuSecPer1000: number;
  workerUserSecPer1000: number;
  workerSystemSecPer1000: number;
  /** CPU of the PostgreSQL backends serving the worker process; null when unreadable. */
  postgresCpuSecPer1000: number | null;
  /** Statements the worker sent (BEGIN and COMMIT included). */
  statementsPerCustomer: number;
  /** The most sent statements, by the start of their text, per customer. */
  statementsByText?: { text: string; perCustomer: number }[];
  /** Explicit transactions (BEGIN) the worker opened. */
  transactionsPerCustomer: number;
  /** pg_stat_database xact_commit of the database, every client and autocommit included. */
  commitsPerCustomer: number;
  /** INFO commandstats calls of the benchmark's own Redis, every client included. */
  redisCommandsPerCustomer: number;
  redisTopCommands: { command: string; perCustomer: number }[];
  /** Socket writes (system calls) of the worker, by peer: postgres, redis, other (port). */
  socketWritesByPeer?: { peer: string; perCustomer: number }[];
  /** Commands the worker's ioredis clients sent (a script counts once), by name. */
  redisCallsByCommand?: { command: string; perCustomer: number }[];
}

export interface WorkerCpuFigures {
  runs: WorkerCpuRun[];
  /** Median over the runs. */
  workerCpuSecPer1000: number;
  /** The profiled run: its CPU (the profiler's cost included) and its self time. */
  profiledCpuSecPer1000: number;
  profile: ProfileSummary;
}

/** What the probe in the worker process (bench/worker-probe.ts) reports for a window. */
export interface ProbeWindow {
  userMicros: number;
  systemMicros: number;
  statements: number;
  transactions: number;
  statementsByText: [string, number][];
  socketWritesByPeer: [string, number][];
  redisCallsByCommand: [string, number][];
}

export const applicationName = 'license-sync-bench-worker';
const root = fileURLToPath(new URL('../', import.meta.url));
export const probe = new URL('./worker-probe.ts', import.meta.url).href;
/** Where the profiled run's whole profile is left. */
const latestProfile = join(tmpdir(), 'worker-cpu-latest.cpuprofile');
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** The run once it ended, polled (every job's completion event would cost queries here too). */
export async function endedQuietly(
  h: Harness,
  runId: string,
  limitMs = 15 * 60_000,
): Promise<RefreshRun> {
  const deadline = Date.now() + limitMs;
  const listing = await Job.fromId(h.runtime.queues.get('partners'), jobIds.refreshPartner(runId));
  for (;;) {
    if (Date.now() > deadline) throw new Error(`run ${runId} still running after ${limitMs} ms`);
    const run = await h.runtime.services.runs.get(runId);
    const listed = !listing || ['completed', 'failed'].includes(await listing.getState());
    if (run && run.status !== 'running' && listed) {
      if (run.status !== 'completed' || run.failed > 0) {
        throw new Error(`run ${runId} ended ${run.status} with ${run.failed} customers failed`);
      }
      return run;
    }
    await setTimeout(250);
  }
}

/** CPU seconds of the PostgreSQL backends the worker process holds, from /proc. */
export async function backendCpu(monitor: pg.Client): Promise<Map<number, number> | null> {
  const { rows } = await monitor.query<{ pid: number }>(
    'select pid from pg_stat_activity where application_name = $1',
    [applicationName],
  );
  const cpu = new Map<number, number>();
  try {
    for (const { pid } of rows) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // utime and stime: fields 14 and 15 of stat, 12 and 13 after "pid (comm) ".
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / clockTicks);
    }
  } catch {
    return null; // another host, or no /proc: not measured
  }
  return cpu;
}

async function commits(monitor: pg.Client, database: string): Promise<number> {
  const { rows } = await monitor.query<{ n: string }>(
    'select xact_commit::text as n from pg_stat_database where datname = $1',
    [database],
  );
  return Number(rows[0]!.n);
}

async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const m of (await redis.info('commandstats')).matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) {
    calls.set(m[1]!, Number(m[2]));
  }
  return calls;
}

/** Opens or closes the probe's window; resolves with what the probe printed. */
export async function toggleProbe(
  worker: ServiceProcess,
  dir: string,
  command: 'measure' | 'profile' | 'close',
): Promise<Record<string, unknown>> {
  if (command !== 'close') writeFileSync(join(dir, 'command'), command);
  worker.lines.length = 0; // only this toggle's answer counts
  worker.child.kill('SIGUSR2');
  const line = await worker.waitForLog((l) => typeof l.benchProbe === 'string');
  if (line.benchProbe === 'error') throw new Error(`worker probe: ${String(line.error)}`);
  return line;
}

export async function workerCpuBench(
  options: { customers?: number; runs?: number; customLicenses?: boolean } = {},
): Promise<BenchOutcome<WorkerCpuFigures, WorkerCpuInputs>> {
  const { customers = 5000, runs = 2, customLicenses = false } = options;
  const concurrency = defaultQueueTuning.refreshConcurrency;
  // A Redis of its own: its command counts are this benchmark's alone.
  const privateRedis = await startPrivateRedis();
  const dir = mkdtempSync(join(tmpdir(), 'worker-cpu-'));
  try {
    const h = await startHarness(
      benchScenario([{ name: 'Partner 1', customers, limit: 100_000 }], 0),
      { REDIS_URL: privateRedis.url, ...paces },
      { workers: false, logLevel: 'warn' },
    );
    const worker = startService(
      'workers/main.ts',
      { ...h.env, LOG_LEVEL: 'info', PGAPPNAME: applicationName, BENCH_PROBE_DIR: dir },
      [],
      ['--import', probe],
    );
    const redis = new Redis(privateRedis.url);
    const databaseUrl = new URL(h.env.DATABASE_URL!);
    const database = databaseUrl.pathname.slice(1);
    databaseUrl.pathname = '/postgres';
    const monitor = new pg.Client({ connectionString: databaseUrl.href });
    await monitor.connect();
    try {
      await worker.waitForLog((l) => l.msg === 'workers started');
      const { partnerId, runId } = await consentBenchPartner(h, 0, customLicenses);
      // The consent's run and one more are the warm-up: SKUs resolved, each customer's access
      // and app consent recorded (the first run's GDAP read goes on beside its customers), JIT
      // warm, pools and sockets open. What follows is a daily run's steady state.
      await completedWithoutFailures(h, runId);
      const warm = await h.api('post', `/partners/${partnerId}/refresh`);
      await endedQuietly(h, (warm.body as { runId: string }).runId);
      const measureRun = async (command: 'measure' | 'profile') => {
        const load = loadavg()[0]!;
        await toggleProbe(worker, dir, command);
        const [pgBefore, commitsBefore, redisBefore] = [
          await backendCpu(monitor),
          await commits(monitor, database),
          await commandCalls(redis),
        ];
        const res = await h.api('post', `/partners/${partnerId}/refresh`);
        if (res.status !== 202) throw new Error(`sync now answered ${res.status}: ${res.text}`);
        const run = await endedQuietly(h, (res.body as { runId: string }).runId);
        const [pgAfter, commitsAfter, redisAfter] = [
          await backendCpu(monitor),
          await commits(monitor, database),
          await commandCalls(redis),
        ];
        const probed = (await toggleProbe(worker, dir, 'close')) as unknown as ProbeWindow;
        const per = (n: number) => n / customers;
        const per1000 = (seconds: number) => (seconds / customers) * 1000;
        let postgresCpu: number | null = null;
        if (pgBefore && pgAfter) {
          postgresCpu = 0;
          for (const [pid, after] of pgAfter) postgresCpu += after - (pgBefore.get(pid) ?? 0);
        }
        const redisDelta = [...redisAfter].map(([command, calls]) => ({
          command,
          calls: calls - (redisBefore.get(command) ?? 0) - (command === 'info' ? 1 : 0),
        }));
        redisDelta.sort((a, b) => b.calls - a.calls);
        const measured: WorkerCpuRun = {
          durationSec: (run.finishedAt!.getTime() - run.startedAt.getTime()) / 1000,
          loadAverage: [load, loadavg()[0]!],
          workerCpuSecPer1000: per1000((probed.userMicros + probed.systemMicros) / 1e6),
          workerUserSecPer1000: per1000(probed.userMicros / 1e6),
          workerSystemSecPer1000: per1000(probed.systemMicros / 1e6),
          postgresCpuSecPer1000: postgresCpu === null ? null : per1000(postgresCpu),
          statementsPerCustomer: per(probed.statements),
          transactionsPerCustomer: per(probed.transactions),
          statementsByText: probed.statementsByText.map(([text, n]) => ({
            text,
            perCustomer: per(n),
          })),
          socketWritesByPeer: probed.socketWritesByPeer.map(([peer, n]) => ({
            peer,
            perCustomer: per(n),
          })),
          redisCallsByCommand: probed.redisCallsByCommand.map(([command, n]) => ({
            command,
            perCustomer: per(n),
          })),
          commitsPerCustomer: per(commitsAfter - commitsBefore),
          redisCommandsPerCustomer: per(redisDelta.reduce((sum, c) => sum + c.calls, 0)),
          redisTopCommands: redisDelta
            .slice(0, 8)
            .map((c) => ({ command: c.command, perCustomer: per(c.calls) })),
        };
        return measured;
      };
      const measured: WorkerCpuRun[] = [];
      for (let i = 0; i < runs; i++) measured.push(await measureRun('measure'));
      const profiled = await measureRun('profile');
      const profileText = readFileSync(join(dir, 'window.cpuprofile'), 'utf8');
      // Kept for a closer look (Chrome DevTools, speedscope): the page shows its top only.
      writeFileSync(latestProfile, profileText);
      const profile = summariseProfile(profileText, root);
      return {
        inputs: { customers, concurrency, customLicenses, latencyMs: 0, runs },
        figures: {
          runs: measured,
          workerCpuSecPer1000: median(measured.map((r) => r.workerCpuSecPer1000)),
          profiledCpuSecPer1000: profiled.workerCpuSecPer1000,
          profile,
        },
      };
    } finally {
      await monitor.end();
      redis.disconnect();
      worker.child.kill('SIGTERM');
      await worker.exited;
      await h.close(false);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await privateRedis.stop();
  }
}
