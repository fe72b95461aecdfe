import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { AutotaskState } from '../../emulator/psa/autotask/state.js';
import { startTestPsa, type PsaFixture, type TestPsa } from '../support/psa.js';
import { poll, within, type ChaosStack } from './stack.js';

// Scenario 7: the partner's Autotask goes away while its approved changes are being written.
// Autotask is the strictest PSA for this: an adjustment is a unit delta, create-only, with no
// idempotency key, so a change written twice bills twice. Judged by Autotask's side (its
// adjustments and units) and by the service's tables (changes, ledger, connection).

/** Companies linked and mapped, each with one or two differences to apply. */
const companyCount = 24;
/** Connections refused (the emulator's server stopped), the worker killed meanwhile. */
const refusedMs = 15_000;
/** Then every request answered 503, or held past the client's timeout and answered 504. */
const failingMs = 15_000;
/** Changes written before the PSA goes away. */
const appliedBeforeOutage = 6;

interface PlannedLine {
  psaCompanyId: number;
  contractId: number;
  productId: number;
  before: number;
  target: number;
}

/**
 * The PSA: the first customers holding one of the partner's two most common SKUs, each with
 * a contract billing those SKUs a few seats off Microsoft's purchased count.
 */
function outageFixture(stack: ChaosStack, tenants: string[]) {
  const directory = stack.emulator.state.directory;
  const purchased = new Map<string, Map<string, number>>();
  const frequency = new Map<string, number>();
  for (const tenant of tenants) {
    const detail = directory.detail(directory.customer(tenant)!);
    const skus = new Map<string, number>();
    for (const s of detail.subscriptions) {
      if (s.status !== 'active') continue;
      const sku = s.sku.skuId.toLowerCase();
      skus.set(sku, (skus.get(sku) ?? 0) + s.quantity);
    }
    purchased.set(tenant, skus);
    for (const sku of skus.keys()) frequency.set(sku, (frequency.get(sku) ?? 0) + 1);
  }
  const skus = [...frequency].sort((a, b) => b[1] - a[1]).map(([sku]) => sku);
  const mapped = skus.slice(0, 2).map((skuId, i) => ({ skuId, productId: 101 + i }));
  const chosen = tenants
    .filter((t) => mapped.some((m) => (purchased.get(t)!.get(m.skuId) ?? 0) > 0))
    .slice(0, companyCount);
  const lines: PlannedLine[] = [];
  const fixture: PsaFixture = {
    products: mapped.map((m) => ({
      id: m.productId,
      code: `MS-${m.productId}`,
      name: `Microsoft product ${m.skuId.slice(0, 8)}`,
    })),
    companies: chosen.map((tenant, i) => {
      const psaCompanyId = i + 1;
      const contractId = 1000 + i;
      const contractLines = mapped
        .filter((m) => (purchased.get(tenant)!.get(m.skuId) ?? 0) > 0)
        .map((m, k) => {
          const target = purchased.get(tenant)!.get(m.skuId)!;
          // 1 to 4 seats off, up or down (never below zero).
          const off = 1 + ((i + k) % 4);
          const before = (i + k) % 2 === 0 || target < off ? target + off : target - off;
          lines.push({ psaCompanyId, contractId, productId: m.productId, before, target });
          return { id: 5000 + i * 10 + k, productId: m.productId, quantity: before };
        });
      return {
        id: psaCompanyId,
        name: `Outage company ${psaCompanyId}`,
        domain: `outage-${psaCompanyId}.example`,
        containers: [{ id: contractId, name: `Contract ${psaCompanyId}`, lines: contractLines }],
      };
    }),
  };
  return { fixture, mapped, chosen, lines };
}

/** The partner's changes by status, from PostgreSQL. */
async function changesByStatus(stack: ChaosStack, partnerId: string) {
  const { rows } = await stack.db.query<{ status: string; n: string }>(
    'select status, count(*) as n from psa_sync_changes where partner_id = $1 group by status',
    [partnerId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])) as Record<string, number>;
}

/** Jobs still to run in the billing queue (waiting, delayed, active). */
async function billingJobsLeft(stack: ChaosStack): Promise<number> {
  const queue = new Queue('billing', { connection: { url: stack.redis.url }, prefix: '{chaos}' });
  try {
    const c = await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
    return Object.values(c).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
  }
}

