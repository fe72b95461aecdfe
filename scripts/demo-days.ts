// DEMO_DAYS: the demo replays its last days. The process's clock starts that many days back;
// the scenario's MFA admin grants Partner Center consent, the initial refresh runs, then each
// day a few customers buy, cancel, assign or unassign seats in the emulator, the clock moves
// to that day and the daily schedule's refresh runs. The pages then show history and renewals.
import { prng } from '../emulator/generated-tenants.js';
import type { EmulatorState } from '../emulator/state.js';
import type { CustomerDetail } from '../emulator/tenants.js';
import { createHttpClient } from '../src/http-client.js';
import type { Runtime } from '../src/runtime.js';
import { startConsent } from '../src/server/api/consents.js';
import { startScheduledRefreshes } from '../src/services/refresh.js';
import type { RefreshRun } from '../src/store/refresh-runs.js';
import type { DemoClock } from './demo-clock.js';

export interface DemoDays {
  runtime: Runtime;
  emulator: EmulatorState;
  /** The emulator's CA, to reach its sign-in page. */
  caFile: string;
  partnerId: string;
  partnerTenantId: string;
  /** The partner user who consents: MFA, Admin Agent. */
  admin: string;
  /** Days with a refresh, the last one today. */
  days: number;
  clock: DemoClock;
}

/** Customers whose seats change over the days: few, so that each page has a story. */
const changingCustomers = 6;
const changesPerDay = 2;
/**
 * A day's limit: its refresh takes seconds, its PSA reconciliation the PSA's pace (36 companies:
 * half a minute with ConnectWise, three minutes with HaloPSA).
 */
const runLimitMs = 600_000;

export async function simulateDays(demo: DemoDays): Promise<RefreshRun[]> {
  const { runtime, emulator, clock } = demo;
  try {
    await grantConsent(demo);
    const runs = [await finishedRun(demo, undefined, 'the initial refresh')];
    const partner = emulator.directory.partner(demo.partnerTenantId)!;
    const changing = partner.customers
      .filter((c) => c.delegatedAccess && c.appConsent === 'all')
      .slice(0, changingCustomers);
    const random = prng(demo.days);
    for (let daysBack = demo.days - 2; daysBack >= 0; daysBack--) {
      const picked = new Set<number>();
      while (picked.size < Math.min(changesPerDay, changing.length))
        picked.add(Math.floor(random() * changing.length));
      for (const i of picked) changeSeats(emulator.directory.detail(changing[i]!), random);
      clock.daysBeforeNow(daysBack);
      runs.push(await dailyRun(demo, runs.at(-1)!.id, daysBack));
      const run = runs.at(-1)!;
      runtime.log.info(
        { day: run.startedAt.toISOString().slice(0, 10), runId: run.id, succeeded: run.succeeded },
        'DEMO_DAYS: day refreshed',
      );
    }
    return runs;
  } finally {
    clock.restore();
  }
}

/**
 * The day's run. The jump crossed 03:00 UTC, so the daily schedule's job is due, but whether
 * BullMQ still runs it depends on who looks first: the reconciler re-creates the schedule
 * from the clock's time, which drops an iteration already past. So the maintenance queue's
 * delayed jobs are run now and waited for; if they opened no run, the demo starts the daily
 * refresh itself, the same call. One run a day, either way.
 */
async function dailyRun(demo: DemoDays, previousId: string, daysBack: number) {
  const { runtime } = demo;
  const maintenance = runtime.queues.get('maintenance');
  await maintenance.promoteJobs();
  const deadline = performance.now() + runLimitMs;
  while (true) {
    const counts = await maintenance.getJobCounts('wait', 'active', 'prioritized');
    if (Object.values(counts).every((n) => n === 0)) break;
    if (performance.now() > deadline)
      throw new Error(`the maintenance jobs did not finish within ${runLimitMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if ((await runtime.services.runs.latest(demo.partnerId))?.id === previousId)
    await startScheduledRefreshes({ ...runtime.services, queues: runtime.queues });
  return finishedRun(demo, previousId, `the refresh ${daysBack} days ago`);
}

/** Consent as the scenario's admin: the emulator signs a scenario user in straight through. */
async function grantConsent(demo: DemoDays) {
  const { services, config } = demo.runtime;
  const { authorizeUrl } = await startConsent(
    services,
    config.publicUrl,
    demo.partnerId,
    'partner_center',
    { returnTo: '/', loginHint: demo.admin },
  );
  const signIn = await createHttpClient({ extraCaFile: demo.caFile }).get(authorizeUrl);
  const callback = signIn.headers.location as string | undefined;
  if (signIn.status !== 302 || !callback)
    throw new Error(`the emulator's sign-in answered ${signIn.status}, not a redirect`);
  const back = await fetch(callback, { redirect: 'manual' });
  if (back.status !== 303) throw new Error(`the consent callback answered ${back.status}`);
}

/**
 * The partner's latest run once it has ended and the PSA reconciliation it queued is done,
 * when it is not `previousId`: billing's readings belong to the run's day, not the next.
 */
async function finishedRun(
  demo: DemoDays,
  previousId: string | undefined,
  what: string,
): Promise<RefreshRun> {
  const { runs } = demo.runtime.services;
  const billing = demo.runtime.queues.get('billing');
  const deadline = performance.now() + runLimitMs;
  while (performance.now() < deadline) {
    const run = await runs.latest(demo.partnerId);
    if (run && run.id !== previousId && run.status === 'stopped')
      throw new Error(`${what} stopped: ${run.error ?? 'no reason recorded'}`);
    if (run && run.id !== previousId && run.billingQueuedAt) {
      // Company reconciliations wait in the delayed set at the PSA's pace; its pacer in Redis
      // keeps that pace when they are promoted.
      await billing.promoteJobs();
      const counts = await billing.getJobCounts('wait', 'active', 'prioritized', 'delayed');
      if (Object.values(counts).every((n) => n === 0)) return run;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `${what} and its billing reconciliation did not finish within ${runLimitMs / 1000} s`,
  );
}

/**
 * One customer's change of the day, as a person makes it in Microsoft 365: seats bought and
 * given to users, a seat cancelled, or a license assigned or taken back. Assigned seats never
 * exceed purchased ones, as Microsoft refuses that.
 */
export function changeSeats(detail: CustomerDetail, random: () => number) {
  const paid = detail.subscriptions.filter((s) => s.status === 'active' && !s.isTrial);
  if (paid.length === 0) return;
  const subscription = paid[Math.floor(random() * paid.length)]!;
  const skuId = subscription.sku.skuId;
  const purchased = () =>
    paid.filter((s) => s.sku.skuId === skuId).reduce((sum, s) => sum + s.quantity, 0);
  const holders = detail.users.filter((u) => u.licenses.includes(skuId));
  const others = detail.users.filter((u) => !u.licenses.includes(skuId));
  const unassign = () => {
    const user = holders.pop();
    if (user) user.licenses = user.licenses.filter((id) => id !== skuId);
  };
  const pick = random();
  if (pick < 0.35) {
    const bought = 1 + Math.floor(random() * 3);
    subscription.quantity += bought;
    for (const user of others.slice(0, bought - 1)) user.licenses.push(skuId);
  } else if (pick < 0.6 && subscription.quantity > 1) {
    subscription.quantity -= 1;
    if (holders.length > purchased()) unassign();
  } else if (pick < 0.8 && holders.length < purchased() && others.length > 0) {
    others[0]!.licenses.push(skuId);
  } else {
    unassign();
  }
}
