import { Router } from 'express';
import { z } from 'zod';
import { singleLineText } from '../../domain/text.js';
import type { JobQueues } from '../../queue/job-queues.js';
import type { Services } from '../../dependencies.js';
import { syncNow } from '../api/refresh.js';
import { unknownSkus } from '../api/skus.js';
import { hashPassword } from '../auth/passwords.js';
import { HttpError } from '../http-error.js';
import { invalidRequestSentence } from '../validation.js';
import { html } from '../views/layout.js';
import { OperatorPage, type OperatorPartnerRow } from '../views/operator.js';
import { delegatedAdminStatus } from '../api/consents.js';
import { operatorsOnly, signedIn, type PageContext } from './page-context.js';

/** The operators' pages: partners and their users, and a partner's refresh started by hand. */
export function operatorPages(options: {
  services: Services;
  queues: JobQueues;
  page: PageContext;
}): Router {
  const { services, queues, page } = options;
  const { viewerOf, takeFlash, back, partnerFor } = page;
  const router = Router();

  router.post('/partners/:id/refresh', signedIn, operatorsOnly, async (req, res) => {
    const partner = await partnerFor(req);
    const { deduplicated } = await syncNow(services, queues, partner.id);
    back(
      req,
      res,
      `/partners/${partner.id}/delegated-admin`,
      deduplicated ? 'A refresh is already running.' : 'Refresh started.',
    );
  });

  router.get('/operator', signedIn, operatorsOnly, async (req, res) => {
    const [partners, skus, broken] = await Promise.all([
      services.partners.list(),
      unknownSkus(services),
      services.notificationChannels.broken(),
    ]);
    const withUsers = await Promise.all(
      partners.map(async (p): Promise<OperatorPartnerRow> => {
        const [users, admins, run] = await Promise.all([
          services.users.ofPartner(p.id),
          services.partners.admins(p.id),
          services.runs.latest(p.id),
        ]);
        const consent = delegatedAdminStatus(p.id, admins, undefined, undefined).consent;
        return {
          id: p.id,
          name: p.name,
          users: users.map((u) => u.email),
          consent:
            consent?.status === 'active' || consent?.status === 'needs_reconsent'
              ? consent.status
              : 'none',
          lastRun: run
            ? {
                status: run.status,
                at: run.finishedAt ?? run.startedAt,
                failed: run.failed,
                noAccess: run.noAccess,
              }
            : null,
        };
      }),
    );
    res
      .type('html')
      .send(
        html(
          <OperatorPage
            viewer={viewerOf(req)}
            partners={withUsers}
            unknownSkus={skus}
            brokenChannels={broken.length}
            flash={takeFlash(req)}
          />,
        ),
      );
  });

  router.post('/operator/partners', signedIn, operatorsOnly, async (req, res) => {
    const body = z.object({ name: singleLineText({ min: 1, max: 200 }) }).safeParse(req.body);
    if (!body.success) {
      if (body.error.issues.some((i) => i.code === 'too_small')) {
        return back(req, res, '/operator', 'A partner needs a name.');
      }
      throw new HttpError(400, 'invalid_request', invalidRequestSentence(body.error));
    }
    const partner = await services.partners.create(body.data.name, req.user!.email);
    back(req, res, '/operator', `Added ${partner.name}.`);
  });

  router.post('/operator/users', signedIn, operatorsOnly, async (req, res) => {
    const body = z
      .object({
        partnerId: z.uuid(),
        email: z.email().max(320),
        password: z.string().min(12).max(1024),
      })
      .safeParse(req.body);
    if (!body.success || !(await services.partners.get(body.data.partnerId))) {
      return back(
        req,
        res,
        '/operator',
        'A user needs a partner, a valid email and a password of at least 12 characters.',
      );
    }
    const user = await services.users.create(
      {
        email: body.data.email,
        passwordHash: await hashPassword(body.data.password),
        role: 'partner',
        partnerId: body.data.partnerId,
      },
      req.user!.email,
    );
    back(
      req,
      res,
      '/operator',
      user ? `Added ${user.email}.` : `${body.data.email} already has an account.`,
    );
  });

  return router;
}
