import { Router, type Request, type Response } from 'express';
import type { RedisClient } from '../../queue/connections.js';
import { z } from 'zod';
import type { Config } from '../../../config/index.js';
import { accessSummary } from '../../domain/access.js';
import { seatSeries } from '../../domain/seat-history.js';
import { customLicenseTokenState } from '../../domain/custom-licenses.js';
import { deduplicationKeys, jobIds } from '../../queue/catalog.js';
import type { JobQueues } from '../../queue/job-queues.js';
import type { Services } from '../../dependencies.js';
import { attemptView, delegatedAdminStatus, startConsent } from '../api/consents.js';
import { companiesCsv, companiesOverview, companiesView } from '../api/companies.js';
import { parseCompanyQuery } from '../../domain/companies.js';
import { companyOr404 } from '../api/psa.js';
import { seatChangeView, seatHistoryCsv } from '../api/seat-history.js';
import { retryFailures } from '../api/refresh.js';
import { messagePage } from '../pages.js';
import {
  consentStarts,
  requestLimiter,
  tooManyConsentStarts,
  tooManyValidations,
  validationRequests,
} from '../request-limits.js';
import { CompaniesPage } from '../views/companies.js';
import { CompanyPage } from '../views/company.js';
import { DelegatedAdminPage } from '../views/delegated-admin.js';
import { html } from '../views/layout.js';
import { signedIn, type PageContext } from './page-context.js';

/** Days the company page's seat charts cover. */
const chartDays = 90;

/**
 * A partner's pages: the Delegated Admin tab (consents started from it, the custom-license
 * token, retrying failed companies) and the Companies tab.
 */
