import { Router } from 'express';
import {
  companyFilters,
  companySorts,
  parseCompanyQuery,
  selectCompanies,
  staleness,
  type CompanyQuery,
} from '../../domain/companies.js';
import { countsInBilledTotals, skuProduct, type SkuPricing } from '../../domain/sku-names.js';
import type { Services } from '../../dependencies.js';
import { toCsv, wantsCsv } from '../csv.js';
import { HttpError } from '../http-error.js';
import { companyView, partnerOr404, patchCompany } from './partners.js';
import { companyOr404 } from './psa.js';

/** Rows grouped by their company, in their order. */
function byCompany<T extends { companyId: string | null }>(rows: T[]): Map<string, T[]> {
  const grouped = new Map<string, T[]>();
  for (const row of rows) {
    if (row.companyId === null) continue;
    const list = grouped.get(row.companyId);
    if (list) list.push(row);
    else grouped.set(row.companyId, [row]);
  }
  return grouped;
}

/**
 * Each company (or the one asked for) with its latest licenses and custom-license counts, its
 * result in the latest run, its GDAP access, whether its counts are stale, and what the
 * listing found.
 */
export async function companiesOverview(
  services: Services,
  partnerId: string,
  only?: { companyId: string },
) {
  const [all, partner, run, lastCompleted, access] = await Promise.all([
    services.partners.companies(partnerId),
    services.partners.get(partnerId),
    services.runs.latest(partnerId),
    services.runs.latestCompleted(partnerId),
    services.access.forPartner(partnerId),
  ]);
  const companies = only ? all.filter((c) => c.id === only.companyId) : all;
  const includeFreeSkus = partner?.includeFreeSkusInTotals ?? false;
  const ids = companies.map((c) => c.id);
  const [snapshots, counts, subscriptions, results] = await Promise.all([
    services.runs.latestLicenses(ids),
    services.customLicenses.latestCounts(ids),
    services.subscriptions.forCompanies(ids),
    run ? services.runs.resultsOf(run.id) : Promise.resolve([]),
  ]);
  const resultOf = new Map(results.map((r) => [r.customerTenantId, r]));
  // Each company's rows, read once: a large partner's page must not scan them per company.
  const snapshotsOf = byCompany(snapshots);
  const countsOf = byCompany(counts);
  const accessOf = new Map(access.map((a) => [a.customerTenantId, a]));
  const listed = companies.map((c) => {
    const own = snapshotsOf.get(c.id) ?? [];
    const terms = (c.customerTenantId && subscriptions.get(c.customerTenantId)) || [];
    const licenses = own.map((s) => {
      const product = skuProduct(s.skuId, s.skuPartNumber);
      return {
        skuId: s.skuId,
        skuPartNumber: s.skuPartNumber,
        productName: product.productName,
        /** paid, free or trial (free and trial seats stay out of billed totals by default). */
        pricing: product.pricing,
        inBilledTotals: countsInBilledTotals(product.pricing, includeFreeSkus),
        activeUnits: s.activeUnits,
        consumedUnits: s.consumedUnits,
        availableUnits: s.activeUnits + s.warningUnits - s.consumedUnits,
        suspendedUnits: s.suspendedUnits,
        billedQuantity: s.billedQuantity,
        /** The subscriptions of this SKU with their terms, as the latest refresh listed them. */
        subscriptions: terms
          .filter((t) => t.skuId === s.skuId)
          .map((t) => ({
            subscriptionId: t.subscriptionId,
            offerId: t.offerId,
            offerName: t.offerName,
            productType: t.productType,
            quantity: t.quantity,
            status: t.status,
            termDuration: t.termDuration,
            billingCycle: t.billingCycle,
            commitmentEndDate: t.commitmentEndDate,
            cancellationAllowedUntilDate: t.cancellationAllowedUntilDate,
            autoRenewEnabled: t.autoRenewEnabled,
            isTrial: t.isTrial,
          })),
      };
    });
    const result = c.customerTenantId ? resultOf.get(c.customerTenantId) : undefined;
    const gdap = c.customerTenantId ? accessOf.get(c.customerTenantId) : undefined;
    const refreshedAt = own[0]?.capturedAt ?? null;
    const customLicenses = (countsOf.get(c.id) ?? []).map((n) => ({
      definitionId: n.definitionId,
      name: n.name,
      kind: n.kind,
      state: n.state,
      quantity: n.quantity,
      message: n.message,
      countedAt: n.countedAt,
      /** The last quantity that did count, when the latest did not. */
      lastCounted: n.state === 'counted' ? null : n.lastCounted,
    }));
    const stale = staleness({
      countsAt: refreshedAt,
      lastCompletedRunStartedAt: lastCompleted?.startedAt ?? null,
      latestResult: result ?? null,
    });
    return {
      ...companyView(c),
      licensesRefreshedAt: refreshedAt,
      /** Whether the counts are older than the last completed run, or its run failed here. */
      stale: stale.stale,
      /** Why they are stale, in a sentence; null when they are not. */
      staleReason: stale.reason,
      /** The company's outcome in the partner's latest run; null when that run skipped it. */
      lastRun:
        run && result
          ? {
              runId: run.id,
              runStartedAt: run.startedAt,
              status: result.status,
              attempts: result.attempts,
              errorCode: result.errorCode,
              errorMessage: result.errorMessage,
              finishedAt: result.finishedAt,
            }
          : null,
      /** GDAP access as last read; null when never read. */
      access: gdap
        ? {
            state: gdap.state,
            reason: gdap.reason,
            appConsent: gdap.appConsent,
            relationships: gdap.relationships,
            checkedAt: gdap.checkedAt,
          }
        : null,
      licenses,
      /** Seats of the licenses counted in billed totals. */
      totals: seatTotals(licenses),
      /** Purchased seats nobody is assigned, of the licenses counted in billed totals. */
      unassignedSeats: licenses
        .filter((l) => l.inBilledTotals)
        .reduce((sum, l) => sum + Math.max(0, l.activeUnits - l.consumedUnits), 0),
      customLicenses,
    };
  });
  return {
    /** Whether free and trial SKUs' seats are in the totals (the partner's choice). */
    includeFreeSkusInTotals: includeFreeSkus,
    /** Seats across the companies still visible in Partner Center, billed licenses only. */
    totals: seatTotals(
      listed.filter((c) => c.visibility !== 'not_visible').flatMap((c) => c.licenses),
    ),
    /** Seats per product across the companies still visible in Partner Center. */
    productTotals: productTotals(
      listed.filter((c) => c.visibility !== 'not_visible').flatMap((c) => c.licenses),
    ),
    /** The latest run that completed; counts read before it started are stale. */
    lastCompletedRun: lastCompleted
      ? { id: lastCompleted.id, startedAt: lastCompleted.startedAt }
      : null,
    /** Partner Center customers the latest refresh found with no company here. */
    customersNotYetAdded: run?.notYetAdded ?? [],
    companies: listed,
  };
}

