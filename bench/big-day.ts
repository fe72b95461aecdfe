// Benchmark 7, the big day: many partners, each at its own Partner Center limit, all started
// together by the daily schedule's job. Each partner's finish against the floor its limit
// alone allows; the smallest partners against their time alone; Redis bytes per queued
// customer job, PostgreSQL growth per customer, the worker process's RSS over the day; every
// customer read once and no 429. A worker process of its own, on a redis-server of its own.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout } from 'node:timers/promises';
import { Job } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { defaultQueueTuning } from '../config/index.js';
import { paceKeptMs } from '../src/queue/partner-center-pacer.js';
import { TokenBucket } from '../emulator/throttle.js';
import { jobIds } from '../src/queue/catalog.js';
import type { Harness } from '../test/support/harness.js';
import { startHarness } from '../test/support/harness.js';
import { startService } from '../test/support/process.js';
import { startPrivateRedis } from '../test/support/redis.js';
import {
  bytesPerQueuedJob,
  floorSeconds,
  overFloor,
  ratioDistribution,
  readCounts,
  seriesSummary,
  worst,
  type QueueSample,
  type RatioDistribution,
  type ReadCounts,
  type SeriesSummary,
} from './big-day-figures.js';
import type { BenchOutcome } from './results.js';
import { benchScenario, consentBenchPartner, partnerTenant, type BenchPartner } from './stack.js';
import { median } from './stats.js';

export type BigDayInputs = {
  partners: number;
  customers: number;
  smallPartners: number;
  smallCustomers: number;
  /**
   * Partner Center requests per second, taken by the partners in turn (the small ones too):
   * each partner's emulator limit and its own pace.
   */
  limits: number[];
  /** Results recorded before partners had paces of their own: one limit for all. */
  limit?: number;
  latencyMs: number;
  concurrency: number;
  soloRuns: number;
};

interface PartnerFinish {
  partner: number;
  customers: number;
  /** Its Partner Center limit that day, requests per second (absent from older results). */
  limit?: number;
  requests: number;
  floorSec: number;
  /** From the schedule's job being queued to the run's end. */
  finishSec: number;
  /** finish / floor; null without a floor. */
  ratio: number | null;
}

export interface BigDayFigures {
  /** From the schedule's job being queued to the last run's end. */
  daySec: number;
  customersPerSec: number;
  /** Partner Center requests answered per second over the day, all partners. */
  requestsPerSec: number;
  /** 1-minute load average at the day's start and end. */
  loadAverage: [number, number];
  finish: RatioDistribution;
  worstPartners: PartnerFinish[];
  small: {
    partner: number;
    customers: number;
    soloSec: number[];
    /** The day's run, from its start to its end, as the solo runs are timed. */
    daySec: number;
    ratio: number;
    /** From the schedule's job being queued, over the floor of its own limit. */
    finishOverFloor: number | null;
  }[];
  redis: {
    baselineMiB: number;
    peakQueued: number;
    usedAtPeakMiB: number;
    bytesPerQueuedJob: number;
  } | null;
  postgres: { beforeMiB: number; afterMiB: number; bytesPerCustomer: number };
  workerRssMiB: SeriesSummary & { samples: number; intervalMs: number };
  reads: ReadCounts;
  /** 429s the emulator answered during the day, every partner, by surface. */
  throttled: Record<string, number>;
}

export interface BigDayOptions {
  /** Partners of `customers` customers each. Default: 200 */
  partners?: number;
  /** Default: 500 */
  customers?: number;
  /** More partners, the smallest, timed alone before the day. Default: 3 */
  smallPartners?: number;
  /** Default: 10 */
  smallCustomers?: number;
  /**
   * Requests per second per partner, taken in turn. Default: [3, 4] (at least 2: a customer's
   * two calls go together)
   */
  limits?: number[];
  /** Default: 50 */
  latencyMs?: number;
  /** Runs of each small partner alone. Default: 3 */
  soloRuns?: number;
}

const sampleMs = 1_000;
/** Between runs: the partner's schedule refills, so a run is not slowed by the one before. */
const pauseMs = 2_000;
/**
 * Every partner's limit and pace while it consents and runs its first refresh (SKUs looked
 * up): the warm-up is not measured, and at the day's limits it would take hours.
 */
