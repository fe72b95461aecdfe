import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Services } from '../../dependencies.js';
import { renewalSpans, renewalsCsv, renewalsView } from '../api/renewals.js';
import { HttpError } from '../http-error.js';
import { html } from '../views/layout.js';
import { RenewalsPage } from '../views/renewals.js';
import { signedIn, type PageContext } from './page-context.js';

const daysSchema = z.coerce.number().int().min(1).max(365).default(renewalSpans[0]);

/** The days a page asks for: 30 unless it says; a clear 400 for anything outside 1..365. */
function daysOf(req: Request): number {
  const parsed = daysSchema.safeParse(req.query.days === '' ? undefined : req.query.days);
  if (!parsed.success)
    throw new HttpError(400, 'invalid_request', 'Days must be a whole number from 1 to 365.');
  return parsed.data;
}

/** The Renewals tab and its CSV export. */
export function renewalsPages(options: { services: Services; page: PageContext }): Router {
  const { services, page } = options;
  const router = Router();

  router.get('/partners/:id/renewals', signedIn, async (req, res) => {
    const partner = await page.partnerFor(req);
    const days = daysOf(req);
    const rows = await renewalsView(services, partner.id, days);
    res
      .type('html')
      .send(
        html(
          <RenewalsPage
            viewer={page.viewerOf(req)}
            partner={partner}
            days={days}
            spans={renewalSpans}
            rows={rows}
          />,
        ),
      );
  });

  router.get('/partners/:id/renewals.csv', signedIn, async (req, res) => {
    const partner = await page.partnerFor(req);
    const days = daysOf(req);
    res
      .type('text/csv; charset=utf-8')
      .attachment(`renewals-${days}-days-${partner.id}.csv`)
      .send(renewalsCsv(await renewalsView(services, partner.id, days)));
  });

  return router;
}