/** Seats of the licenses counted in billed totals (free and trial SKUs only if chosen). */
function seatTotals(
  licenses: { inBilledTotals: boolean; billedQuantity: number; consumedUnits: number }[],
) {
  const counted = licenses.filter((l) => l.inBilledTotals);
  return {
    billedQuantity: counted.reduce((sum, l) => sum + l.billedQuantity, 0),
    consumedUnits: counted.reduce((sum, l) => sum + l.consumedUnits, 0),
  };
}

/** Each product's seats summed over the companies' licenses, most billed first. */
function productTotals(
  licenses: {
    skuId: string;
    skuPartNumber: string;
    productName: string;
    pricing: SkuPricing;
    inBilledTotals: boolean;
    activeUnits: number;
    consumedUnits: number;
    billedQuantity: number;
  }[],
) {
  const bySku = new Map<
    string,
    {
      skuId: string;
      skuPartNumber: string;
      productName: string;
      pricing: SkuPricing;
      inBilledTotals: boolean;
      companies: number;
      purchased: number;
      assigned: number;
      billed: number;
    }
  >();
  for (const l of licenses) {
    const entry = bySku.get(l.skuId) ?? {
      skuId: l.skuId,
      skuPartNumber: l.skuPartNumber,
      productName: l.productName,
      pricing: l.pricing,
      inBilledTotals: l.inBilledTotals,
      companies: 0,
      purchased: 0,
      assigned: 0,
      billed: 0,
    };
    entry.companies += 1;
    entry.purchased += l.activeUnits;
    entry.assigned += l.consumedUnits;
    entry.billed += l.billedQuantity;
    bySku.set(l.skuId, entry);
  }
  return [...bySku.values()].sort(
    (a, b) => b.billed - a.billed || a.productName.localeCompare(b.productName),
  );
}