export async function psaOutage(
  stack: ChaosStack,
  partnerId: string,
  tenants: string[],
): Promise<{ did: string; expected: string; seen: string; ok: boolean }> {
  const { fixture, mapped, chosen, lines } = outageFixture(stack, tenants);
  const psa = await startTestPsa('autotask', fixture);
  try {
    return await withPsa(stack, partnerId, psa, { mapped, chosen, lines });
  } finally {
    await psa.emulator.stop().catch(() => {});
  }
}

async function withPsa(
  stack: ChaosStack,
  partnerId: string,
  psa: TestPsa,
  plan: Omit<ReturnType<typeof outageFixture>, 'fixture'>,
) {
  const { mapped, chosen, lines } = plan;
  const state = () => psa.emulator.state as AutotaskState;
  // The service trusts the PSA's certificate beside Microsoft's.
  const caFile = join(tmpdir(), `chaos-cas-${Date.now()}.pem`);
  writeFileSync(caFile, `${stack.emulator.ca}\n${psa.emulator.ca}`);
  await stack.restartServices({ HTTP_EXTRA_CA_FILE: caFile });

  // The runs before the connection are not this scenario's: they count as reconciled, so
  // the PSA sees only the reconciliation asked for below.
  await stack.db.query(
    'update refresh_runs set billing_queued_at = now() where partner_id = $1 and billing_queued_at is null',
    [partnerId],
  );
  const saved = await stack.api_('PUT', `/partners/${partnerId}/psa-connection`, {
    kind: 'autotask',
    ...psa.fields,
  });
  if ((saved.body as { status?: string }).status !== 'ok')
    throw new Error(`the PSA connection answered ${saved.status}: ${JSON.stringify(saved.body)}`);
  const { rows: companies } = await stack.db.query<{ id: string; tenant: string }>(
    'select id, customer_tenant_id as tenant from companies where partner_id = $1',
    [partnerId],
  );
  const companyOf = new Map(companies.map((c) => [c.tenant, c.id]));
  for (const [i, tenant] of chosen.entries()) {
    const linked = await stack.api_(
      'PUT',
      `/partners/${partnerId}/companies/${companyOf.get(tenant)}/psa-link`,
      { psaCompanyId: String(i + 1), containerId: String(1000 + i) },
    );
    if (linked.status !== 200) throw new Error(`a PSA link answered ${linked.status}`);
  }
  for (const m of mapped) {
    const res = await stack.api_('POST', `/partners/${partnerId}/psa/product-mappings`, {
      source: { kind: 'sku', skuId: m.skuId },
      psaProductId: String(m.productId),
      countBasis: 'purchased',
      applyMode: 'approval',
    });
    if (res.status !== 201) throw new Error(`a product mapping answered ${res.status}`);
  }
  const asked = await stack.api_('POST', `/partners/${partnerId}/reconciliation`);
  if (asked.status !== 202) throw new Error(`the reconciliation answered ${asked.status}`);
  let planned = 0;
  await poll(300_000, `${lines.length} changes to be planned`, async () => {
    planned = (await changesByStatus(stack, partnerId)).planned ?? 0;
    return planned === lines.length ? true : undefined;
  }).catch((error: Error) => {
    throw new Error(`${error.message} (${planned} planned)`);
  });

  // Approve all; once a few changes are written, Autotask goes away.
  const adjustmentsBefore = state().adjustments.length;
  const approved = await stack.api_('POST', `/partners/${partnerId}/billing-sync/approve`, {});
  if (approved.status !== 202) throw new Error(`approving answered ${approved.status}`);
  await poll(120_000, `${appliedBeforeOutage} changes to be written`, () =>
    Promise.resolve(
      state().adjustments.length - adjustmentsBefore >= appliedBeforeOutage ? true : undefined,
    ),
  );
  // At the next adjustment's arrival: connections refused, and the worker killed with it.
  const arrived = new Promise<void>((resolve) => {
    const listener = (r: { method: string; path: string }) => {
      if (r.method !== 'POST' || !r.path.endsWith('/ContractServiceAdjustments')) return;
      psa.emulator.base.requests.off('arrived', listener);
      resolve();
    };
    psa.emulator.base.requests.on('arrived', listener);
  });
  await within(60_000, 'the next adjustment to reach Autotask', arrived);
  const from = Date.now();
  await psa.emulator.down();
  const writtenAtOutage = state().adjustments.length - adjustmentsBefore;
  const worker = stack.workers.at(-1)!;
  worker.child.kill('SIGKILL');
  await within(30_000, 'the killed worker to exit', worker.exited);
  await stack.startWorker();
  await sleep(Math.max(0, from + refusedMs - Date.now()));
  const refusedFor = Date.now() - from;
  // Back, but failing: half the requests held past the 2 s timeout, the rest answered 503.
  psa.emulator.base.addFault({ path: '/**', delayMs: 3_000, status: 504, probability: 0.5 });
  psa.emulator.base.addFault({ path: '/**', status: 503 });
  await psa.emulator.up();
  const failingFrom = Date.now();
  const faultsBefore = psa.emulator.base.log.filter((e) => e.fault).length;
  await sleep(failingMs);
  psa.emulator.base.faults = [];
  const failedRequests = psa.emulator.base.log.filter((e) => e.fault).length - faultsBefore;
  const outageS = Math.round((Date.now() - from) / 1000);
  const failingS = Math.round((Date.now() - failingFrom) / 1000);

  // Then every change ends and the queue settles; a limit, not a wait for a fixed time.
  let statuses: Record<string, number> = {};
  const settledIn = await poll(
    600_000,
    'every change to end and the billing queue to settle',
    async () => {
      statuses = await changesByStatus(stack, partnerId);
      const open = (statuses.approved ?? 0) + (statuses.applying ?? 0) + (statuses.planned ?? 0);
      return open === 0 && (await billingJobsLeft(stack)) === 0
        ? Math.round((Date.now() - from) / 1000)
        : undefined;
    },
  ).catch(() => undefined);

  // Autotask's side: one adjustment per change, of target − before; units at the target.
  const adjustments = state().adjustments.slice(adjustmentsBefore);
  let once = 0;
  let twice = 0;
  let never = 0;
  let wrongDelta = 0;
  let atTarget = 0;
  for (const line of lines) {
    const own = adjustments.filter(
      (a) => a.contractID === line.contractId && a.serviceID === line.productId,
    );
    if (own.length === 1) once += 1;
    else if (own.length === 0) never += 1;
    else twice += 1;
    if (own.reduce((n, a) => n + a.unitChange, 0) !== line.target - line.before) wrongDelta += 1;
    if (psa.billed(line.contractId, line.productId) === line.target) atTarget += 1;
  }
  const { rows: ledger } = await stack.db.query<{ n: string; changes: string; already: string }>(
    `select count(*) as n, count(distinct change_id) as changes,
            count(*) filter (where already_applied) as already
       from psa_sync_ledger where partner_id = $1`,
    [partnerId],
  );
  const ledgerRows = Number(ledger[0]!.n);
  const ledgerChanges = Number(ledger[0]!.changes);
  const alreadyApplied = Number(ledger[0]!.already);
  const { rows: connection } = await stack.db.query<{ status: string; last_error: string | null }>(
    'select status, last_error from psa_connections where partner_id = $1',
    [partnerId],
  );
  const n = lines.length;
  const applied = statuses.applied ?? 0;
  const failed = statuses.failed ?? 0;
  const left = (statuses.approved ?? 0) + (statuses.applying ?? 0) + (statuses.planned ?? 0);
  const connectionStatus = connection[0]?.status ?? 'missing';
  return {
    did: `Autotask, ${chosen.length} companies linked with ${n} changes approved (${mapped.length} products, purchased seats); after ${writtenAtOutage} adjustments, at the next one's arrival, stopped the emulator's server for ${Math.round(refusedFor / 1000)} s (connections refused) and killed the worker with kill -9 (restarted meanwhile), then answered every request 503 or held it past the 2 s timeout (504) for ${failingS} s (${failedRequests} requests); outage ${outageS} s in all`,
    expected: `every change applied exactly once: one adjustment of target − before per change in Autotask, units at Microsoft's purchased count for all ${n}; one ledger row per change; none left planned, approved, applying or failed; the connection not broken`,
    seen: `${settledIn === undefined ? 'NOT SETTLED within 10 min' : `settled ${settledIn} s after the outage began`}; changes ${applied} applied, ${failed} failed, ${left} left open; Autotask: ${once} changes with one adjustment, ${twice} with more, ${never} with none, ${wrongDelta} with a wrong total, units at the target for ${atTarget}/${n}; ledger ${ledgerRows} rows for ${ledgerChanges} changes (${alreadyApplied} recorded as already applied); connection ${connectionStatus}${connection[0]?.last_error ? ` (${connection[0].last_error})` : ''}`,
    ok:
      settledIn !== undefined &&
      applied === n &&
      failed === 0 &&
      left === 0 &&
      once === n &&
      twice === 0 &&
      never === 0 &&
      wrongDelta === 0 &&
      atTarget === n &&
      adjustments.length === n &&
      ledgerRows === n &&
      ledgerChanges === n &&
      connectionStatus !== 'broken',
  };
}
