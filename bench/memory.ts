// Benchmark 5, memory: a worker process's RSS and Redis' used_memory across many customer
// jobs (runs of one big partner, back to back), on a redis-server of the benchmark's own so
// nothing else's keys count. A steady upward trend over the runs is what leaks.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { defaultQueueTuning } from '../config/index.js';
import { startService } from '../test/support/process.js';
import { startPrivateRedis } from '../test/support/redis.js';
import { startHarness } from '../test/support/harness.js';
import type { BenchOutcome } from './results.js';
import { benchScenario, completedWithoutFailures, consentBenchPartner } from './stack.js';
import { trendPerStep } from './stats.js';

export type MemoryInputs = {
  customers: number;
  runs: number;
  concurrency: number;
  customLicenses: boolean;
  latencyMs: number;
};

export interface MemoryFigures {
  jobs: number;
  /** After each run, MiB. */
  workerRssMiB: number[];
  redisUsedMiB: number[];
  /** Least-squares slope over the runs, MiB per run. */
  workerRssTrendMiBPerRun: number;
  redisTrendMiBPerRun: number;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

export async function memoryBench(
  options: { customers?: number; runs?: number; customLicenses?: boolean } = {},
): Promise<BenchOutcome<MemoryFigures, MemoryInputs>> {
  const { customers = 10_000, runs = 5, customLicenses = true } = options;
  const concurrency = defaultQueueTuning.refreshConcurrency;
  const privateRedis = await startPrivateRedis();
  try {
    const h = await startHarness(
      benchScenario([{ name: 'Partner 1', customers, limit: 100_000 }], 0),
      {
        REDIS_URL: privateRedis.url,
        PARTNER_CENTER_REQUESTS_PER_SECOND: '1000',
        GRAPH_REQUESTS_PER_SECOND: '1000',
      },
      { workers: false, logLevel: 'warn' },
    );
    const worker = startService('workers/main.ts', { ...h.env, LOG_LEVEL: 'info' });
    const redis = new Redis(privateRedis.url);
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    try {
      await worker.waitForLog((l) => l.msg === 'workers started');
      const { partnerId, runId } = await consentBenchPartner(h, 0, customLicenses);
      // The consent's run is the warm-up: its SKUs resolved, caches filled.
      await completedWithoutFailures(h, runId);
      const rss: number[] = [];
      const used: number[] = [];
      for (let i = 0; i < runs; i++) {
        const res = await h.api('post', `/partners/${partnerId}/refresh`);
        await completedWithoutFailures(h, (res.body as { runId: string }).runId);
        rss.push(rssOf(worker.child.pid!));
        used.push(await usedMemory());
      }
      const workerRssMiB = rss.map(mib);
      const redisUsedMiB = used.map(mib);
      return {
        inputs: { customers, runs, concurrency, customLicenses, latencyMs: 0 },
        figures: {
          jobs: customers * runs,
          workerRssMiB,
          redisUsedMiB,
          workerRssTrendMiBPerRun: trendPerStep(rss) / 2 ** 20,
          redisTrendMiBPerRun: trendPerStep(used) / 2 ** 20,
        },
      };
    } finally {
      redis.disconnect();
      worker.child.kill('SIGTERM');
      await worker.exited;
      await h.close(false);
    }
  } finally {
    await privateRedis.stop();
  }
}
