import { Router } from 'express';
import { z } from 'zod';
import { parseSourceKey } from '../../domain/billing.js';
import { countsInBilledTotals, skuProduct, type SkuPricing } from '../../domain/sku-names.js';
import type { Services } from '../../dependencies.js';
import { jobIds } from '../../queue/catalog.js';
import type { JobQueues } from '../../queue/job-queues.js';
import { enqueueApply } from '../../services/billing-reconciliation.js';
import type { LedgerRecord, StoredReconciliationRow, SyncChange } from '../../store/psa-sync.js';
import { toCsv, wantsCsv } from '../csv.js';
import { HttpError } from '../http-error.js';
import { parseOr400 } from '../validation.js';
import { partnerOr404 } from './partners.js';
import { companyOr404 } from './psa.js';

const flag = z
  .enum(['true', 'false'])
  .optional()
  .transform((v) => v === 'true');
const reconciliationQuery = z
  .object({ differences: flag, unmapped: flag, companyId: z.uuid().optional() })
  .strict();

export interface ReconciliationView {
  companyId: string;
  companyName: string;
  customerTenantId: string | null;
  product:
    | {
        name: string;
        skuId: string;
        skuPartNumber: string | null;
        term: string | null;
        pricing: SkuPricing;
      }
    | { name: string; customLicenseId: string };
  /** Whether the row's seats count in billed totals (free and trial SKUs: the partner's choice). */
  inBilledTotals: boolean;
  microsoftPurchased: number | null;
  microsoftAssigned: number | null;
  customCount: number | null;
  psaBilled: number | null;
  difference: number | null;
  differenceSince: Date | null;
  mapped: boolean;
  checkedAt: Date;
}

/** The partner's reconciliation rows as the API and the page show them, filtered. */
export async function reconciliationView(
  services: Services,
  partnerId: string,
  filter: { differences?: boolean; unmapped?: boolean; companyId?: string | undefined },
): Promise<ReconciliationView[]> {
  const [rows, companies, links, partner] = await Promise.all([
    services.psaSync.reconciliation(partnerId),
    services.partners.companies(partnerId),
    services.psaConnections.links(partnerId),
    services.partners.get(partnerId),
  ]);
  const includeFreeSkus = partner?.includeFreeSkusInTotals ?? false;
  const companyOf = new Map(companies.map((c) => [c.id, c]));
  const linked = new Set(links.map((l) => l.companyId));
  return rows
    .filter((r) => !filter.companyId || r.companyId === filter.companyId)
    .map((r) => view(r, companyOf.get(r.companyId), linked.has(r.companyId), includeFreeSkus))
    .filter(
      (r) => (!filter.differences || Boolean(r.difference)) && (!filter.unmapped || !r.mapped),
    )
    .sort(
      (a, b) =>
        a.companyName.localeCompare(b.companyName) || a.product.name.localeCompare(b.product.name),
    );
}

function view(
  r: StoredReconciliationRow,
  company: { name: string; customerTenantId: string | null } | undefined,
  linked: boolean,
  includeFreeSkus: boolean,
): ReconciliationView {
  const source = parseSourceKey(r.sourceKey);
  const pricing = r.skuId ? skuProduct(r.skuId, r.skuPartNumber).pricing : 'paid';
  return {
    companyId: r.companyId,
    companyName: company?.name ?? '',
    customerTenantId: company?.customerTenantId ?? null,
    product:
      source?.kind === 'custom'
        ? { name: r.productName, customLicenseId: source.definitionId }
        : {
            name: r.productName,
            skuId: r.skuId ?? '',
            skuPartNumber: r.skuPartNumber,
            term: source?.kind === 'sku' ? (source.term ?? null) : null,
            pricing,
          },
    inBilledTotals: countsInBilledTotals(pricing, includeFreeSkus),
    microsoftPurchased: r.microsoftPurchased,
    microsoftAssigned: r.microsoftAssigned,
    customCount: r.customCount,
    psaBilled: r.psaBilled,
    difference: r.difference,
    differenceSince: r.differenceSince,
    mapped: linked && r.mappingId !== null,
    checkedAt: r.checkedAt,
  };
}

const sum = (values: (number | null)[]) => values.reduce<number>((s, v) => s + (v ?? 0), 0);

/** Row counts over every row; seat sums over the rows counted in billed totals. */
export function reconciliationTotals(rows: ReconciliationView[]) {
  const billed = rows.filter((r) => r.inBilledTotals);
  return {
    rows: rows.length,
    microsoftPurchased: sum(billed.map((r) => r.microsoftPurchased)),
    microsoftAssigned: sum(billed.map((r) => r.microsoftAssigned)),
    psaBilled: sum(billed.map((r) => r.psaBilled)),
    difference: sum(billed.map((r) => r.difference)),
    differences: rows.filter((r) => r.difference).length,
    unmapped: rows.filter((r) => !r.mapped).length,
  };
}

