// docs/BENCHMARKS.md, written from docs/benchmarks/results.json alone: per benchmark, the
// latest run of each input set, each figure beside the commit and date it comes from.
import type { BigDayFigures, BigDayInputs } from './big-day.js';
import type { CallbackFigures, CallbackInputs } from './callback.js';
import type { FairnessFigures, FairnessInputs } from './fairness.js';
import type { MemoryFigures, MemoryInputs } from './memory.js';
import type { PacingFigures, PacingInputs } from './pacing.js';
import { latestPerInputSet, type BenchName, type BenchRun } from './results.js';
import { median, type Spread } from './stats.js';
import { bytesPerCustomerPerYear, type StorageFigures, type StorageInputs } from './storage.js';
import type { WorkerCpuFigures, WorkerCpuInputs } from './worker-cpu.js';
import type { WorkerScalingFigures, WorkerScalingInputs } from './worker-scaling.js';
import type { WorkerOverheadFigures, WorkerOverheadInputs } from './worker-overhead.js';

const fixed = (n: number, digits = 2) => n.toFixed(digits);
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
const onOff = (on: unknown) => (on === false ? 'off' : on === true ? 'on' : 'not recorded');
/** Custom licenses on or off, with our Graph pace when they are on. */
const customLicenses = (i: { customLicenses: boolean; graphRps: number }) =>
  i.customLicenses === true ? `on (Graph ${i.graphRps}/s)` : onOff(i.customLicenses);
const date = (run: BenchRun) => `${run.machine.date.slice(0, 16).replace('T', ' ')} UTC`;

/** The commit a run measured, short, and whether its code had changes beyond it. */
function commitOf(run: BenchRun): string {
  if (!run.commit) return 'commit unknown';
  return `\`${run.commit.slice(0, 10)}\`${run.dirty ? ' + uncommitted changes' : run.dirty === null ? ' (tree state unknown)' : ''}`;
}
const runOf = (run: BenchRun) => `${commitOf(run)}, ${date(run)}`;

/** Median with its spread: "1.02 (IQR 0.98–1.10, min–max 0.95–1.31)". */
function middle(s: Spread, digits = 2): string {
  return `${fixed(s.median, digits)} (IQR ${fixed(s.q1, digits)}–${fixed(s.q3, digits)}, min–max ${fixed(s.min, digits)}–${fixed(s.max, digits)})`;
}

function runsShown(runs: BenchRun[]): string[] {
  return [
    'Runs shown:',
    '',
    ...runs.map(
      (r) =>
        `- ${runOf(r)}: \`${r.command}\`; ${r.machine.cpus}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, load average ${fixed(r.machine.loadAverage ?? NaN, 1)} at the start.`,
    ),
    '',
  ];
}

function charts(runs: BenchRun[], alt: string): string[] {
  return runs.flatMap((r) =>
    r.chart ? [`![${alt}](benchmarks/${r.chart})`, '', `Chart of the run ${runOf(r)}.`, ''] : [],
  );
}

const notRun = (name: BenchName) => [`Not run yet: \`npm run bench -- ${name}\`.`, ''];

function pacingSection(all: BenchRun[]): string[] {
  const runs = latestPerInputSet<PacingFigures, PacingInputs>(all, 'pacing');
  const out = ['## 1. Pacing efficiency', ''];
  out.push(
    'One partner refreshes every customer; the emulator limits its Partner Center requests and our',
    'pace is set to the same limit. Partner Center floor = (requests answered − burst) / limit:',
    "the emulator lets a second's worth of requests (the burst) through at once before its limit",
    "applies. The run is the partner's first: its requests include one provisioning-status call",
    'per subscription whose SKU was not yet known. With custom licenses on, each customer is also',
    'counted through Graph (licensed users, and a fixed item) with the custom-license token, and',
    "the run reads the partner's GDAP relationships, all at our Graph pace per partner: Graph",
    'floor = Graph requests / that pace. The floor is the larger of the two: no pacer keeping',
    'both paces can finish sooner. Runs stored before the Graph floor existed show the Partner',
    'Center floor alone.',
    '',
  );
  if (runs.length === 0) return [...out, ...notRun('pacing')];
  out.push(
    '| Run | Customers | Limit, burst | Latency | Concurrency | Custom licenses | Requests (provisioning) | Graph requests | Duration / floor (Partner Center, Graph) | Completion / floor (goal ≤ 1.15) | Answered 429 (goal ≤ 1 %) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map((r) => {
      const i = r.inputs;
      const f = r.figures;
      return `| ${runOf(r)} | ${i.customers} | ${i.limit}/s, ${f.burst} | ${i.latencyMs} ms | ${i.concurrency} | ${customLicenses(i)} | ${f.requests} (${f.provisioningRequests}) | ${f.graphRequests} | ${fixed(f.durationSec, 1)} s / ${fixed(f.floorSec, 1)} s (${f.partnerCenterFloorSec === undefined ? '–' : fixed(f.partnerCenterFloorSec, 1)}, ${f.graphFloorSec === undefined ? '–' : fixed(f.graphFloorSec, 1)}) | ${fixed(f.ratio)}: ${verdict(f.ratio <= 1.15)} | ${fixed(f.throttledShare * 100)} % (${f.throttled}): ${verdict(f.throttledShare <= 0.01)} |`;
    }),
    '',
    ...charts(runs, 'Partner Center requests per second during the run'),
    ...runsShown(runs),
  );
  return out;
}

