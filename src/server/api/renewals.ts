import { skuProduct } from '../../domain/sku-names.js';
import { Router } from 'express';
import { z } from 'zod';
import {
  attributeSeats,
  daysToCommitmentEnd,
  renewsWithin,
  termOf,
  windowOpen,
  type TermName,
} from '../../domain/renewals.js';
import type { Services } from '../../dependencies.js';
import { toCsv, wantsCsv } from '../csv.js';
import { parseOr400 } from '../validation.js';
import { partnerOr404 } from './partners.js';

/** The windows the page offers; the API takes any whole number of days in 1..365. */
export const renewalSpans = [30, 60, 90] as const;

const wholeDays = 'expected a whole number of days from 1 to 365';
const renewalsQuery = z
  .object({
    days: z.coerce
      .number({ message: wholeDays })
      .int(wholeDays)
      .min(1, wholeDays)
      .max(365, wholeDays)
      .default(90),
    format: z.literal('csv').optional(),
  })
  .strict();

export interface RenewalRow {
  companyId: string;
  companyName: string;
  customerTenantId: string;
  subscriptionId: string;
  offerName: string | null;
  skuId: string | null;
  /** Partner Center's name of the product, else the SKU's part number, else null. */
  productName: string | null;
  skuPartNumber: string | null;
  term: TermName;
  termDuration: string | null;
  billingCycle: string | null;
  commitmentEndDate: Date | null;
  /** Days from today to the commitment end (0: its last day); null without one. */
  daysToCommitmentEnd: number | null;
  autoRenew: boolean | null;
  cancellableUntil: Date | null;
  isTrial: boolean;
  purchased: number;
  /** Seats of the SKU attributed to this subscription (see attributeSeats); null if unknown. */
  assigned: number | null;
  unassigned: number | null;
  /** The commitment ends within the asked days (never for monthly terms). */
  renewing: boolean;
  /** It can still be cancelled or reduced now. */
  windowOpen: boolean;
}

/**
 * The partner's subscriptions that renew within `days` days or whose cancellation window is
 * open now, soonest commitment end first, from the latest refresh (nothing is asked of
 * Microsoft here).
 */
export async function renewalsView(
  services: Services,
  partnerId: string,
  days: number,
  now = new Date(),
): Promise<RenewalRow[]> {
  const companies = (await services.partners.companies(partnerId)).filter(
    (c) => c.customerTenantId,
  );
  const ids = companies.map((c) => c.id);
  const [subscriptions, snapshots] = await Promise.all([
    services.subscriptions.forCompanies(ids),
    services.runs.latestLicenses(ids),
  ]);
  const rows: RenewalRow[] = [];
  for (const company of companies) {
    const tenant = company.customerTenantId!;
    const subs = subscriptions.get(tenant) ?? [];
    const own = snapshots.filter((s) => s.customerTenantId === tenant);
    const partNumbers = new Map(own.map((s) => [s.skuId.toLowerCase(), s.skuPartNumber]));
    const seats = attributeSeats(
      subs,
      new Map(own.map((s) => [s.skuId.toLowerCase(), s.consumedUnits])),
    );
    for (const s of subs) {
      const renewing = renewsWithin(s, days, now);
      const open = windowOpen(s, now);
      if (!renewing && !open) continue;
      const partNumber = (s.skuId && partNumbers.get(s.skuId.toLowerCase())) || null;
      const attributed = seats.get(s.subscriptionId);
      const named = skuProduct(s.skuId, partNumber);
      rows.push({
        companyId: company.id,
        companyName: company.name,
        customerTenantId: tenant,
        subscriptionId: s.subscriptionId,
        offerName: s.offerName,
        skuId: s.skuId,
        // Microsoft's product name where the SKU reference has it, else the offer's name.
        productName: named.known ? named.productName : (s.offerName ?? partNumber),
        skuPartNumber: partNumber,
        term: termOf(s.termDuration),
        termDuration: s.termDuration,
        billingCycle: s.billingCycle,
        commitmentEndDate: s.commitmentEndDate,
        daysToCommitmentEnd: s.commitmentEndDate
          ? daysToCommitmentEnd(s.commitmentEndDate, now)
          : null,
        autoRenew: s.autoRenewEnabled,
        cancellableUntil: s.cancellationAllowedUntilDate,
        isTrial: s.isTrial,
        purchased: s.quantity,
        assigned: attributed?.assigned ?? null,
        unassigned: attributed?.unassigned ?? null,
        renewing,
        windowOpen: open,
      });
    }
  }
  const endOf = (r: RenewalRow) => r.commitmentEndDate?.getTime() ?? Infinity;
  return rows.sort(
    (a, b) =>
      endOf(a) - endOf(b) ||
      a.companyName.localeCompare(b.companyName) ||
      a.subscriptionId.localeCompare(b.subscriptionId),
  );
}

const isoOrEmpty = (d: Date | null) => d?.toISOString() ?? '';
const flagOrEmpty = (v: boolean | null) => (v === null ? '' : String(v));

/** RFC 4180 CSV of the rows, with product names, tenant ids and ISO 8601 dates. */
export function renewalsCsv(rows: RenewalRow[]): string {
  return toCsv(
    rows.map((r) => ({
      company: r.companyName,
      company_id: r.companyId,
      customer_tenant_id: r.customerTenantId,
      subscription_id: r.subscriptionId,
      offer_name: r.offerName ?? '',
      product: r.productName ?? '',
      sku_id: r.skuId ?? '',
      sku_part_number: r.skuPartNumber ?? '',
      term: r.term,
      billing_cycle: r.billingCycle ?? '',
      commitment_end_date: isoOrEmpty(r.commitmentEndDate),
      auto_renew: flagOrEmpty(r.autoRenew),
      cancellable_until: isoOrEmpty(r.cancellableUntil),
      trial: String(r.isTrial),
      purchased: r.purchased,
      assigned: r.assigned ?? '',
      unassigned: r.unassigned ?? '',
      renewing: String(r.renewing),
      window_open: String(r.windowOpen),
    })),
  );
}

/** What renews soon and what can still be cancelled or reduced, as JSON or CSV. */
export function renewalsRouter(services: Services): Router {
  const router = Router();

  router.get('/partners/:id/renewals', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const { days } = parseOr400(renewalsQuery, req.query);
    const rows = await renewalsView(services, partner.id, days);
    if (wantsCsv(req)) {
      res
        .type('text/csv; charset=utf-8')
        .attachment(`renewals-${days}-days-${partner.id}.csv`)
        .send(renewalsCsv(rows));
      return;
    }
    res.json({ days, rows });
  });

  return router;
}