/** RFC 4180 CSV of the rows, with product names, tenant ids and ISO 8601 dates. */
export function reconciliationCsv(rows: ReconciliationView[]): string {
  return toCsv(
    rows.map((r) => ({
      company: r.companyName,
      company_id: r.companyId,
      customer_tenant_id: r.customerTenantId ?? '',
      product: r.product.name,
      sku_id: 'skuId' in r.product ? r.product.skuId : '',
      sku_part_number: 'skuId' in r.product ? (r.product.skuPartNumber ?? '') : '',
      term: 'skuId' in r.product ? (r.product.term ?? '') : '',
      pricing: 'skuId' in r.product ? r.product.pricing : '',
      in_billed_totals: r.inBilledTotals ? 'yes' : 'no',
      custom_license_id: 'customLicenseId' in r.product ? r.product.customLicenseId : '',
      microsoft_purchased: r.microsoftPurchased ?? '',
      microsoft_assigned: r.microsoftAssigned ?? '',
      custom_count: r.customCount ?? '',
      psa_billed: r.psaBilled ?? '',
      difference: r.difference ?? '',
      difference_since: r.differenceSince?.toISOString() ?? '',
      mapped: r.mapped,
      checked_at: r.checkedAt.toISOString(),
    })),
  );
}

const changeView = (c: SyncChange) => ({
  id: c.id,
  companyId: c.companyId,
  product: c.productName,
  action: c.action,
  containerId: c.containerId,
  psaLineId: c.psaLineId,
  before: c.before,
  target: c.target,
  effectiveDate: c.effectiveDate,
  proration: c.proration,
  status: c.status,
  approvedBy: c.approvedBy,
  approvedAt: c.approvedAt,
  error: c.error,
  createdAt: c.createdAt,
});

/**
 * A ledger entry: `before` and `after` are the PSA's quantity read just before the write and
 * the one it bills after. `alreadyApplied`: the PSA already billed `after` (a retry after a
 * crash, or a change made in the PSA), nothing was sent, so `before` equals `after`;
 * `plannedBefore` is then what it moved from, as the plan read it (null once its change is gone).
 */
const ledgerView = (e: LedgerRecord) => ({
  id: e.id,
  companyId: e.companyId,
  changeId: e.changeId,
  psa: e.psaKind,
  product: e.productName,
  action: e.action,
  containerId: e.containerId,
  psaLineId: e.psaLineId,
  before: e.before,
  after: e.after,
  effectiveDate: e.effectiveDate,
  /** prorate | none; null for writes made before it was recorded. */
  proration: e.proration,
  psaResponseId: e.psaResponseId,
  alreadyApplied: e.alreadyApplied,
  plannedBefore: e.plannedBefore,
  approvedBy: e.approvedBy,
  appliedAt: e.appliedAt,
});

/** Reconciliation, the sync plan (a dry run until approved), approval, and the ledger. */
export function billingRouter(services: Services, queues: JobQueues, actor: string): Router {
  const router = Router();

  router.get('/partners/:id/reconciliation', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const filter = parseOr400(
      reconciliationQuery.extend({ format: z.literal('csv').optional() }),
      req.query,
    );
    const rows = await reconciliationView(services, partner.id, filter);
    if (wantsCsv(req)) {
      res
        .type('text/csv; charset=utf-8')
        .attachment(`reconciliation-${partner.id}.csv`)
        .send(reconciliationCsv(rows));
      return;
    }
    res.json({ rows, totals: reconciliationTotals(rows) });
  });

  router.post('/partners/:id/reconciliation', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    if (!(await services.psaConnections.get(partner.id)))
      throw new HttpError(409, 'no_psa_connection', 'This partner has no PSA connection yet.');
    const job = await queues.enqueue(
      'reconcileBilling',
      { partnerId: partner.id },
      { jobId: jobIds.reconcileBilling(partner.id, `request-${Date.now()}`) },
    );
    res.status(202).json({ jobId: job.id });
  });

  router.get('/partners/:id/billing-sync/plan', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const changes = await services.psaSync.changes(partner.id, [
      'planned',
      'approved',
      'applying',
      'failed',
    ]);
    res.json({ changes: changes.map(changeView) });
  });

  router.post('/partners/:id/billing-sync/approve', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const body = parseOr400(
      z.object({ changeIds: z.array(z.uuid()).min(1).max(10_000).optional() }).strict(),
      req.body ?? {},
    );
    const approved = await services.psaSync.approve(partner.id, actor, body.changeIds);
    for (const companyId of new Set(approved.map((c) => c.companyId)))
      await enqueueApply({ queues, partners: services.partners }, partner.id, companyId);
    res.status(202).json({ approved: approved.map(changeView) });
  });

  router.get('/partners/:id/billing-sync/ledger', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const { companyId } = parseOr400(
      z.object({ companyId: z.uuid().optional() }).strict(),
      req.query,
    );
    if (companyId) await companyOr404(services, partner.id, companyId);
    const entries = await services.psaSync.ledger(partner.id, companyId);
    res.json({ entries: entries.map(ledgerView) });
  });

  return router;
}
