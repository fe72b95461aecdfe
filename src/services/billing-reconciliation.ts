import {
  effectiveDate,
  planCompany,
  reconcileCompany,
  type MicrosoftCounts,
  type SkippedRow,
} from '../domain/billing.js';
import { skuProduct } from '../domain/sku-names.js';
import type { PsaClient } from '../psa/client.js';
import type { CustomLicenseStore } from '../store/custom-licenses.js';
import type { CustomerSubscriptionStore } from '../store/customer-subscriptions.js';
import type { Company, PartnerStore } from '../store/partners.js';
import type { PsaConnectionView } from '../store/psa-connections.js';
import type { PsaSyncStore } from '../store/psa-sync.js';
import type { RefreshRunStore } from '../store/refresh-runs.js';
import type { JobQueues } from '../queue/job-queues.js';
import { deduplicationKeys, jobIds } from '../queue/catalog.js';
import { psaClientFor, type PsaDeps } from './psa-connections.js';
import { enqueueAlertDeliveries } from './alert-delivery.js';

export interface ReconciliationDeps extends PsaDeps {
  partners: PartnerStore;
  runs: RefreshRunStore;
  subscriptions: CustomerSubscriptionStore;
  customLicenses: CustomLicenseStore;
  psaSync: PsaSyncStore;
  queues: JobQueues;
}

/** Each company's Microsoft counts as the latest refresh left them, with product names. */
export async function microsoftCounts(
  deps: Pick<ReconciliationDeps, 'runs' | 'subscriptions' | 'customLicenses'>,
  companies: Company[],
): Promise<Map<string, { counts: MicrosoftCounts; names: Map<string, string> }>> {
  const ids = companies.map((c) => c.id);
  const [snapshots, subscriptions, custom] = await Promise.all([
    deps.runs.latestLicenses(ids),
    deps.subscriptions.forCompanies(ids),
    deps.customLicenses.latestCounts(ids),
  ]);
  const byCompany = new Map<string, { counts: MicrosoftCounts; names: Map<string, string> }>();
  for (const company of companies) {
    const tenant = company.customerTenantId;
    const subs = tenant ? (subscriptions.get(tenant) ?? []) : [];
    const own = snapshots.filter((s) => s.companyId === company.id);
    // Microsoft's product name when its SKU reference lists the SKU, else the offer's name.
    const names = new Map<string, string>();
    for (const s of subs) if (s.skuId && s.offerName) names.set(s.skuId.toLowerCase(), s.offerName);
    const skus = [
      ...own.map((s) => ({ skuId: s.skuId, part: s.skuPartNumber })),
      ...subs.flatMap((s) => (s.skuId ? [{ skuId: s.skuId, part: null }] : [])),
    ];
    for (const { skuId, part } of skus) {
      const product = skuProduct(skuId, part);
      if (product.known) names.set(skuId.toLowerCase(), product.productName);
    }
    byCompany.set(company.id, {
      names,
      counts: {
        skus: own.map((s) => ({
          skuId: s.skuId.toLowerCase(),
          skuPartNumber: s.skuPartNumber,
          assigned: s.consumedUnits,
        })),
        subscriptions: subs
          .filter((s) => s.status === 'active' && s.skuId)
          .map((s) => ({
            skuId: s.skuId!.toLowerCase(),
            term: s.termDuration,
            quantity: s.quantity,
          })),
        custom: custom
          .filter((c) => c.companyId === company.id)
          .map((c) => ({
            definitionId: c.definitionId,
            name: c.name,
            // A failed count bills the last one that worked, as the companies page shows it.
            quantity: c.state === 'counted' ? c.quantity : (c.lastCounted?.quantity ?? null),
          })),
      },
    });
  }
  return byCompany;
}

export interface CompanyReconciliation {
  rows: number;
  differences: number;
  /** Changes planned (and approved at once, for mappings applied automatically). */
  planned: number;
  approvedAutomatically: number;
  skipped: SkippedRow[];
}

/**
 * Reconciles one company: its Microsoft counts beside the lines its PSA company is billed
 * on, saved as rows; then, when it is linked to a billing container, the changes that would
 * make the PSA bill what the mappings say replace its planned ones. Changes of mappings
 * applied automatically are approved at once and their company's apply job is queued.
 */
export async function reconcileCompanyBilling(
  deps: ReconciliationDeps,
  partnerId: string,
  companyId: string,
  opened?: { connection: PsaConnectionView; client: PsaClient },
): Promise<CompanyReconciliation | undefined> {
  const company = await deps.partners.company(partnerId, companyId);
  if (!company) return undefined;
  const found = opened ?? (await psaClientFor(deps, partnerId));
  const [linked, mappings, counted] = await Promise.all([
    deps.psaConnections.linkOf(partnerId, companyId),
    deps.psaConnections.mappings(partnerId),
    microsoftCounts(deps, [company]),
  ]);
  const link = found ? linked : undefined;
  const { counts, names } = counted.get(companyId)!;
  // A change planned now applies from this day; the PSA is read as it bills from then, so a
  // change already made for a later period (no proration in Autotask) is not planned again.
  const effective = found
    ? effectiveDate(found.connection.effectiveDatePolicy, new Date(), {
        policy: found.connection.proration,
        prorationByDate: found.client.prorationByDate,
      })
    : undefined;
  let lines = null;
  if (link && found) {
    const all = await found.client.listLines(link.psaCompanyId, effective);
    lines = all.filter((l) => !link.containerId || l.containerId === link.containerId);
  }
  const rows = reconcileCompany({
    counts,
    mappings: mappings,
    lines,
    productName: (skuId) => names.get(skuId),
  });
  await enqueueAlertDeliveries(
    deps.queues,
    await deps.psaSync.saveReconciliation(partnerId, companyId, rows, lines !== null),
  );
  const summary: CompanyReconciliation = {
    rows: rows.length,
    differences: rows.filter((r) => r.difference).length,
    planned: 0,
    approvedAutomatically: 0,
    skipped: [],
  };
  if (!found || !link?.containerId || found.connection.status === 'broken') return summary;
  const plan = planCompany(rows);
  summary.skipped = plan.skipped;
  const changes = await deps.psaSync.replacePlan(partnerId, companyId, {
    changes: plan.changes,
    containerId: link.containerId,
    effectiveDate: effective!,
    proration: found.connection.proration,
  });
  summary.planned = changes.length;
  const automatic = new Set(
    plan.changes.filter((c) => c.applyMode === 'automatic').map((c) => c.sourceKey),
  );
  const approve = changes.filter((c) => automatic.has(c.sourceKey)).map((c) => c.id);
  if (approve.length > 0) {
    const approved = await deps.psaSync.approve(partnerId, 'automatic', approve);
    summary.approvedAutomatically = approved.length;
    await enqueueApply(deps, partnerId, companyId, company.name);
  }
  return summary;
}

