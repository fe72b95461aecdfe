// Reconciliation and the sync plan: Microsoft's counts beside what the PSA bills, and the
// changes that would make the PSA bill what the partner chose. Pure: no store, no PSA call.

/** Which Microsoft count a PSA product bills. */
export type CountBasis = 'purchased' | 'assigned' | 'custom_count';
/** automatic: a planned change is applied without a person; approval: it waits for one. */
export type ApplyMode = 'automatic' | 'approval';
/** set_quantity: bill `target` (adding the line if missing); cancel: stop billing the line. */
export type SyncAction = 'set_quantity' | 'cancel';
export type SyncChangeStatus =
  'planned' | 'approved' | 'applying' | 'applied' | 'failed' | 'discarded';

/** When a change takes effect in the PSA. */
export type EffectiveDatePolicy = 'today' | 'next_month';

/**
 * How the PSA bills a change that takes effect inside a billing period: prorate: the part of
 * the period left is charged (or credited) at once; none: the change is billed from the next
 * period on. Default: prorate (what Autotask always does, and ConnectWise and Halo can).
 */
export type ProrationPolicy = 'prorate' | 'none';
export const prorationPolicies = ['prorate', 'none'] as const satisfies ProrationPolicy[];

/**
 * What a PSA product mapping bills: one SKU whatever its term, one SKU on one term (ISO 8601
 * duration: P1M, P1Y, P3Y), or one custom license.
 */
export type BillingSource =
  { kind: 'sku'; skuId: string; term?: string } | { kind: 'custom'; definitionId: string };

export function sourceKey(source: BillingSource): string {
  if (source.kind === 'custom') return `custom:${source.definitionId}`;
  return source.term ? `sku:${source.skuId}:${source.term}` : `sku:${source.skuId}`;
}

export function parseSourceKey(key: string): BillingSource | undefined {
  const [kind, id, term, ...rest] = key.split(':');
  // An empty term ("sku:<id>:") is not the whole SKU: it would count none of its seats.
  if (!id || term === '' || rest.length > 0) return undefined;
  if (kind === 'custom' && term === undefined) return { kind, definitionId: id };
  if (kind === 'sku') return term ? { kind, skuId: id, term } : { kind, skuId: id };
  return undefined;
}

/** The count bases a source can bill: a term's seats are purchased, never "assigned". */
export function basesFor(source: BillingSource): CountBasis[] {
  if (source.kind === 'custom') return ['custom_count'];
  return source.term ? ['purchased'] : ['purchased', 'assigned'];
}

/** One company's Microsoft side, as the last refresh read it. */
export interface MicrosoftCounts {
  /** Per SKU (lower-case id): assigned seats (consumed units) and its part number. */
  skus: { skuId: string; skuPartNumber: string; assigned: number }[];
  /** Active subscriptions: their SKU, term and quantity (the purchased seats). */
  subscriptions: { skuId: string; term: string | null; quantity: number }[];
  /** Custom-license counts of the last run; null: the count failed. */
  custom: { definitionId: string; name: string; quantity: number | null }[];
}

export interface ProductMapping {
  id: string;
  sourceKey: string;
  psaProductId: string;
  psaProductName: string;
  countBasis: CountBasis;
  applyMode: ApplyMode;
}

/** A line the PSA bills for this company, on the container the company is billed on. */
export interface BilledLine {
  id: string;
  productId: string;
  quantity: number;
  cancelled: boolean;
}

export interface ReconciliationRow {
  sourceKey: string;
  productName: string;
  skuId: string | null;
  skuPartNumber: string | null;
  mapping: ProductMapping | null;
  microsoftPurchased: number | null;
  microsoftAssigned: number | null;
  customCount: number | null;
  /** Null when the company is not linked to a PSA company or the PSA was not read. */
  psaBilled: number | null;
  /** The line billing the product, when exactly one does. */
  psaLineId: string | null;
  /** Lines billing the mapped product: more than one makes a change ambiguous. */
  psaLineCount: number;
  /** What the mapping bills minus what the PSA bills; null when either is unknown. */
  difference: number | null;
}

const termOf = (t: string | null) => t ?? '';