function fairnessSection(all: BenchRun[]): string[] {
  const runs = latestPerInputSet<FairnessFigures, FairnessInputs>(all, 'fairness');
  const out = ['## 2. Fairness', ''];
  out.push(
    'A big partner and small ones, each with its own emulator limit. Each small partner refreshes',
    "alone several times, then again and again (a second apart) while the big partner's first",
    'run goes on. Ratio = median time beside the big partner / median time alone; the verdict',
    'judges that median ratio (goal ≤ 1.5), and the worst run beside the big one is stated',
    'with it.',
    '',
  );
  if (runs.length === 0) return [...out, ...notRun('fairness')];
  for (const r of runs) {
    const i = r.inputs;
    const f = r.figures;
    out.push(
      `### Sizes ${i.sizes.join(', ')}: ${runOf(r)}`,
      '',
      `Limit ${i.limit}/s each, latency ${i.latencyMs} ms, concurrency ${i.concurrency}, custom licenses ${customLicenses(i)}, ${i.aloneRuns} runs alone per small partner; the big partner's run took ${fixed(f.bigDurationSec, 1)} s.`,
      '',
      '| Small partner | Alone (median, min–max, runs) | Beside the big one (median, IQR, max, runs) | Ratio (median) | Verdict (≤ 1.5) | Worst |',
      '|---|---|---|---|---|---|',
      ...f.small.map((s) => {
        const alone = [...s.aloneSec].sort((a, b) => a - b);
        const t = s.together;
        return `| ${s.customers} customers | ${fixed(median(alone))} s, ${fixed(alone[0]!)}–${fixed(alone.at(-1)!)} s, ${alone.length} | ${fixed(t.median)} s, ${fixed(t.q1)}–${fixed(t.q3)} s, ${fixed(t.max)} s, ${t.samples} | ${fixed(s.ratio)} | ${verdict(s.ratio <= 1.5)} | ${fixed(s.worstRatio)} |`;
      }),
      '',
      ...charts([r], 'Partner Center requests per second per partner'),
    );
  }
  out.push(...runsShown(runs));
  return out;
}

function callbackSection(all: BenchRun[]): string[] {
  const runs = latestPerInputSet<CallbackFigures, CallbackInputs>(all, 'callback');
  const out = ['## 3. Callback path', ''];
  out.push(
    'autocannon at a fixed request rate, every request a first callback with a valid fresh state',
    '(it records the code and enqueues the exchange). Floor: a bare Express route doing one',
    'PostgreSQL UPDATE and one Queue.add, at the same rate. Both servers run as processes of',
    'their own and autocannon in a third. Floor and service runs alternate (floor, service,',
    'floor, service…), so a noisy moment of the machine falls on both sides; the ratio is',
    "taken within each pair and summarised over the pairs. The callback skips the pages' session.",
    '',
  );
  if (runs.length === 0) return [...out, ...notRun('callback')];
  for (const r of runs) {
    const i = r.inputs;
    const f = r.figures;
    out.push(
      `### ${i.pairs} pairs of ${i.requestsPerRun} requests at ${i.rate}/s, ${i.connections} connections: ${runOf(r)}`,
      '',
      `p99 / floor p99, median over the pairs: **${fixed(f.p99Ratio.median)}** (IQR ${fixed(f.p99Ratio.q1)}–${fixed(f.p99Ratio.q3)}, min–max ${fixed(f.p99Ratio.min)}–${fixed(f.p99Ratio.max)}); goal ≤ 1.5: ${verdict(f.p99Ratio.median <= 1.5)}. Answers other than 3xx, and errors: ${f.non2xx3xx}.`,
      '',
      '| | p50 ms, median (IQR, min–max) | p99 ms, median (IQR, min–max) |',
      '|---|---|---|',
      `| \`/auth/callback\` | ${middle(f.serviceP50Ms, 0)} | ${middle(f.serviceP99Ms, 0)} |`,
      `| Floor | ${middle(f.floorP50Ms, 0)} | ${middle(f.floorP99Ms, 0)} |`,
      '',
      '| Pair | Floor p50 / p99 | Service p50 / p99 | Requests/s floor, service | p99 ratio |',
      '|---|---|---|---|---|',
      ...f.pairs.map(
        (p, n) =>
          `| ${n + 1} | ${p.floor.p50Ms} / ${p.floor.p99Ms} ms | ${p.service.p50Ms} / ${p.service.p99Ms} ms | ${fixed(p.floor.requestsPerSec, 0)}, ${fixed(p.service.requestsPerSec, 0)} | ${fixed(p.p99Ratio)} |`,
      ),
      '',
    );
  }
  out.push(...runsShown(runs));
  return out;
}