const warmUpLimit = 20;
/** Partners consenting at once during the warm-up. */
const consentsAtOnce = 4;
/** A line on stdout of where a long benchmark stands. */
const progress = (started: number, text: string) =>
  process.stdout.write(`big-day: ${Math.round((Date.now() - started) / 1000)} s, ${text}\n`);
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

interface RunRow {
  id: string;
  partner_id: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  total: number;
  failed: number;
}

/** Polls the runs (not every job's event: at this scale the listeners would cost more). */
async function runsEnded(
  h: Harness,
  db: pg.Client,
  runIds: string[],
  limitMs: number,
  onTick?: () => Promise<void>,
): Promise<Map<string, RunRow>> {
  const deadline = Date.now() + limitMs;
  const settled = new Set<string>();
  const waitStarted = Date.now();
  let reportedAt = waitStarted;
  for (;;) {
    if (Date.now() - reportedAt >= 60_000) {
      reportedAt = Date.now();
      progress(waitStarted, `${settled.size} of ${runIds.length} runs ended`);
    }
    await onTick?.();
    const { rows } = await db.query<RunRow>(
      'select id, partner_id, status, started_at, finished_at, total, failed from refresh_runs where id = any($1)',
      [runIds],
    );
    for (const run of rows) {
      if (run.status === 'running' || settled.has(run.id)) continue;
      if (run.status !== 'completed' || run.failed > 0) {
        throw new Error(`run ${run.id} ended ${run.status} with ${run.failed} customers failed`);
      }
      // The listing job reads GDAP access beside the customers and may outlast the run.
      const listing = await Job.fromId(
        h.runtime.queues.get('partners'),
        jobIds.refreshPartner(run.id),
      );
      if (!listing || ['completed', 'failed'].includes(await listing.getState()))
        settled.add(run.id);
    }
    if (settled.size === runIds.length) return new Map(rows.map((r) => [r.id, r]));
    if (Date.now() > deadline) {
      throw new Error(
        `${runIds.length - settled.size} of ${runIds.length} runs still running after ${limitMs} ms`,
      );
    }
    await setTimeout(sampleMs);
  }
}

async function databaseSize(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'select pg_database_size(current_database())::text as n',
  );
  return Number(rows[0]!.n);
}

