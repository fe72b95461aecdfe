// Benchmark 6 with --workers: the same steady-state run served by 1, 2, 3… worker processes.
// Adding a worker process must add throughput until CPU runs out; what would stop it is a row
// every customer job locks, which shows as PostgreSQL lock waits among the workers' backends.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import pg from 'pg';
import { defaultQueueTuning } from '../config/index.js';
import { startHarness } from '../test/support/harness.js';
import { startService, type ServiceProcess } from '../test/support/process.js';
import { startPrivateRedis } from '../test/support/redis.js';
import type { BenchOutcome } from './results.js';
import { benchScenario, completedWithoutFailures, consentBenchPartner } from './stack.js';
import { median } from './stats.js';
import {
  applicationName,
  backendCpu,
  endedQuietly,
  probe,
  toggleProbe,
  type ProbeWindow,
} from './worker-cpu.js';
import { paces } from './worker-overhead.js';

export type WorkerScalingInputs = {
  customers: number;
  concurrency: number;
  customLicenses: boolean;
  latencyMs: number;
  runs: number;
  /** Worker process counts measured, in order. */
  workers: number[];
};

/** PostgreSQL lock waits among the workers' backends, sampled through one run. */
interface LockWaits {
  samples: number;
  /** Every `sampleEveryMs`, one read of pg_stat_activity. */
  sampleEveryMs: number;
  /** Samples in which at least one of the workers' backends waited on a lock. */
  samplesWithWaitShare: number;
  /** Backends waiting on a lock over backends seen, summed over the samples. */
  backendsWaitingShare: number;
  /** The most backends waiting on a lock in one sample. */
  maxWaiting: number;
  /** The most backends the workers held in one sample. */
  maxBackends: number;
}

/** One measured run with `workers` worker processes. */
interface WorkerScalingRun {
  durationSec: number;
  customersPerSec: number;
  /** 1-minute load average as the run started and as it ended. */
  loadAverage: [number, number];
  /** Summed over the worker processes. */
  workerCpuSecPer1000: number;
  /** CPU of the PostgreSQL backends serving the workers; null when unreadable. */
  postgresCpuSecPer1000: number | null;
  lockWaits: LockWaits;
}

export interface WorkerScalingFigures {
  byWorkers: {
    workers: number;
    runs: WorkerScalingRun[];
    /** Medians over the runs. */
    customersPerSec: number;
    workerCpuSecPer1000: number;
  }[];
}

const sampleEveryMs = 100;

/** Samples the workers' backends until `stop` resolves. */
async function sampleLockWaits(monitor: pg.Client, stop: Promise<unknown>): Promise<LockWaits> {
  let done = false;
  const end = () => {
    done = true;
  };
  stop.then(end, end);
  let samples = 0;
  let withWait = 0;
  let waiting = 0;
  let seen = 0;
  let maxWaiting = 0;
  let maxBackends = 0;
  while (!done) {
    const { rows } = await monitor.query<{ waiting: number; backends: number }>(
      `select count(*) filter (where wait_event_type = 'Lock')::int as waiting,
              count(*)::int as backends
         from pg_stat_activity where application_name = $1`,
      [applicationName],
    );
    const row = rows[0]!;
    samples += 1;
    if (row.waiting > 0) withWait += 1;
    waiting += row.waiting;
    seen += row.backends;
    maxWaiting = Math.max(maxWaiting, row.waiting);
    maxBackends = Math.max(maxBackends, row.backends);
    await setTimeout(sampleEveryMs);
  }
  return {
    samples,
    sampleEveryMs,
    samplesWithWaitShare: samples === 0 ? 0 : withWait / samples,
    backendsWaitingShare: seen === 0 ? 0 : waiting / seen,
    maxWaiting,
    maxBackends,
  };
}

