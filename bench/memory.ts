// Benchmark 5, memory: a worker process's RSS and Redis' used_memory across many customer
// jobs (runs of one big partner, back to back). Growth after the first run is what leaks.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startService } from '../test/support/process.js';
import { testRedisUrl } from '../test/support/redis.js';
import { startHarness } from '../test/support/harness.js';
import { benchScenario, partnerTenant } from './stack.js';

export interface MemoryResult {
  customersPerRun: number;
  runs: number;
  jobs: number;
  /** After each run, MiB. */
  workerRssMiB: number[];
  redisUsedMiB: number[];
  rssGrowthPercent: number;
  redisGrowthPercent: number;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

export async function memoryBench(
  options: { customers?: number; runs?: number } = {},
): Promise<MemoryResult & { chart?: undefined }> {
  const { customers = 10_000, runs = 5 } = options;
  const h = await startHarness(
    benchScenario([{ name: 'Partner 1', customers, limit: 100_000 }], 0),
    { PARTNER_CENTER_REQUESTS_PER_SECOND: '1000' },
    { workers: false, logLevel: 'warn' },
  );
  const worker = startService('workers/main.ts', { ...h.env, LOG_LEVEL: 'info' });
  const redis = new Redis(testRedisUrl);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  try {
    await worker.waitForLog((l) => l.msg === 'workers started');
    const partner = await h.runtime.services.partners.create('Memory Partner', 'bench');
    for (const c of h.emulator.state.directory.partner(partnerTenant(0))!.customers) {
      await h.runtime.services.partners.addCompany(
        partner.id,
        { name: c.name, customerTenantId: c.tenantId },
        'bench',
      );
    }
    await h.grant(partner.id, 'admin@partner1.example');
    await h.runEnded((await h.runtime.services.runs.latest(partner.id))!.id);
    const rss: number[] = [];
    const used: number[] = [];
    for (let i = 0; i < runs; i++) {
      const res = await h.api('post', `/partners/${partner.id}/refresh`);
      await h.runEnded((res.body as { runId: string }).runId);
      rss.push(rssOf(worker.child.pid!));
      used.push(await usedMemory());
    }
    return {
      customersPerRun: customers,
      runs,
      jobs: customers * runs,
      workerRssMiB: rss.map(mib),
      redisUsedMiB: used.map(mib),
      rssGrowthPercent: ((rss.at(-1)! - rss[0]!) / rss[0]!) * 100,
      redisGrowthPercent: ((used.at(-1)! - used[0]!) / used[0]!) * 100,
    };
  } finally {
    redis.disconnect();
    worker.child.kill('SIGTERM');
    await worker.exited;
    await h.close(false);
  }
}
