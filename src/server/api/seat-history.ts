import { toCsv } from '../csv.js';
import { Router } from 'express';
import type { Services } from '../../dependencies.js';
import type { SeatHistoryRow } from '../../store/seat-history.js';
import { wantsCsv } from '../csv.js';
import { partnerOr404 } from './partners.js';
import { companyOr404 } from './psa.js';

/** One change of a company's seat counts as the API and the page show it. */
export const seatChangeView = (r: SeatHistoryRow) => ({
  at: r.at,
  runId: r.runId,
  skuId: r.skuId,
  productName: r.productName,
  field: r.field,
  from: r.fromValue,
  to: r.toValue,
  /** The company's first reading: its values as found, not purchases. */
  initial: r.initial,
});

/** RFC 4180 CSV of a company's seat history, newest first, with ISO 8601 times. */
export function seatHistoryCsv(
  company: { id: string; name: string; customerTenantId: string | null },
  rows: SeatHistoryRow[],
): string {
  return toCsv(
    rows.map((r) => ({
      at: r.at.toISOString(),
      company: company.name,
      company_id: company.id,
      customer_tenant_id: company.customerTenantId ?? '',
      run_id: r.runId ?? '',
      sku_id: r.skuId ?? '',
      product: r.productName,
      field: r.field,
      from: r.fromValue,
      to: r.toValue,
      change: r.toValue - r.fromValue,
      initial: r.initial,
    })),
  );
}

/** A company's seat history: every change between readings, newest first. */
export function seatHistoryRouter(services: Services): Router {
  const router = Router();

  router.get('/partners/:id/companies/:companyId/history', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const company = await companyOr404(services, partner.id, req.params.companyId);
    const rows = await services.seatHistory.forCompany(company.id);
    if (wantsCsv(req)) {
      res
        .type('text/csv; charset=utf-8')
        .attachment(`seat-history-${company.id}.csv`)
        .send(seatHistoryCsv(company, rows));
      return;
    }
    res.json({ history: rows.map(seatChangeView) });
  });

  return router;
}