/**
 * Every product of one company worth a row: each SKU or custom license Microsoft counts, and
 * each mapped product the PSA bills even though Microsoft no longer has it. A SKU whose terms
 * are mapped apart gets one row per mapped term and one for the whole SKU's remaining seats:
 * purchased seats of other terms, and assigned seats less the seats of the terms apart.
 */
export function reconcileCompany(input: {
  counts: MicrosoftCounts;
  mappings: ProductMapping[];
  /** Null: not linked or not read; the PSA column stays empty. */
  lines: BilledLine[] | null;
  /** Product names by SKU id (lower case), for display; undefined when none is known. */
  productName: (skuId: string, skuPartNumber: string | null) => string | undefined;
}): ReconciliationRow[] {
  const { counts, mappings, lines } = input;
  const bySource = new Map(mappings.map((m) => [m.sourceKey, m]));
  const rows = new Map<string, ReconciliationRow>();
  const partNumber = new Map(counts.skus.map((s) => [s.skuId, s.skuPartNumber]));
  const assigned = new Map(counts.skus.map((s) => [s.skuId, s.assigned]));

  const purchased = new Map<string, number>();
  const add = (key: string, n: number) => purchased.set(key, (purchased.get(key) ?? 0) + n);
  /** Per SKU: the seats of its terms mapped apart, which its whole row must not bill again. */
  const mappedApart = new Map<string, number>();
  for (const s of counts.subscriptions) {
    const termKey = sourceKey({ kind: 'sku', skuId: s.skuId, term: termOf(s.term) });
    // A term mapped on its own takes its seats; the whole SKU's row counts the rest.
    if (s.term && bySource.has(termKey)) {
      add(termKey, s.quantity);
      mappedApart.set(s.skuId, (mappedApart.get(s.skuId) ?? 0) + s.quantity);
    } else add(sourceKey({ kind: 'sku', skuId: s.skuId }), s.quantity);
  }
  // Assigned seats are per SKU and say nothing of their term: the terms billed apart take
  // their purchased seats out of them, so no seat is billed on two mappings.
  const assignedRest = (skuId: string) =>
    Math.max(0, (assigned.get(skuId) ?? 0) - (mappedApart.get(skuId) ?? 0));

  // Unnamed and uncounted (a product Microsoft no longer has): the PSA's name says what it is.
  const skuRow = (key: string, skuId: string, term: boolean, psaName?: string) => {
    const part = partNumber.get(skuId) ?? null;
    const name = input.productName(skuId, part) ?? part ?? psaName ?? skuId;
    return emptyRow(key, name, skuId, part, {
      microsoftPurchased: purchased.get(key) ?? 0,
      // Assigned seats are per SKU: a term's row cannot say how many of them are its own.
      microsoftAssigned: term ? null : assignedRest(skuId),
    });
  };
  for (const sku of counts.skus) {
    const key = sourceKey({ kind: 'sku', skuId: sku.skuId });
    rows.set(key, skuRow(key, sku.skuId, false));
  }
  for (const key of purchased.keys()) {
    if (rows.has(key)) continue;
    const source = parseSourceKey(key);
    if (source?.kind === 'sku') rows.set(key, skuRow(key, source.skuId, Boolean(source.term)));
  }
  for (const c of counts.custom) {
    const key = sourceKey({ kind: 'custom', definitionId: c.definitionId });
    rows.set(key, emptyRow(key, c.name, null, null, { customCount: c.quantity }));
  }
  // Mapped products Microsoft no longer has, if the PSA still bills them.
  for (const m of mappings) {
    if (rows.has(m.sourceKey) || !lines) continue;
    if (!lines.some((l) => l.productId === m.psaProductId && !l.cancelled)) continue;
    const source = parseSourceKey(m.sourceKey);
    if (!source) continue;
    const row =
      source.kind === 'sku'
        ? skuRow(m.sourceKey, source.skuId, Boolean(source.term), m.psaProductName)
        : emptyRow(m.sourceKey, m.psaProductName, null, null, { customCount: 0 });
    rows.set(m.sourceKey, row);
  }

  for (const row of rows.values()) {
    const mapping = bySource.get(row.sourceKey) ?? null;
    row.mapping = mapping;
    if (!mapping || !lines) continue;
    const billing = lines.filter((l) => l.productId === mapping.psaProductId && !l.cancelled);
    row.psaLineCount = billing.length;
    row.psaBilled = billing.reduce((sum, l) => sum + l.quantity, 0);
    // No line (or only cancelled ones, whose history stays as it is): a new line is added.
    row.psaLineId = billing.length === 1 ? billing[0]!.id : null;
    const wanted = billedCount(row, mapping.countBasis);
    row.difference = wanted === null ? null : wanted - row.psaBilled;
  }
  return [...rows.values()].sort((a, b) => a.productName.localeCompare(b.productName));
}