function workersSection(all: BenchRun[]): string[] {
  const runs = latestPerInputSet<WorkerOverheadFigures, WorkerOverheadInputs>(all, 'workers');
  const out = ['## 4. Worker overhead', ''];
  out.push(
    'One partner with no emulator latency and no limit (our paces at their highest), against raw',
    "BullMQ no-op jobs on the same Redis and concurrency. The measured run is the partner's",
    "second, as a daily run is: its subscriptions' SKUs are known, so a customer job is two",
    'Partner Center calls over HTTPS, with custom licenses on a Graph count too, a handful of',
    'PostgreSQL statements and a transaction, against the emulator in the same process: the',
    'ratio is the price of that work, not of the queue.',
    '',
  );
  if (runs.length === 0) return [...out, ...notRun('workers')];
  out.push(
    '| Run | Customers | Concurrency | Custom licenses | Customers refreshed / s | No-op jobs / s | Ratio |',
    '|---|---|---|---|---|---|---|',
    ...runs.map(
      (r) =>
        `| ${runOf(r)} | ${r.inputs.customers} | ${r.inputs.concurrency} | ${onOff(r.inputs.customLicenses)} | ${fixed(r.figures.customersPerSec, 0)} | ${fixed(r.figures.noopJobsPerSec, 0)} | ${fixed(r.figures.ratio, 3)} |`,
    ),
    '',
    ...runsShown(runs),
  );
  return out;
}

function memorySection(all: BenchRun[]): string[] {
  const runs = latestPerInputSet<MemoryFigures, MemoryInputs>(all, 'memory');
  const out = ['## 5. Memory', ''];
  out.push(
    'A worker process of its own refreshes one partner again and again after a warm-up run, on a',
    "redis-server of the benchmark's own (so no other keys count). Figures after each run, and",
    'their trend: the least-squares slope over the runs, in MiB per run. Completed jobs are kept',
    'one day, at most 1,000 per queue, so Redis should stay flat.',
    '',
  );
  if (runs.length === 0) return [...out, ...notRun('memory')];
  for (const r of runs) {
    const i = r.inputs;
    const f = r.figures;
    out.push(
      `### ${i.runs} runs of ${i.customers} customers: ${runOf(r)}`,
      '',
      `${f.jobs} customer jobs, concurrency ${i.concurrency}, custom licenses ${onOff(i.customLicenses)}.`,
      '',
      '| Run | Worker RSS (MiB) | Redis used_memory (MiB) |',
      '|---|---|---|',
      ...f.workerRssMiB.map((rss, n) => `| ${n + 1} | ${rss} | ${f.redisUsedMiB[n]} |`),
      `| Trend (MiB per run) | ${fixed(f.workerRssTrendMiBPerRun)} | ${fixed(f.redisTrendMiBPerRun)} |`,
      '',
    );
  }
  out.push(...runsShown(runs));
  return out;
}

const percent = (share: number) => `${fixed(share * 100, 1)} %`;

/** A statement's text as a table cell: one line, its pipes escaped. */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim().replaceAll('|', '\\|');

/** The statements a customer costs, by the start of their text (runs that recorded them). */
function statementsOf(run: WorkerCpuFigures['runs'][number]): string[] {
  if (!run.statementsByText) return [];
  return [
    '| Statement (start of its text) | Per customer |',
    '|---|---|',
    ...run.statementsByText
      .filter((s) => s.perCustomer >= 0.05)
      .map((s) => `| \`${oneLine(s.text)}\` | ${fixed(s.perCustomer)} |`),
    '',
  ];
}

/** The worker's socket writes and ioredis calls per customer (runs that recorded them). */
function callsOf(run: WorkerCpuFigures['runs'][number]): string[] {
  if (!run.socketWritesByPeer || !run.redisCallsByCommand) return [];
  const list = (entries: { name: string; perCustomer: number }[]) =>
    entries
      .filter((e) => e.perCustomer >= 0.05)
      .map((e) => `${e.name} ${fixed(e.perCustomer, 1)}`)
      .join(', ');
  const writes = run.socketWritesByPeer.reduce((sum, w) => sum + w.perCustomer, 0);
  return [
    `The worker's socket writes per customer (each a system call): ${fixed(writes, 1)}, to ${list(
      run.socketWritesByPeer.map((w) => ({ name: w.peer, perCustomer: w.perCustomer })),
    )}. Redis commands the worker sent per customer (a script once): ${list(
      run.redisCallsByCommand.map((c) => ({ name: c.command, perCustomer: c.perCustomer })),
    )}.`,
    '',
  ];
}