/** One worker count: a stack of its own, warmed up, then `runs` measured sync-now runs. */
async function measureWith(
  workerCount: number,
  options: { customers: number; runs: number; customLicenses: boolean; redisUrl: string },
): Promise<WorkerScalingRun[]> {
  const { customers, runs, customLicenses, redisUrl } = options;
  const h = await startHarness(
    benchScenario([{ name: 'Partner 1', customers, limit: 100_000 }], 0),
    { REDIS_URL: redisUrl, ...paces },
    { workers: false, logLevel: 'warn' },
  );
  const dirs: string[] = [];
  const workers: ServiceProcess[] = [];
  const databaseUrl = new URL(h.env.DATABASE_URL!);
  databaseUrl.pathname = '/postgres';
  const monitor = new pg.Client({ connectionString: databaseUrl.href });
  try {
    for (let i = 0; i < workerCount; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'worker-scaling-'));
      dirs.push(dir);
      workers.push(
        startService(
          'workers/main.ts',
          { ...h.env, LOG_LEVEL: 'info', PGAPPNAME: applicationName, BENCH_PROBE_DIR: dir },
          [],
          ['--import', probe],
        ),
      );
    }
    await monitor.connect();
    await Promise.all(workers.map((w) => w.waitForLog((l) => l.msg === 'workers started')));
    const { partnerId, runId } = await consentBenchPartner(h, 0, customLicenses);
    // As for one worker: the consent's run and one more warm every process up.
    await completedWithoutFailures(h, runId);
    const warm = await h.api('post', `/partners/${partnerId}/refresh`);
    await endedQuietly(h, (warm.body as { runId: string }).runId);
    const measured: WorkerScalingRun[] = [];
    for (let n = 0; n < runs; n++) {
      const load = loadavg()[0]!;
      for (const [i, w] of workers.entries()) await toggleProbe(w, dirs[i]!, 'measure');
      const pgBefore = await backendCpu(monitor);
      const res = await h.api('post', `/partners/${partnerId}/refresh`);
      if (res.status !== 202) throw new Error(`sync now answered ${res.status}: ${res.text}`);
      const ended = endedQuietly(h, (res.body as { runId: string }).runId);
      const [lockWaits, run] = await Promise.all([sampleLockWaits(monitor, ended), ended]);
      const pgAfter = await backendCpu(monitor);
      let workerMicros = 0;
      for (const [i, w] of workers.entries()) {
        const window = (await toggleProbe(w, dirs[i]!, 'close')) as unknown as ProbeWindow;
        workerMicros += window.userMicros + window.systemMicros;
      }
      let postgresCpu: number | null = null;
      if (pgBefore && pgAfter) {
        postgresCpu = 0;
        for (const [pid, after] of pgAfter) postgresCpu += after - (pgBefore.get(pid) ?? 0);
      }
      const durationSec = (run.finishedAt!.getTime() - run.startedAt.getTime()) / 1000;
      const per1000 = (seconds: number) => (seconds / customers) * 1000;
      measured.push({
        durationSec,
        customersPerSec: customers / durationSec,
        loadAverage: [load, loadavg()[0]!],
        workerCpuSecPer1000: per1000(workerMicros / 1e6),
        postgresCpuSecPer1000: postgresCpu === null ? null : per1000(postgresCpu),
        lockWaits,
      });
    }
    return measured;
  } finally {
    await monitor.end().catch(() => {});
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    await h.close(false);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

export async function workerScalingBench(options: {
  workers: number[];
  customers?: number;
  runs?: number;
  customLicenses?: boolean;
}): Promise<BenchOutcome<WorkerScalingFigures, WorkerScalingInputs>> {
  const { workers, customers = 5000, runs = 1, customLicenses = false } = options;
  // A Redis of its own, as for one worker; each worker count gets its own database and prefix.
  const privateRedis = await startPrivateRedis();
  try {
    const byWorkers: WorkerScalingFigures['byWorkers'] = [];
    for (const count of workers) {
      const measured = await measureWith(count, {
        customers,
        runs,
        customLicenses,
        redisUrl: privateRedis.url,
      });
      byWorkers.push({
        workers: count,
        runs: measured,
        customersPerSec: median(measured.map((m) => m.customersPerSec)),
        workerCpuSecPer1000: median(measured.map((m) => m.workerCpuSecPer1000)),
      });
    }
    return {
      inputs: {
        customers,
        concurrency: defaultQueueTuning.refreshConcurrency,
        customLicenses,
        latencyMs: 0,
        runs,
        workers,
      },
      figures: { byWorkers },
    };
  } finally {
    await privateRedis.stop();
  }
}