export async function bigDayBench(
  options: BigDayOptions = {},
): Promise<BenchOutcome<BigDayFigures, BigDayInputs>> {
  const { partners = 200, customers = 500, smallPartners = 3, smallCustomers = 10 } = options;
  const { limits = [3, 4], latencyMs = 50, soloRuns = 3 } = options;
  const concurrency = defaultQueueTuning.refreshConcurrency;
  const all: BenchPartner[] = [
    ...Array.from({ length: partners }, (_, i) => ({
      name: `Partner ${i + 1}`,
      customers,
      limit: limits[i % limits.length]!,
    })),
    ...Array.from({ length: smallPartners }, (_, i) => ({
      name: `Small partner ${i + 1}`,
      customers: smallCustomers,
      limit: limits[(partners + i) % limits.length]!,
    })),
  ];
  const privateRedis = await startPrivateRedis();
  try {
    const h = await startHarness(
      benchScenario(
        all.map((p) => ({ ...p, limit: warmUpLimit })),
        latencyMs,
      ),
      { REDIS_URL: privateRedis.url, PARTNER_CENTER_REQUESTS_PER_SECOND: String(warmUpLimit) },
      { workers: false, logLevel: 'warn' },
    );
    const worker = startService('workers/main.ts', { ...h.env, LOG_LEVEL: 'info' });
    const redis = new Redis(privateRedis.url);
    const db = new pg.Client({ connectionString: h.env.DATABASE_URL });
    await db.connect();
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    const dropWorkerLines = () => {
      worker.lines.length = 0; // its info lines would pile up in this process
      return Promise.resolve();
    };
    const started = Date.now();
    try {
      await worker.waitForLog((l) => l.msg === 'workers started');
      // Every partner's consent starts its first run (its SKUs looked up); they run side by
      // side while the next partners are set up, and are the day's warm-up.
      const partnerIds: string[] = [];
      const firstRuns: string[] = [];
      let next = 0;
      const consentNext = async (): Promise<void> => {
        for (let i = next++; i < all.length; i = next++) {
          const { partnerId, runId } = await consentBenchPartner(h, i, false);
          partnerIds[i] = partnerId;
          firstRuns[i] = runId;
          await dropWorkerLines();
        }
      };
      await Promise.all(Array.from({ length: consentsAtOnce }, consentNext));
      progress(started, `${all.length} partners consented`);
      const customersInAll = all.reduce((sum, p) => sum + p.customers, 0);
      // CPU bound rather than paced: a generous 20 ms per customer.
      await runsEnded(h, db, firstRuns, customersInAll * 20 + 300_000, dropWorkerLines);
      progress(started, `${customersInAll} customers refreshed a first time`);
      // Each partner at its own limit from now on: Microsoft's, and its pace in the service,
      // which workers read again within paceKeptMs.
      for (const [i, p] of all.entries()) {
        h.emulator.state.setPartnerCenterLimit(partnerTenant(i), p.limit);
        const set = await h.api('patch', `/partners/${partnerIds[i]!}`, {
          partnerCenterRequestsPerSecond: p.limit,
        });
        if (set.status !== 200) throw new Error(`pace answered ${set.status}: ${set.text}`);
      }
      await setTimeout(paceKeptMs + 1_000);

      // The smallest partners alone, with nothing else running.
      const solo = new Map<number, number[]>();
      for (let i = partners; i < all.length; i++) {
        const times: number[] = [];
        for (let r = 0; r < soloRuns; r++) {
          await setTimeout(pauseMs);
          const res = await h.api('post', `/partners/${partnerIds[i]!}/refresh`);
          if (res.status !== 202) throw new Error(`sync now answered ${res.status}: ${res.text}`);
          const runId = (res.body as { runId: string }).runId;
          const run = (await runsEnded(h, db, [runId], 600_000)).get(runId)!;
          times.push((run.finished_at!.getTime() - run.started_at.getTime()) / 1000);
        }
        solo.set(i, times);
      }

      // The day.
      progress(started, 'the smallest partners ran alone; the day starts');
      await setTimeout(pauseMs);
      const expected = new Map<string, number>(); // customer tenant → partner index
      all.forEach((_, i) => {
        for (const c of h.emulator.state.directory.partner(partnerTenant(i))!.customers) {
          expected.set(c.tenantId, i);
        }
      });
      const partnerOfTenant = new Map(all.map((_, i) => [partnerTenant(i), i]));
      const log = h.emulator.state.log;
      let seen = log.at(-1)?.id ?? 0;
      const reads = new Map<string, number>();
      const requests = new Array<number>(all.length).fill(0);
      const throttled: Record<string, number> = {};
      let answered = 0;
      // The emulator keeps its last 200,000 requests: read them as they come, past `seen`.
      const consumeLog = () => {
        const from = log.findIndex((e) => e.id > seen);
        if (from < 0) return;
        if (log[from]!.id !== seen + 1) throw new Error('emulator log entries dropped unread');
        for (const e of log.slice(from)) {
          seen = e.id;
          if (e.status === 429) throttled[e.surface] = (throttled[e.surface] ?? 0) + 1;
          if (e.surface !== 'partnerCenter' || e.status === 429) continue;
          answered += 1;
          const p = partnerOfTenant.get(e.partnerTenantId ?? '');
          if (p !== undefined) requests[p]! += 1;
          const m = /^\/v1\/customers\/([^/]+)\/subscriptions$/.exec(e.path);
          if (m && e.status === 200) reads.set(m[1]!, (reads.get(m[1]!) ?? 0) + 1);
        }
      };
      const redisBaseline = await usedMemory();
      const dbBefore = await databaseSize(db);
      const samples: QueueSample[] = [];
      const rss: number[] = [];
      const refreshQueue = h.runtime.queues.get('refresh');
      const loadStart = loadavg()[0]!;
      const dayStart = Date.now();
      await h.runtime.queues.enqueue('refreshAllPartners', {});
      const sample = async () => {
        const counts = await refreshQueue.getJobCounts('wait', 'prioritized', 'delayed', 'active');
        samples.push({
          atMs: Date.now() - dayStart,
          queued: Object.values(counts).reduce((a, b) => a + b, 0),
          usedMemory: await usedMemory(),
        });
        rss.push(rssOf(worker.child.pid!));
        consumeLog();
        await dropWorkerLines();
      };
      // The schedule's job starts one run per partner; then each run is followed to its end.
      let dayRuns: string[] = [];
      const startLimit = Date.now() + 120_000;
      while (dayRuns.length < all.length) {
        if (Date.now() > startLimit)
          throw new Error(`${dayRuns.length} of ${all.length} runs started`);
        await sample();
        const { rows } = await db.query<{ id: string }>(
          "select id from refresh_runs where trigger = 'schedule' and partner_id = any($1)",
          [partnerIds],
        );
        dayRuns = rows.map((r) => r.id);
        if (dayRuns.length < all.length) await setTimeout(sampleMs);
      }
      const slowestFloor = Math.max(...all.map((p) => (p.customers * 2) / p.limit)) * 1000;
      const ended = await runsEnded(h, db, dayRuns, 5 * slowestFloor + 300_000, sample);
      await sample();
      const loadEnd = loadavg()[0]!;
      const dbAfter = await databaseSize(db);

      const runOf = new Map([...ended.values()].map((r) => [r.partner_id, r]));
      const finishes: PartnerFinish[] = all.map((p, i) => {
        const run = runOf.get(partnerIds[i]!)!;
        const floorSec = floorSeconds(
          requests[i]!,
          TokenBucket.perSecond(p.limit).capacity,
          p.limit,
        );
        const finishSec = (run.finished_at!.getTime() - dayStart) / 1000;
        return {
          partner: i + 1,
          customers: p.customers,
          limit: p.limit,
          requests: requests[i]!,
          floorSec,
          finishSec,
          ratio: overFloor(finishSec, floorSec),
        };
      });
      const daySec = Math.max(...finishes.map((f) => f.finishSec));
      const totalCustomers = all.reduce((sum, p) => sum + p.customers, 0);
      const queuePeak = bytesPerQueuedJob(samples, redisBaseline);
      // Each sample also waits for its reads: the mean spacing, not the nominal one.
      const intervalMs = Math.round(
        (samples.at(-1)!.atMs - samples[0]!.atMs) / Math.max(1, samples.length - 1),
      );
      return {
        inputs: {
          partners,
          customers,
          smallPartners,
          smallCustomers,
          limits,
          latencyMs,
          concurrency,
          soloRuns,
        },
        figures: {
          daySec,
          customersPerSec: totalCustomers / daySec,
          requestsPerSec: answered / daySec,
          loadAverage: [loadStart, loadEnd],
          finish: ratioDistribution(
            finishes.map((f) => f.ratio),
            1.05,
          ),
          worstPartners: worst(finishes, 5),
          small: [...solo].map(([i, soloSec]) => {
            const run = runOf.get(partnerIds[i]!)!;
            const runSec = (run.finished_at!.getTime() - run.started_at.getTime()) / 1000;
            return {
              partner: i + 1,
              customers: all[i]!.customers,
              soloSec,
              daySec: runSec,
              ratio: runSec / median(soloSec),
              finishOverFloor: finishes[i]!.ratio,
            };
          }),
          redis: queuePeak && {
            baselineMiB: mib(redisBaseline),
            peakQueued: queuePeak.peakQueued,
            usedAtPeakMiB: mib(queuePeak.usedAtPeak),
            bytesPerQueuedJob: Math.round(queuePeak.bytesPerJob),
          },
          postgres: {
            beforeMiB: mib(dbBefore),
            afterMiB: mib(dbAfter),
            bytesPerCustomer: Math.round((dbAfter - dbBefore) / totalCustomers),
          },
          workerRssMiB: {
            ...seriesSummary(rss.map(mib), intervalMs),
            samples: rss.length,
            intervalMs,
          },
          reads: readCounts(expected.keys(), reads),
          throttled,
        },
      };
    } finally {
      await db.end();
      redis.disconnect();
      worker.child.kill('SIGTERM');
      await worker.exited;
      await h.close(false);
    }
  } finally {
    await privateRedis.stop();
  }
}