/** worker-cpu with --workers: the same run on 1, 2, 3… worker processes. */
const isScaling = (r: BenchRun) => Array.isArray((r.inputs as { workers?: unknown }).workers);

function workerScalingSection(all: BenchRun[]): string[] {
  const runs = latestPerInputSet<WorkerScalingFigures, WorkerScalingInputs>(
    all.filter(isScaling),
    'worker-cpu',
  );
  const out = ['### More worker processes', ''];
  out.push(
    '`--workers 1,2,3`: the same steady-state run (one partner, no emulator latency or limit, our',
    'paces at their highest, the consent’s run and one more as warm-up) served by each number of',
    'worker processes in turn, each count with a database and queue prefix of its own. Adding a',
    'process should add throughput until the CPU runs out. Worker CPU is summed over the worker',
    'processes (each one’s probe); PostgreSQL CPU is that of the backends the workers hold. Lock',
    "waits: every 100 ms through the run, pg_stat_activity’s `wait_event_type = 'Lock'` among",
    'the workers’ backends (by application name): the share of samples in which any waited, the',
    'share of backends waiting over all samples, and the most waiting at once. On two cores, more',
    'than two busy processes share them: read customers/s beside CPU per customer and the load.',
    '',
  );
  if (runs.length === 0)
    return [...out, 'Not run yet: `npm run bench -- worker-cpu --workers 1,2,3`.', ''];
  for (const r of runs) {
    const i = r.inputs;
    out.push(
      `#### ${i.customers} customers, workers ${i.workers.join(', ')}, custom licenses ${onOff(i.customLicenses)}: ${runOf(r)}`,
      '',
      `Concurrency ${i.concurrency} per worker process; ${i.runs} measured run${i.runs === 1 ? '' : 's'} per count.`,
      '',
      '| Workers | Run | Load average (start → end) | Duration | Customers / s | Worker CPU s / 1,000 (all workers) | PostgreSQL backends CPU s / 1,000 | Samples with a lock wait | Backends waiting | Most waiting at once (of backends) |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...r.figures.byWorkers.flatMap((w) =>
        w.runs.map((m, n) => {
          const l = m.lockWaits;
          return `| ${w.workers} | ${n + 1} | ${fixed(m.loadAverage[0])} → ${fixed(m.loadAverage[1])} | ${fixed(m.durationSec, 1)} s | ${fixed(m.customersPerSec, 1)} | ${fixed(m.workerCpuSecPer1000)} | ${m.postgresCpuSecPer1000 === null ? 'not read' : fixed(m.postgresCpuSecPer1000)} | ${percent(l.samplesWithWaitShare)} of ${l.samples} | ${percent(l.backendsWaitingShare)} | ${l.maxWaiting} (of ${l.maxBackends}) |`;
        }),
      ),
      '',
    );
  }
  out.push(...runsShown(runs));
  return out;
}

