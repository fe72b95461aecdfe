import { subscribedSkus } from '../../emulator/tenants.js';
import type { ChaosStack } from './stack.js';

/** A span during which a fault may leave a customer's calls without their commit. */
export interface FaultWindow {
  from: number;
  to: number;
}

/** A customer's calls that ended this long before a fault may still be awaiting their commit. */
const inFlightMarginMs = 5_000;

export interface RunVerdict {
  /** Customers whose stored quantities differ from Microsoft's (the emulator's data). */
  wrong: string[];
  /** Customers of the run without a snapshot set. */
  missing: string[];
  /**
   * Customers read again after their refresh was recorded, or read more than once before it
   * outside a fault's window.
   */
  refreshedTwice: string[];
  /** Customers read again because a fault interrupted them (allowed). */
  repeatedAtFault: number;
  /** Customers whose licenses were never read during the run. */
  neverCalled: string[];
  ok: boolean;
  summary: string;
}

/**
 * Judges a run by Microsoft's side, not the service's tables: every customer's stored
 * quantities against the emulator's directory, and the calls the emulator saw per customer
 * (exactly one read of its licenses and subscriptions, unless a fault interrupted it).
 */
export async function verifyRun(
  stack: ChaosStack,
  runId: string,
  tenants: string[],
  sinceLogId: number,
  faults: FaultWindow[],
): Promise<RunVerdict> {
  const { rows } = await stack.db.query<{
    customer_tenant_id: string;
    sku_id: string;
    active_units: number;
    consumed_units: number;
    suspended_units: number;
    billed_quantity: number;
  }>(
    `select l.customer_tenant_id, l.sku_id, l.active_units, l.consumed_units, l.suspended_units,
            l.billed_quantity
       from customer_licenses l
       join customer_license_reads r
         on r.partner_id = l.partner_id and r.customer_tenant_id = l.customer_tenant_id
      where r.run_id = $1`,
    [runId],
  );
  const stored = new Map<string, string[]>();
  for (const r of rows) {
    const list = stored.get(r.customer_tenant_id) ?? [];
    list.push(
      `${r.sku_id}:${r.active_units}/${r.consumed_units}/${r.suspended_units}/${r.billed_quantity}`,
    );
    stored.set(r.customer_tenant_id, list);
  }
  const wrong: string[] = [];
  const missing: string[] = [];
  for (const tenant of tenants) {
    const customer = stack.emulator.state.directory.customer(tenant)!;
    const detail = stack.emulator.state.directory.detail(customer);
    const expected = subscribedSkus(detail).map((s) => {
      const billed = detail.subscriptions
        .filter((x) => x.sku.skuId === s.sku.skuId && x.status === 'active')
        .reduce((n, x) => n + x.quantity, 0);
      return `${s.sku.skuId}:${s.activeUnits}/${s.consumedUnits}/${s.suspendedUnits}/${billed}`;
    });
    const seen = stored.get(tenant);
    if (!seen) missing.push(tenant);
    else if (JSON.stringify(seen.sort()) !== JSON.stringify(expected.sort())) wrong.push(tenant);
  }

  // When each customer's refresh was recorded: a read that starts after it is a second refresh.
  const { rows: results } = await stack.db.query<{ tenant: string; finished: Date | null }>(
    `select customer_tenant_id as tenant, finished_at as finished from refresh_results
      where run_id = $1 and status = 'succeeded'`,
    [runId],
  );
  const recordedAt = new Map(results.map((r) => [r.tenant, r.finished?.getTime() ?? Infinity]));

  // Successful reads of each customer's licenses and subscriptions since the run started.
  const reads = new Map<
    string,
    { skus: { end: number }[]; subscriptions: number; afterRecorded: number }
  >();
  const pattern = /^\/v1\/customers\/([0-9a-f-]{36})\/(subscribedskus|subscriptions)$/;
  for (const entry of stack.emulator.state.log) {
    if (entry.id <= sinceLogId || entry.status !== 200) continue;
    const match = pattern.exec(entry.path);
    if (!match) continue;
    const r = reads.get(match[1]!) ?? { skus: [], subscriptions: 0, afterRecorded: 0 };
    if (Date.parse(entry.time) > (recordedAt.get(match[1]!) ?? Infinity)) r.afterRecorded += 1;
    if (match[2] === 'subscribedskus') {
      r.skus.push({ end: Date.parse(entry.time) + entry.durationMs });
    } else r.subscriptions += 1;
    reads.set(match[1]!, r);
  }
  const refreshedTwice: string[] = [];
  const neverCalled: string[] = [];
  let repeatedAtFault = 0;
  const atFault = (end: number) =>
    faults.some((f) => end >= f.from - inFlightMarginMs && end <= f.to + inFlightMarginMs);
  for (const tenant of tenants) {
    const r = reads.get(tenant);
    if (!r || r.skus.length === 0) {
      neverCalled.push(tenant);
      continue;
    }
    if (r.afterRecorded > 0) {
      refreshedTwice.push(tenant);
      continue;
    }
    if (r.skus.length === 1 && r.subscriptions === 1) continue;
    // Every read but the last must have been cut short by a fault.
    const earlier = r.skus.sort((a, b) => a.end - b.end).slice(0, -1);
    if (earlier.every((e) => atFault(e.end))) {
      repeatedAtFault += 1;
    } else refreshedTwice.push(tenant);
  }
  const ok =
    wrong.length === 0 &&
    missing.length === 0 &&
    refreshedTwice.length === 0 &&
    neverCalled.length === 0;
  const list = (ids: string[]) =>
    ids.length <= 3 ? ids.join(', ') : `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more`;
  const parts = [
    `quantities equal to Microsoft's for ${tenants.length - wrong.length - missing.length}/${tenants.length} customers`,
    wrong.length ? `DIFFERENT for ${list(wrong)}` : '',
    missing.length ? `no snapshot for ${list(missing)}` : '',
    `Microsoft read ${tenants.length - neverCalled.length - refreshedTwice.length - repeatedAtFault} customers once`,
    `${repeatedAtFault} again after the fault cut them short`,
    refreshedTwice.length
      ? `${refreshedTwice.length} TWICE without a fault (${list(refreshedTwice)})`
      : '',
    neverCalled.length ? `${neverCalled.length} NEVER (${list(neverCalled)})` : '',
  ];
  return {
    wrong,
    missing,
    refreshedTwice,
    repeatedAtFault,
    neverCalled,
    ok,
    summary: parts.filter(Boolean).join(', '),
  };
}