function emptyRow(
  key: string,
  productName: string,
  skuId: string | null,
  skuPartNumber: string | null,
  counts: Partial<
    Pick<ReconciliationRow, 'microsoftPurchased' | 'microsoftAssigned' | 'customCount'>
  >,
): ReconciliationRow {
  return {
    sourceKey: key,
    productName,
    skuId,
    skuPartNumber,
    mapping: null,
    microsoftPurchased: counts.microsoftPurchased ?? null,
    microsoftAssigned: counts.microsoftAssigned ?? null,
    customCount: counts.customCount ?? null,
    psaBilled: null,
    psaLineId: null,
    psaLineCount: 0,
    difference: null,
  };
}

/** The Microsoft count a mapping bills for this row; null when it is not known. */
function billedCount(row: ReconciliationRow, basis: CountBasis): number | null {
  if (basis === 'purchased') return row.microsoftPurchased;
  if (basis === 'assigned') return row.microsoftAssigned;
  return row.customCount;
}

export interface PlannedChange {
  sourceKey: string;
  productName: string;
  action: SyncAction;
  psaProductId: string;
  psaLineId: string | null;
  before: number;
  target: number;
  applyMode: ApplyMode;
}

/** A row the plan leaves alone, and why, so the page can say it. */
export interface SkippedRow {
  sourceKey: string;
  productName: string;
  reason: string;
}

/**
 * The changes that make the PSA bill what each mapping says: set a quantity (adding the line
 * when there is none), or cancel a line whose product Microsoft no longer counts. Rows whose
 * count is unknown, or billed on several lines, are skipped with a reason rather than guessed.
 */
export function planCompany(rows: ReconciliationRow[]): {
  changes: PlannedChange[];
  skipped: SkippedRow[];
} {
  const changes: PlannedChange[] = [];
  const skipped: SkippedRow[] = [];
  for (const row of rows) {
    const mapping = row.mapping;
    if (!mapping || row.psaBilled === null || row.difference === null) {
      if (mapping && row.psaBilled !== null)
        skipped.push({
          sourceKey: row.sourceKey,
          productName: row.productName,
          reason: 'Microsoft’s count is not known (the last count failed).',
        });
      continue;
    }
    if (row.difference === 0) continue;
    if (row.psaLineCount > 1) {
      skipped.push({
        sourceKey: row.sourceKey,
        productName: row.productName,
        reason: `The PSA bills ${mapping.psaProductName} on ${row.psaLineCount} lines; keep one.`,
      });
      continue;
    }
    const target = row.psaBilled + row.difference;
    changes.push({
      sourceKey: row.sourceKey,
      productName: row.productName,
      action: target === 0 && row.psaLineCount === 1 ? 'cancel' : 'set_quantity',
      psaProductId: mapping.psaProductId,
      psaLineId: row.psaLineId,
      before: row.psaBilled,
      target,
      applyMode: mapping.applyMode,
    });
  }
  return { changes, skipped };
}

/**
 * The effective date of a change planned at `now` (UTC), as YYYY-MM-DD. A PSA that prorates
 * every change inside a period (`prorationByDate`: Autotask, which has no flag to turn it off)
 * bills without proration only when the change starts a period: there, `none` moves the date
 * to the first day of the next month. The other PSAs take a flag and keep the date.
 */
export function effectiveDate(
  policy: EffectiveDatePolicy,
  now: Date,
  proration: { policy: ProrationPolicy; prorationByDate: boolean } = {
    policy: 'prorate',
    prorationByDate: false,
  },
): string {
  const firstOfNextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
    .toISOString()
    .slice(0, 10);
  if (policy === 'next_month') return firstOfNextMonth;
  const today = now.toISOString().slice(0, 10);
  const startsPeriod = now.getUTCDate() === 1;
  if (proration.prorationByDate && proration.policy === 'none' && !startsPeriod)
    return firstOfNextMonth;
  return today;
}