/** Queues the company's apply job (one per company at a time), named with the company. */
export async function enqueueApply(
  deps: Pick<ReconciliationDeps, 'queues' | 'partners'>,
  partnerId: string,
  companyId: string,
  companyName?: string,
): Promise<void> {
  const label = companyName ?? (await deps.partners.company(partnerId, companyId))?.name;
  await deps.queues.enqueue(
    'applyCompanyBilling',
    { partnerId, companyId },
    {
      jobId: jobIds.applyCompanyBilling(companyId, String(Date.now())),
      deduplicationKey: deduplicationKeys.applyCompanyBilling(companyId),
      label,
    },
  );
}

/**
 * Queues the reconciliation of completed runs not yet queued: `runId`'s (by the job that
 * completed it), or all (the reconciler, for what a crash in between missed). The job id is
 * the run's, so the two meeting queue it once; the run is marked queued after, never before.
 */
export async function queueRunReconciliations(
  deps: Pick<ReconciliationDeps, 'psaSync' | 'queues'>,
  runId?: string,
): Promise<number> {
  const runs = await deps.psaSync.runsAwaitingReconciliation(runId);
  for (const run of runs) {
    await deps.queues.enqueue(
      'reconcileBilling',
      { partnerId: run.partnerId, runId: run.runId },
      { jobId: jobIds.reconcileBilling(run.partnerId, run.runId) },
    );
    await deps.psaSync.markReconciliationQueued(run.runId);
  }
  return runs.length;
}

/**
 * Reconciles every company of the partner: those not linked at once (no PSA call), the
 * linked ones in one job each, spread over time at the PSA's pace so a big partner's backlog
 * waits in the delayed set rather than in worker slots other partners need.
 */
export async function startBillingReconciliation(
  deps: ReconciliationDeps,
  partnerId: string,
  key: string,
): Promise<{ linked: number; unlinked: number }> {
  const [companies, links] = await Promise.all([
    deps.partners.companies(partnerId),
    deps.psaConnections.links(partnerId),
  ]);
  const linked = new Set(links.map((l) => l.companyId));
  let unlinked = 0;
  for (const company of companies) {
    if (linked.has(company.id)) continue;
    await reconcileCompanyBilling(deps, partnerId, company.id);
    unlinked += 1;
  }
  const connection = await deps.psaConnections.get(partnerId);
  const spacingMs = connection ? deps.psaPacing.spacingMs(connection.kind) : 0;
  const jobs = companies
    .filter((c) => linked.has(c.id))
    .map((c, i) => ({
      payload: { partnerId, companyId: c.id },
      jobId: jobIds.reconcileCompanyBilling(c.id, key),
      label: c.name,
      // About four PSA calls per company (lines, their units or details, pages).
      delay: Math.round(i * 4 * spacingMs),
    }));
  if (jobs.length > 0) await deps.queues.enqueueBulk('reconcileCompanyBilling', jobs);
  return { linked: jobs.length, unlinked };
}

/** How far a reconciliation asked for by hand has got. */
export interface ReconciliationProgress {
  /** The partner's job and every company job it queued have ended. */
  finished: boolean;
  /** Company jobs ended, of those queued (0 of 0 until the partner's job has queued them). */
  companiesDone: number;
  companies: number;
}

/**
 * Follows the reconciliation queued as `jobIds.reconcileBilling(partnerId, key)`: its company
 * jobs carry that job's id as their key. A job no longer kept (retention) counts as ended.
 */
export async function reconciliationProgress(
  deps: Pick<ReconciliationDeps, 'queues' | 'psaConnections'>,
  partnerId: string,
  key: string,
): Promise<ReconciliationProgress> {
  const queue = deps.queues.get('billing');
  const parentId = jobIds.reconcileBilling(partnerId, key);
  const parent = await queue.getJob(parentId);
  const ended = async (job: Awaited<ReturnType<typeof queue.getJob>>) =>
    !job || ['completed', 'failed'].includes(await job.getState());
  if (!(await ended(parent))) return { finished: false, companiesDone: 0, companies: 0 };
  const links = await deps.psaConnections.links(partnerId);
  const states = await Promise.all(
    links.map(async (l) =>
      ended(await queue.getJob(jobIds.reconcileCompanyBilling(l.companyId, parentId))),
    ),
  );
  const companiesDone = states.filter(Boolean).length;
  return { finished: companiesDone === states.length, companiesDone, companies: states.length };
}