function workerCpuSection(every: BenchRun[]): string[] {
  // The scaling runs have their own subsection and figures.
  const all = every.filter((r) => !isScaling(r));
  const runs = latestPerInputSet<WorkerCpuFigures, WorkerCpuInputs>(all, 'worker-cpu');
  const out = ['## 6. Worker CPU per customer', ''];
  out.push(
    'The CPU a worker process spends per customer of a refresh run: CPU seconds (user + system,',
    '`process.cpuUsage` of the worker process alone, every thread of it) per 1,000 customers. The',
    'worker runs as a process of its own (`workers/main.ts`, log level info); the emulator, the API',
    'and this benchmark run in another, PostgreSQL and a redis-server of the benchmark’s own in',
    'theirs. No emulator latency or limit, our paces at their highest. One partner; the consent’s',
    'run and one more warm up (SKUs resolved, access and app consent recorded, JIT, pools,',
    'sockets), then each measured run is a “sync now” in that steady state:',
    'per customer a sign-in to its tenant, two Partner Center calls over HTTPS, the PostgreSQL',
    'work and the queue’s own. A probe loaded into the worker (`bench/worker-probe.ts`) opens',
    'and closes the window on a signal, so start-up and the warm-up are not counted. Runs',
    'recorded before 19:40 UTC on 2026-12-01 had the consent’s run alone as warm-up. Goal:',
    '≤ 1 ms per customer, i.e. ≤ 1 CPU s per 1,000.',
    '',
    'Beside it, per customer: statements the worker sent (counted in its `pg` client, BEGIN and',
    'COMMIT included), the explicit transactions among them, the database’s `xact_commit` (every',
    'client, autocommit statements included: the benchmark polls the run every 250 ms), the CPU',
    'of the PostgreSQL backends serving the worker (from /proc, by application name), and the',
    'commands of the benchmark’s Redis (INFO commandstats: the calls inside Lua scripts, which',
    'BullMQ and the pacer run, count one each, and the benchmark’s queue-event readers are',
    'included). Runs since 2026-12-02 also count the worker’s own socket writes, each a system',
    'call, by peer (postgres, redis, other: the emulator’s HTTPS), and the Redis commands its',
    'clients sent (a script once). On this machine a write and the wake-up it causes cost more',
    'than most of the JavaScript around them, so the writes are what batching saves. CPU time',
    'holds on a shared machine better than wall-clock throughput does, but',
    'a busy machine still costs more per unit of work (caches, frequency): read it beside the',
    'load average. A last run is profiled (V8 CPU profile of the window, sampled every 1 ms;',
    'its CPU includes the profiler’s cost): self time by function and by package, idle left out.',
    'The profiler samples by the clock: a write during which the process waits for the CPU',
    'counts there, so the writes’ share overstates their CPU.',
    'The whole profile of the latest run is left in the temporary directory as',
    '`worker-cpu-latest.cpuprofile`.',
    '',
    'An on-CPU profile, which the clock-sampled one is not, was taken with Linux `perf`',
    '(cpu-clock at 499 Hz, the worker run with `--perf-basic-prof`) over five runs of 1,000',
    'customers at 40 jobs: the kernel 19 % (socket reads and writes, wake-ups), JIT-compiled',
    'JavaScript 15 %, the rest in node itself (V8’s builtins and property lookups, its garbage',
    'collector about 9 %, OpenSSL, libuv) and libc 7.5 %; no single function above 3 %. What',
    'remains is spread over each customer’s three HTTPS requests (two Partner Center calls',
    'and, in the run’s GDAP read, about one Graph call per customer), about three Redis round',
    'trips and the JSON of each answer, rather than in one place to remove.',
    '',
    'Runs before 06:30 UTC on 2026-12-02 ran 10 customer jobs at once per worker, the',
    'default then; later ones 50. Jobs that run together share their statements (group',
    'commit), so more of them at once cost less each: the same code (`d09d1df`) gave 2.98 s',
    'per 1,000 at 10 jobs and 1.98 s at 40 (medians of two runs), and PostgreSQL 2.3 and 1.0 s.',
    '',
  );
  if (runs.length === 0) return [...out, ...notRun('worker-cpu'), ...workerScalingSection(every)];
  for (const r of runs) {
    const i = r.inputs;
    const f = r.figures;
    out.push(
      `### ${i.customers} customers, custom licenses ${onOff(i.customLicenses)}: ${runOf(r)}`,
      '',
      `Worker CPU per 1,000 customers, median of ${f.runs.length} runs: **${fixed(f.workerCpuSecPer1000, 2)} s** (goal ≤ 1 s: ${verdict(f.workerCpuSecPer1000 <= 1)}); concurrency ${i.concurrency}.`,
      '',
      '| Run | Load average (start → end) | Duration | Worker CPU s / 1,000 (user + system) | PostgreSQL backends CPU s / 1,000 | Statements / customer | Transactions / customer | xact_commit / customer | Redis commands / customer |',
      '|---|---|---|---|---|---|---|---|---|',
      ...f.runs.map(
        (m, n) =>
          `| ${n + 1} | ${fixed(m.loadAverage[0])} → ${fixed(m.loadAverage[1])} | ${fixed(m.durationSec, 1)} s | ${fixed(m.workerCpuSecPer1000)} (${fixed(m.workerUserSecPer1000)} + ${fixed(m.workerSystemSecPer1000)}) | ${m.postgresCpuSecPer1000 === null ? 'not read' : fixed(m.postgresCpuSecPer1000)} | ${fixed(m.statementsPerCustomer, 1)} | ${fixed(m.transactionsPerCustomer, 1)} | ${fixed(m.commitsPerCustomer, 1)} | ${fixed(m.redisCommandsPerCustomer, 1)} |`,
      ),
      '',
      `Redis commands per customer, most called (run ${f.runs.length}): ${f.runs
        .at(-1)!
        .redisTopCommands.map((c) => `${c.command} ${fixed(c.perCustomer, 1)}`)
        .join(', ')}.`,
      '',
      ...statementsOf(f.runs.at(-1)!),
      ...callsOf(f.runs.at(-1)!),
      `Profiled run: ${fixed(f.profiledCpuSecPer1000)} CPU s per 1,000 customers with the profiler, ${fixed(f.profile.busyMs / 1000, 1)} s sampled busy.`,
      '',
      '| Package or folder | Self time | Package or folder, with Node built-ins and native code charged to their caller | Self time |',
      '|---|---|---|---|',
      ...f.profile.packages.map((p, n) => {
        const c = f.profile.callers?.[n];
        return `| ${p.name} | ${percent(p.share)} | ${c ? `${c.name} | ${percent(c.share)}` : '– | –'} |`;
      }),
      '',
      '| Function | Self time |',
      '|---|---|',
      ...f.profile.functions.map((p) => `| \`${p.name}\` | ${percent(p.share)} |`),
      '',
    );
  }
  const history = all.filter((r) => r.benchmark === 'worker-cpu') as BenchRun<
    WorkerCpuFigures,
    WorkerCpuInputs
  >[];
  out.push(
    '### Every run, oldest first',
    '',
    'Before and after each change, at whatever load the machine had; pairs run at the same',
    'time say so in their command.',
    '',
    '| Run | Command | Customers | Load average | Worker CPU s / 1,000 | PostgreSQL CPU s / 1,000 | Statements / customer | Redis commands / customer |',
    '|---|---|---|---|---|---|---|---|',
    ...history.map((r) => {
      const last = r.figures.runs.at(-1)!;
      const pgCpu = median(r.figures.runs.map((m) => m.postgresCpuSecPer1000 ?? NaN));
      return `| ${runOf(r)} | \`${r.command}\` | ${r.inputs.customers} | ${fixed(last.loadAverage[0], 1)} | ${fixed(r.figures.workerCpuSecPer1000)} | ${fixed(pgCpu)} | ${fixed(last.statementsPerCustomer, 1)} | ${fixed(last.redisCommandsPerCustomer, 1)} |`;
    }),
    '',
  );
  out.push(...runsShown(runs));
  out.push(...workerScalingSection(every));
  return out;
}