/** The overview with its companies narrowed and ordered as the query asks. */
export async function companiesView(services: Services, partnerId: string, query: CompanyQuery) {
  const overview = await companiesOverview(services, partnerId);
  const facts = overview.companies.map((c) => ({
    ...c,
    latestResult: c.lastRun,
    accessState: c.access?.state ?? null,
    customLicensesFailed: c.customLicenses.filter((n) => n.state !== 'counted').length,
    billed: c.totals.billedQuantity,
    unassigned: c.unassignedSeats,
    refreshedAt: c.licensesRefreshedAt,
  }));
  const selected = selectCompanies(facts, query).map(
    ({
      latestResult: _r,
      accessState: _a,
      customLicensesFailed: _f,
      billed: _b,
      unassigned: _u,
      refreshedAt: _t,
      ...c
    }) => c,
  );
  return {
    ...overview,
    query: { search: query.search, filters: query.filters, sort: query.sort },
    /** Companies before the search and filters. */
    companiesInAll: overview.companies.length,
    companies: selected,
  };
}

/**
 * RFC 4180 CSV of the listed companies: one row per company and product (a company without
 * licenses gets one row with no product), ISO 8601 dates.
 */
export function companiesCsv(companies: Awaited<ReturnType<typeof companiesView>>['companies']) {
  return toCsv(
    companies.flatMap((c): Record<string, string | number | boolean>[] => {
      const common = {
        company: c.name,
        company_id: c.id,
        customer_tenant_id: c.customerTenantId ?? '',
      };
      const status = {
        stale: c.stale ? 'true' : 'false',
        stale_reason: c.staleReason ?? '',
        as_of: c.licensesRefreshedAt?.toISOString() ?? '',
      };
      if (c.licenses.length === 0)
        return [
          {
            ...common,
            product: '',
            sku_part_number: '',
            sku_id: '',
            pricing: '',
            purchased: '',
            assigned: '',
            billed: '',
            ...status,
          },
        ];
      return c.licenses.map((l) => ({
        ...common,
        product: l.productName,
        sku_part_number: l.skuPartNumber,
        sku_id: l.skuId,
        pricing: l.pricing,
        purchased: l.activeUnits,
        assigned: l.consumedUnits,
        billed: l.billedQuantity,
        ...status,
      }));
    }),
  );
}

/** The sentence naming query values that are no filter or sort. */
const unknownQuerySentence = (unknown: string[]) =>
  `Unknown ${unknown.join(', ')}: filters are ${companyFilters.join(', ')}; sorts are ${companySorts.join(', ')}.`;

/** One company as the listing shows it. */
async function companyEntry(services: Services, partnerId: string, companyId: string) {
  const { companies } = await companiesOverview(services, partnerId, { companyId });
  if (!companies[0]) throw new HttpError(404, 'not_found', `No company ${companyId}.`);
  return companies[0];
}

/** A partner's companies, searched, filtered and sorted, as JSON or CSV; one company, read or changed. */
export function companiesRouter(services: Services, actor: string): Router {
  const router = Router();

  router.get('/partners/:id/companies', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const query = parseCompanyQuery(req.query);
    if (query.unknown.length > 0)
      throw new HttpError(400, 'invalid_request', unknownQuerySentence(query.unknown));
    const view = await companiesView(services, partner.id, query);
    if (wantsCsv(req)) {
      res
        .type('text/csv; charset=utf-8')
        .attachment(`companies-${partner.id}.csv`)
        .send(companiesCsv(view.companies));
      return;
    }
    res.json(view);
  });

  router.get('/partners/:id/companies/:companyId', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const company = await companyOr404(services, partner.id, req.params.companyId);
    res.json(await companyEntry(services, partner.id, company.id));
  });

  router.patch('/partners/:id/companies/:companyId', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const company = await companyOr404(services, partner.id, req.params.companyId);
    await patchCompany(services, partner.id, company.id, req.body, actor);
    res.json(await companyEntry(services, partner.id, company.id));
  });

  return router;
}
