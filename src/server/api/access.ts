import { Router } from 'express';
import { z } from 'zod';
import { accessStates } from '../../domain/access.js';
import type { Services } from '../../dependencies.js';
import { deduplicationKeys, jobIds } from '../../queue/catalog.js';
import type { JobQueues } from '../../queue/job-queues.js';
import { enableAutoExtend } from '../../services/access-fixes.js';
import type { CustomerAccessRow } from '../../store/access.js';
import { HttpError } from '../http-error.js';
import { parseOr400 } from '../validation.js';
import { partnerOr404 } from './partners.js';

const accessView = (a: CustomerAccessRow, companyName: string | undefined) => ({
  customerTenantId: a.customerTenantId,
  customerName: companyName ?? a.customerName,
  state: a.state,
  relationships: a.relationships,
  features: a.features,
  ...(a.reason ? { reason: a.reason } : {}),
  appConsent: a.appConsent,
  checkedAt: a.checkedAt,
});

const noConsent = () =>
  new HttpError(
    409,
    'no_consent',
    'This partner has no active consent: grant Partner Center consent first.',
  );

/** GDAP access per customer, its refresh, and the fixes the product makes itself. */
export function accessRouter(services: Services, queues: JobQueues, actor: string): Router {
  const router = Router();

  router.get('/partners/:id/access', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const query = parseOr400(
      z.object({ state: z.enum(accessStates).optional() }).strict(),
      req.query,
    );
    const [rows, companies] = await Promise.all([
      services.access.forPartner(partner.id),
      services.partners.companies(partner.id),
    ]);
    const names = new Map(companies.map((c) => [c.customerTenantId, c.name]));
    res.json({
      customers: rows
        .filter((r) => !query.state || r.state === query.state)
        .map((r) => accessView(r, names.get(r.customerTenantId))),
    });
  });

  router.post('/partners/:id/access/refresh', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    if (!(await services.partners.activeConsent(partner.id))) throw noConsent();
    const job = await queues.enqueue(
      'refreshAccess',
      { partnerId: partner.id },
      {
        jobId: jobIds.refreshAccess(partner.id, `request-${Date.now()}`),
        deduplicationKey: deduplicationKeys.refreshAccess(partner.id),
      },
    );
    res.status(202).json({ jobId: job.id });
  });

  router.post('/partners/:id/access/app-consents', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const body = parseOr400(
      z.object({ customerTenantIds: z.array(z.uuid()).min(1).max(10_000).optional() }).strict(),
      req.body ?? {},
    );
    if (!(await services.partners.activeConsent(partner.id))) throw noConsent();
    const customerTenantIds =
      body.customerTenantIds?.map((t) => t.toLowerCase()) ??
      (await services.access.forPartner(partner.id))
        .filter((a) => a.state === 'app_not_consented')
        .map((a) => a.customerTenantId);
    if (customerTenantIds.length === 0) {
      res.json({ jobId: null, customerTenantIds });
      return;
    }
    const job = await queues.enqueue(
      'consentApps',
      { partnerId: partner.id, customerTenantIds: [...new Set(customerTenantIds)], actor },
      { jobId: jobIds.consentApps(partner.id, `request-${Date.now()}`) },
    );
    res.status(202).json({ jobId: job.id, customerTenantIds });
  });

  router.post(
    '/partners/:id/access/relationships/:relationshipId/auto-extend',
    async (req, res) => {
      const partner = await partnerOr404(services, req.params.id);
      const { relationshipId } = parseOr400(
        z.object({ relationshipId: z.string().regex(/^[A-Za-z0-9-]{1,200}$/) }),
        { relationshipId: req.params.relationshipId },
      );
      const result = await enableAutoExtend(
        { ...services, queues },
        partner.id,
        relationshipId,
        actor,
      );
      if (result.outcome === 'refused') {
        throw new HttpError(
          result.status,
          result.status === 404 ? 'not_found' : 'refused',
          result.message,
        );
      }
      const access = await services.access.get(partner.id, result.customerTenantId);
      res.json({
        relationshipId,
        autoExtendDuration: result.autoExtendDuration,
        access: access ? accessView(access, undefined) : null,
      });
    },
  );

  return router;
}