const ratioOrDash = (r: number | null, digits = 2) => (r === null ? '–' : fixed(r, digits));

function bigDaySection(all: BenchRun[]): string[] {
  const runs = latestPerInputSet<BigDayFigures, BigDayInputs>(all, 'big-day');
  const out = ['## 7. The big day', ''];
  out.push(
    'Every partner consents, four at a time, and runs its first refresh (SKUs looked up) at a',
    'limit of 20/s: that is the warm-up. Then each partner gets its own Partner Center limit,',
    "taken in turn from `--limit` (the emulator's, and the partner's own pace in the service,",
    '`PATCH /partners/:id`), the smallest partners refresh alone a few times, and one',
    "`refreshAllPartners` job, the daily schedule's, starts a run for every partner at once. A",
    "worker process of its own, on a redis-server of the benchmark's own, a fresh database. A",
    "partner's floor = (its Partner Center requests answered that day − the emulator's burst, a",
    "second's worth) / its limit; its finish is counted from the schedule's job being queued",
    "to its run's end (goal ≤ 1.05 × floor). The smallest partners: their run that day, start",
    'to end, over the median of their runs alone (goal ≤ 1.2). Redis: `used_memory` of the private Redis at the sample with',
    'the most refresh jobs waiting, delayed or active, less its value before the day, over those',
    'jobs. PostgreSQL: `pg_database_size` before and after the day, per customer. Worker RSS',
    'sampled about every second; its trend is the slope over the second half of the day. Reads:',
    "each customer's subscription listing answered 200 by the emulator that day.",
    '',
    "A limit must be at least 2/s: a customer's two Partner Center calls go together, and the",
    "emulator's bucket holds a second's worth; at 2/s that leaves no room at all, so the",
    'default is 3/s and 4/s in turn. The full size, 200 partners, therefore asks for 700',
    'requests/s (350 customers/s) from one worker process, with the emulator, PostgreSQL and',
    'Redis on the same two cores. On this machine that whole stack carried about 122',
    'requests/s (58 customers/s) at 50 partners, below the 185 they asked for: the partners',
    'finish late because the machine is full, and jobs that start late, several of one',
    "partner's at once, meet the emulator's small bucket together (the 429s). The full size",
    'was therefore not run. Results recorded before 2026-12-02 had one limit for every partner',
    '(`PARTNER_CENTER_REQUESTS_PER_SECOND`) and a warm-up at that limit; each heading states',
    'the size that was run.',
    '',
  );
  if (runs.length === 0) return [...out, ...notRun('big-day')];
  for (const r of runs) {
    const i = r.inputs;
    const f = r.figures;
    const total = i.partners * i.customers + i.smallPartners * i.smallCustomers;
    const limits = i.limits ?? [i.limit!];
    const limitOf = (n: number) => limits[n % limits.length]!;
    const requestsInAll = Array.from({ length: i.partners + i.smallPartners }, (_, n) =>
      limitOf(n),
    ).reduce((a, b) => a + b, 0);
    const throttled = Object.entries(f.throttled);
    const rss = f.workerRssMiB;
    out.push(
      `### ${i.partners} partners × ${i.customers} customers and ${i.smallPartners} × ${i.smallCustomers}: ${runOf(r)}`,
      '',
      `${total} customers, ${limits.length === 1 ? `limit ${limits[0]}/s per partner` : `limits ${limits.join('/s, ')}/s per partner in turn`} (${fixed(requestsInAll, 0)} requests/s in all), latency ${i.latencyMs} ms, concurrency ${i.concurrency}, custom licenses off. Load average ${fixed(f.loadAverage[0], 1)} as the day started, ${fixed(f.loadAverage[1], 1)} as it ended. The day took ${fixed(f.daySec, 1)} s: ${fixed(f.customersPerSec, 1)} customers/s, ${fixed(f.requestsPerSec, 1)} Partner Center requests/s.`,
      '',
      '| Figure | Value | Goal |',
      '|---|---|---|',
      `| Finish / floor, max | ${fixed(f.finish.max)} | ≤ 1.05: ${verdict(f.finish.max <= 1.05)} |`,
      `| Finish / floor, p95 | ${fixed(f.finish.p95)} | |`,
      `| Finish / floor, median | ${fixed(f.finish.median)} | |`,
      `| Partners within 1.05 | ${f.finish.withinGoal} of ${f.finish.count}${f.finish.withoutFloor ? ` (${f.finish.withoutFloor} without a floor: all in the burst)` : ''} | all |`,
      ...f.small.map(
        (s) =>
          `| Small partner ${s.partner} (${s.customers} customers): that day / alone | ${fixed(s.daySec)} s / ${fixed(median(s.soloSec))} s (alone ${s.soloSec.map((x) => fixed(x)).join(', ')} s) = ${fixed(s.ratio)} | ≤ 1.2: ${verdict(s.ratio <= 1.2)} |`,
      ),
      `| Redis per queued customer job | ${f.redis ? `${f.redis.bytesPerQueuedJob} bytes (${f.redis.usedAtPeakMiB} MiB with ${f.redis.peakQueued} queued, ${f.redis.baselineMiB} MiB before)` : 'no jobs queued at a sample'} | |`,
      `| PostgreSQL growth | ${f.postgres.bytesPerCustomer} bytes per customer (${f.postgres.beforeMiB} → ${f.postgres.afterMiB} MiB) | |`,
      `| Worker RSS (MiB) | first ${rss.first}, last ${rss.last}, max ${rss.max}; ${fixed(rss.secondHalfTrendPerMinute)} MiB/min over the second half (${rss.samples} samples, every ${rss.intervalMs} ms) | flat |`,
      `| Customers read | ${f.reads.once} once, ${f.reads.never} never, ${f.reads.moreThanOnce} more than once, of ${f.reads.expected}${f.reads.unexpected ? `; ${f.reads.unexpected} reads of others` : ''} | each once: ${verdict(f.reads.once === f.reads.expected && f.reads.unexpected === 0)} |`,
      `| 429 answered | ${throttled.length === 0 ? 'none' : throttled.map(([surface, n]) => `${n} (${surface})`).join(', ')} | none: ${verdict(throttled.length === 0)} |`,
      '',
      'Worst partners:',
      '',
      '| Partner | Customers | Limit | Requests | Floor | Finish | Finish / floor |',
      '|---|---|---|---|---|---|---|',
      ...f.worstPartners.map(
        (w) =>
          `| ${w.partner} | ${w.customers} | ${w.limit ?? limitOf(w.partner - 1)}/s | ${w.requests} | ${fixed(w.floorSec, 1)} s | ${fixed(w.finishSec, 1)} s | ${ratioOrDash(w.ratio)} |`,
      ),
      '',
    );
  }
  out.push(...runsShown(runs));
  return out;
}