export function partnerPages(options: {
  config: Config;
  services: Services;
  queues: JobQueues;
  redis: RedisClient;
  page: PageContext;
}): Router {
  const { config, services, queues, redis, page } = options;
  const { viewerOf, takeFlash, back, partnerFor } = page;
  const router = Router();

  // The return address of consents started from the API's examples: the user's own partner.
  router.get('/company/delegated-admin', signedIn, (req, res) => {
    const query = new URLSearchParams(req.query as Record<string, string>).toString();
    if (req.user!.role === 'operator') return res.redirect(303, '/operator');
    res.redirect(
      303,
      `/partners/${req.user!.partnerId}/delegated-admin${query ? `?${query}` : ''}`,
    );
  });

  router.get('/partners/:id/delegated-admin', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const [admins, attempt, run, token, tokenAttempt, companies, failures, access] =
      await Promise.all([
        services.partners.admins(partner.id),
        services.attempts.latest(partner.id, 'partner_center'),
        services.runs.latest(partner.id),
        services.customLicenses.currentToken(partner.id),
        services.attempts.latest(partner.id, 'custom_license'),
        services.partners.companies(partner.id),
        services.runs.failures(partner.id),
        services.access.forPartner(partner.id),
      ]);
    const customLicensesFailed = run
      ? await services.customLicenses.companiesNotCounted(run.id)
      : 0;
    const status = delegatedAdminStatus(partner.id, admins, attempt, run, customLicensesFailed);
    const names = new Map(companies.map((c) => [c.id, c.name]));
    res.type('html').send(
      html(
        <DelegatedAdminPage
          viewer={viewerOf(req)}
          partner={partner}
          status={status}
          companiesOnNewModel={
            companies.filter((c) => c.delegatedAdminId && c.delegatedAdminId === status.consent?.id)
              .length
          }
          failures={failures.failures.map((f) => ({
            customerTenantId: f.customerTenantId,
            companyName: f.companyId ? (names.get(f.companyId) ?? null) : null,
            error: f.errorMessage,
            attempts: f.attempts,
            lastTriedAt: f.finishedAt,
          }))}
          token={{
            ...customLicenseTokenState(token, new Date()),
            upn: token?.username ?? null,
            lastValidatedAt: token?.lastValidatedAt ?? null,
            attempt: tokenAttempt ? attemptView(tokenAttempt) : null,
          }}
          access={
            access.length > 0
              ? { total: access.length, counts: accessSummary(access, new Date()) }
              : null
          }
          flash={takeFlash(req)}
        />,
      ),
    );
  });

  // Search, filters and sort come as a GET form; unknown ones are ignored with a notice.
  router.get('/partners/:id/companies', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const query = parseCompanyQuery(req.query);
    const view = await companiesView(services, partner.id, query);
    if (req.query.format === 'csv') {
      res
        .type('text/csv; charset=utf-8')
        .attachment(`companies-${partner.id}.csv`)
        .send(companiesCsv(view.companies));
      return;
    }
    res
      .type('html')
      .send(
        html(
          <CompaniesPage
            viewer={viewerOf(req)}
            partner={partner}
            view={view}
            notice={
              query.unknown.length > 0
                ? `Ignored ${query.unknown.join(', ')}: not a filter or sort this page knows.`
                : undefined
            }
          />,
        ),
      );
  });

  // One company: its licenses, custom licenses, access, last run, seats over the chart's window
  // and seat history.
  router.get('/partners/:id/companies/:companyId', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const company = await companyOr404(services, partner.id, String(req.params.companyId));
    if (req.query.format === 'csv') {
      // The export is the history alone: nothing else of the page is read for it.
      res
        .type('text/csv; charset=utf-8')
        .attachment(`seat-history-${company.id}.csv`)
        .send(seatHistoryCsv(company, await services.seatHistory.forCompany(company.id)));
      return;
    }
    const now = new Date();
    const [history, charted, overview] = await Promise.all([
      services.seatHistory.forCompany(company.id),
      services.seatHistory.forChart(company.id, new Date(now.getTime() - chartDays * 86_400_000)),
      companiesOverview(services, partner.id, { companyId: company.id }),
    ]);
    res.type('html').send(
      html(
        <CompanyPage
          viewer={viewerOf(req)}
          partner={partner}
          company={overview.companies[0]!}
          series={seatSeries(
            charted.map((r) => ({ ...r, from: r.fromValue, to: r.toValue })),
            now,
            chartDays,
          )}
          days={chartDays}
          history={history.map(seatChangeView)}
        />,
      ),
    );
  });

  const startAndGo =
    (kind: 'partner_center' | 'custom_license') => async (req: Request, res: Response) => {
      const partner = await partnerFor(req);
      // Bound to this session: a callback completed in another browser binds nothing.
      const { authorizeUrl } = await startConsent(
        services,
        config.publicUrl,
        partner.id,
        kind,
        { returnTo: `/partners/${partner.id}/delegated-admin` },
        req.sessionID,
      );
      res.redirect(303, authorizeUrl);
    };
  const consentLimit = requestLimiter({
    redis,
    budget: consentStarts,
    prefix: `${config.queuePrefix}:consent-starts:pages:`,
    keyOf: (req) => `user:${req.user!.id}`,
    refuse: (_req, res) => {
      res.status(429).type('html').send(messagePage('Too many requests', tooManyConsentStarts));
    },
  });
  router.post('/partners/:id/consent', signedIn, consentLimit, startAndGo('partner_center'));
  router.post(
    '/partners/:id/custom-license-token/consent',
    signedIn,
    consentLimit,
    startAndGo('custom_license'),
  );

  const validationLimit = requestLimiter({
    redis,
    budget: validationRequests,
    prefix: `${config.queuePrefix}:validations:pages:`,
    keyOf: (req) => `user:${req.user!.id}`,
    refuse: (_req, res) => {
      res.status(429).type('html').send(messagePage('Too many requests', tooManyValidations));
    },
  });
  router.post(
    '/partners/:id/custom-license-token/validate',
    signedIn,
    validationLimit,
    async (req, res) => {
      const partner = await partnerFor(req);
      await queues.enqueue(
        'validateCustomLicenseToken',
        { partnerId: partner.id },
        {
          jobId: jobIds.validateCustomLicenseToken(partner.id, `page-${Date.now()}`),
          deduplicationKey: deduplicationKeys.validateCustomLicenseToken(partner.id),
        },
      );
      back(
        req,
        res,
        `/partners/${partner.id}/delegated-admin`,
        'Validating the custom-license token; this page shows the result once it is done.',
      );
    },
  );

  router.post('/partners/:id/retry', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const tenant = z
      .uuid()
      .safeParse((req.body as { customerTenantId?: unknown }).customerTenantId);
    const { retried } = await retryFailures(
      services,
      queues,
      partner.id,
      tenant.success ? [tenant.data] : undefined,
    );
    back(
      req,
      res,
      `/partners/${partner.id}/delegated-admin`,
      retried.length > 0
        ? `Retrying ${retried.length} ${retried.length === 1 ? 'company' : 'companies'}.`
        : 'Nothing to retry.',
    );
  });

  return router;
}
