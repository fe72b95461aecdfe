// Benchmark 4, worker overhead: customers refreshed per second with no latency and no limit,
// against raw BullMQ no-op jobs per second on the same Redis, concurrency and process.
import { Queue, QueueEvents, Worker } from 'bullmq';
import { defaultQueueTuning } from '../config/index.js';
import { freshPrefix, removePrefix, testRedisUrl } from '../test/support/redis.js';
import type { BenchOutcome } from './results.js';
import { benchScenario, startBenchStack } from './stack.js';

export type WorkerOverheadInputs = {
  customers: number;
  concurrency: number;
  customLicenses: boolean;
  latencyMs: number;
  runs: number;
};

export interface WorkerOverheadFigures {
  durationSec: number;
  customersPerSec: number;
  noopJobsPerSec: number;
  ratio: number;
}

async function noopJobsPerSecond(jobs: number, concurrency: number): Promise<number> {
  const prefix = freshPrefix();
  const connection = { url: testRedisUrl };
  const queue = new Queue('noop', { connection, prefix });
  const events = new QueueEvents('noop', { connection, prefix });
  await events.waitUntilReady();
  await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'noop', data: { i } })));
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    events.on('completed', () => {
      done += 1;
      if (done === jobs) resolve();
    });
  });
  const started = Date.now();
  const worker = new Worker('noop', () => Promise.resolve(), { connection, prefix, concurrency });
  await finished;
  const seconds = (Date.now() - started) / 1000;
  await worker.close();
  await events.close();
  await queue.close();
  await removePrefix(prefix);
  return jobs / seconds;
}

/** Our paces, as high as the service allows: this benchmark measures work, not limits. */
export const paces = {
  PARTNER_CENTER_REQUESTS_PER_SECOND: '1000',
  GRAPH_REQUESTS_PER_SECOND: '1000',
};

export async function workerOverheadBench(
  options: { customers?: number; customLicenses?: boolean } = {},
): Promise<BenchOutcome<WorkerOverheadFigures, WorkerOverheadInputs>> {
  const { customers = 2000, customLicenses = true } = options;
  const concurrency = defaultQueueTuning.refreshConcurrency;
  const stack = await startBenchStack(
    benchScenario([{ name: 'Partner 1', customers, limit: 100_000 }], 0),
    paces,
    customLicenses,
  );
  let durationSec: number;
  try {
    const { partnerId, runId } = await stack.consent(0);
    await stack.ended(runId);
    // The consent's run warmed everything up; measure a second one.
    const run = await stack.ended(await stack.syncNow(partnerId));
    durationSec = run.durationMs / 1000;
  } finally {
    await stack.close();
  }
  const noopJobsPerSec = await noopJobsPerSecond(customers, concurrency);
  const customersPerSec = customers / durationSec;
  return {
    inputs: { customers, concurrency, customLicenses, latencyMs: 0, runs: 1 },
    figures: {
      durationSec,
      customersPerSec,
      noopJobsPerSec,
      ratio: customersPerSec / noopJobsPerSec,
    },
  };
}