const kib = (bytes: number) => fixed(bytes / 1024, 1);
const gib = (bytesPerCustomer: number) => fixed((bytesPerCustomer * 100_000) / 2 ** 30, 2);

function storageSection(all: BenchRun[]): string[] {
  const runs = latestPerInputSet<StorageFigures, StorageInputs>(all, 'storage');
  const out = ['## 7. Storage: a year of daily runs', ''];
  out.push(
    "One partner's customers are refreshed after a warm-up run once a day, a share of them",
    'buying, cancelling, assigning or unassigning seats in the emulator before each run (as',
    '`DEMO_DAYS` does). Each table a run writes to is measured after the warm-up and after the',
    'last run (`pg_total_relation_size`, indexes and TOAST included, after a plain `VACUUM` as',
    'autovacuum runs it), with its rows. A year: a table kept in place (its rows do not grow with',
    'runs; what it gains is churn VACUUM makes reusable) holds its size after the runs; a ledger',
    "grows by its growth per run × 365; a run table by its growth per run × the retention's days",
    "of runs (the reconciler deletes older ones). The old layout's figure is",
    'measured too, not computed: a table with its columns and unique index is fed, after each',
    'run, exactly the rows the old code wrote (one per customer and SKU read), and its bytes per',
    'row × a year of those rows gives its bytes per customer per year.',
    '',
  );
  if (runs.length === 0) return [...out, ...notRun('storage')];
  for (const r of runs) {
    const i = r.inputs;
    // A year is computed here from the measured bytes, so every stored run reads the same way.
    const tables = r.figures.tables.map((t) => ({
      ...t,
      bytesPerCustomerPerYear: bytesPerCustomerPerYear(t, i),
    }));
    const f = {
      ...r.figures,
      tables,
      totalBytesPerCustomerPerYear: tables.reduce((sum, t) => sum + t.bytesPerCustomerPerYear, 0),
    };
    const licenseTables = tables
      .filter((t) =>
        ['customer_licenses', 'customer_license_reads', 'seat_history'].includes(t.table),
      )
      .reduce((sum, t) => sum + t.bytesPerCustomerPerYear, 0);
    out.push(
      `### ${i.customers} customers, ${i.runs} daily runs: ${runOf(r)}`,
      '',
      `${f.skusPerCustomer} SKUs per customer on average; ${fixed(i.changingShare * 100, 0)} % of customers change seats each day, ${f.seatChangesPerRun} seat-history rows per run; run retention ${i.retentionDays} days.`,
      '',
      '| Table | Rows before | Rows after | KiB before | KiB after | Bytes per customer per run | Bytes per customer per year |',
      '|---|---|---|---|---|---|---|',
      ...f.tables.map(
        (t) =>
          `| \`${t.table}\` | ${t.rowsBefore} | ${t.rowsAfter} | ${kib(t.bytesBefore)} | ${kib(t.bytesAfter)} | ${t.bytesPerCustomerPerRun} | ${t.bytesPerCustomerPerYear} |`,
      ),
      `| **Total** | | | | | | **${f.totalBytesPerCustomerPerYear}** (${kib(f.totalBytesPerCustomerPerYear)} KiB) |`,
      '',
      `Old layout, measured: ${f.oldLayout.rows} rows at ${f.oldLayout.bytesPerRow} bytes per row, ${f.oldLayout.bytesPerCustomerPerYear} bytes (${kib(f.oldLayout.bytesPerCustomerPerYear)} KiB) per customer per year, kept for ever, beside ${licenseTables} bytes (${kib(licenseTables)} KiB) for what replaces it (\`customer_licenses\`, \`customer_license_reads\`, \`seat_history\`). For 100,000 customers: ${gib(f.oldLayout.bytesPerCustomerPerYear)} GiB of snapshots a year, against ${gib(licenseTables)} GiB for those three and ${gib(f.totalBytesPerCustomerPerYear)} GiB for every table above.`,
      '',
    );
  }
  out.push(...runsShown(runs));
  return out;
}

