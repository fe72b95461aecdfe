import { Router } from 'express';
import { z } from 'zod';
import type { JobQueues } from '../../queue/job-queues.js';
import { enqueuePendingTenants } from '../../queue/refresh-work.js';
import type { Services } from '../../dependencies.js';
import { startRefresh } from '../../services/refresh.js';
import { HttpError } from '../http-error.js';
import { parseOr400 } from '../validation.js';
import { partnerOr404 } from './partners.js';

/** Starts a run for the partner, or joins the open one. */
export async function syncNow(services: Services, queues: JobQueues, partnerId: string) {
  if (!(await services.partners.activeConsent(partnerId))) {
    throw new HttpError(
      409,
      'no_consent',
      'This partner has no active consent: grant Partner Center consent first.',
    );
  }
  const { run, deduplicated } = await startRefresh({ ...services, queues }, partnerId, 'manual');
  return { runId: run.id, deduplicated };
}

/** Retries the latest run's failed tenants: all, or those named. */
export async function retryFailures(
  services: Services,
  queues: JobQueues,
  partnerId: string,
  customerTenantIds: string[] | undefined,
): Promise<{ runId: string | null; retried: string[] }> {
  const { run, failures } = await services.runs.failures(partnerId);
  if (!run || failures.length === 0) return { runId: run?.id ?? null, retried: [] };
  const wanted = customerTenantIds?.map((t) => t.toLowerCase());
  const reopened = await services.runs.reopenFailed(run.id, wanted);
  if (!reopened) {
    throw new HttpError(
      409,
      'run_open',
      'A newer refresh is running; it refreshes these customers too.',
    );
  }
  await enqueuePendingTenants({ ...services, queues }, run);
  return { runId: run.id, retried: reopened };
}

/** Sync now, the failed tenants of the latest run, and their retry. */
export function refreshRouter(services: Services, queues: JobQueues): Router {
  const router = Router();

  // Sync now: joins the open run if there is one (enforced in PostgreSQL).
  router.post('/partners/:id/refresh', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    res.status(202).json(await syncNow(services, queues, partner.id));
  });

  router.get('/partners/:id/refresh-failures', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const { run, failures } = await services.runs.failures(partner.id);
    const companies = new Map(
      (await services.partners.companies(partner.id)).map((c) => [c.id, c]),
    );
    res.json({
      runId: run?.id ?? null,
      failures: failures.map((f) => ({
        customerTenantId: f.customerTenantId,
        companyId: f.companyId,
        companyName: f.companyId ? (companies.get(f.companyId)?.name ?? null) : null,
        kind: f.classification,
        code: f.errorCode,
        error: f.errorMessage,
        attempts: f.attempts,
        lastTriedAt: f.finishedAt,
      })),
    });
  });

  router.post('/partners/:id/refresh-failures/retry', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const body = parseOr400(
      z.object({ customerTenantIds: z.array(z.uuid()).min(1).max(10_000).optional() }).strict(),
      req.body ?? {},
    );
    const result = await retryFailures(services, queues, partner.id, body.customerTenantIds);
    res.status(result.retried.length > 0 ? 202 : 200).json(result);
  });

  return router;
}