export function benchmarksMarkdown(runs: BenchRun[]): string {
  return [
    '# Benchmarks',
    '',
    'Written by `npm run bench` from `docs/benchmarks/results.json`, which keeps every run: its',
    'commit, inputs, machine and figures. `npm run bench -- --report-only` rewrites this page',
    'from that file without running anything. Each benchmark shows the latest run of each set',
    'of inputs (e.g. `--sizes 1000,10` apart from the default sizes), with the commit and date',
    'of the run every figure comes from. The service runs against the emulator over HTTPS with',
    'the real PostgreSQL, Redis and MSAL (the test harness).',
    '',
    'Two kinds of figure:',
    '',
    '- **Ratios within one run** (pacing completion / floor, fairness beside / alone, callback',
    '  p99 / floor p99, customers / no-op jobs): the measure and its floor share the machine and',
    '  the moment, so they hold on a noisy machine. The goals apply to these.',
    '- **Absolute figures** (durations in s, latencies in ms, throughput per s, memory in MiB):',
    '  they depend on the machine and on whatever else ran on it; compare them only between',
    '  runs on the same machine, at a similar load average.',
    '',
    ...pacingSection(runs),
    ...fairnessSection(runs),
    ...callbackSection(runs),
    ...workersSection(runs),
    ...memorySection(runs),
    ...workerCpuSection(runs),
    ...bigDaySection(runs),
    ...storageSection(runs),
  ].join('\n');
}
