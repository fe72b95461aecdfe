import { Router, type Request } from 'express';
import { z } from 'zod';
import {
  accessProblems,
  accessSummary,
  autoExtendBlock,
  autoExtends,
  hasProblem,
  stateDate,
  type AccessProblem,
  type RelationshipAccess,
} from '../../domain/access.js';
import type { Services } from '../../dependencies.js';
import { stepSentences } from '../../microsoft/error-table.js';
import { deduplicationKeys, jobIds } from '../../queue/catalog.js';
import type { JobQueues } from '../../queue/job-queues.js';
import { consentApps, enableAutoExtend } from '../../services/access-fixes.js';
import type { CustomerAccessRow } from '../../store/access.js';
import { HttpError } from '../http-error.js';
import { AccessPage, stateWords, type RelationshipRow } from '../views/access.js';
import { html } from '../views/layout.js';
import { signedIn, type PageContext } from './page-context.js';

const showSchema = z.enum(['all', ...accessProblems]).default('all');

/** The filter a page or a form names; `all` for none, 400 for one that does not exist. */
function showOf(value: unknown): AccessProblem | 'all' {
  const parsed = showSchema.safeParse(value === '' ? undefined : value);
  if (!parsed.success)
    throw new HttpError(400, 'invalid_request', `No such filter: ${String(value)}.`);
  return parsed.data;
}

const accessPath = (partnerId: string, show: AccessProblem | 'all') =>
  `/partners/${partnerId}/access${show === 'all' ? '' : `?show=${show}`}`;

function relationshipRow(r: RelationshipAccess): RelationshipRow {
  const on = autoExtends(r);
  const block = autoExtendBlock(r);
  return {
    id: r.id,
    displayName: r.displayName,
    status: r.status,
    endDateTime: r.endDateTime,
    autoExtends: on,
    roles: r.roles,
    canAutoExtend: !on && block === undefined,
    autoExtendBlocked:
      on || block === undefined
        ? undefined
        : block === 'microsoft_led'
          ? stepSentences.autoExtendMicrosoftLed(r.displayName)
          : block === 'global_administrator'
            ? stepSentences.autoExtendGlobalAdministrator(r.displayName)
            : // An ended relationship's row says so already; nothing to add.
              undefined,
  };
}

/**
 * A partner's Access tab: GDAP access per customer, filtered by problem, and the fixes the
 * product makes itself (the app's consent, auto-extend) and a new read, each a form that comes
 * back here with a sentence saying what happened.
 */
export function accessPages(options: {
  services: Services;
  queues: JobQueues;
  page: PageContext;
}): Router {
  const { services, queues, page } = options;
  const { viewerOf, takeFlash, back, partnerFor } = page;
  const router = Router();
  const deps = { ...services, queues };

  /** The partner's customers' access, each named as its company is. */
  async function customersOf(partnerId: string) {
    const [rows, companies] = await Promise.all([
      services.access.forPartner(partnerId),
      services.partners.companies(partnerId),
    ]);
    const names = new Map(companies.map((c) => [c.customerTenantId, c.name]));
    return rows.map((r) => ({
      ...r,
      name: names.get(r.customerTenantId) ?? r.customerName ?? r.customerTenantId,
    }));
  }
  const bodyOf = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

  router.get('/partners/:id/access', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const show = showOf(req.query.show);
    const now = new Date();
    const customers = await customersOf(partner.id);
    const shown = customers
      .filter((c) => show === 'all' || hasProblem(show, c, now))
      .sort((a, b) => a.name.localeCompare(b.name));
    res.type('html').send(
      html(
        <AccessPage
          viewer={viewerOf(req)}
          partner={partner}
          total={customers.length}
          counts={accessSummary(customers, now)}
          show={show}
          rows={shown.map((c: CustomerAccessRow & { name: string }) => ({
            customerTenantId: c.customerTenantId,
            name: c.name,
            state: c.state,
            stateDate: stateDate(c.state, c.relationships, now),
            relationships: c.relationships.map(relationshipRow),
            appConsent: c.appConsent,
            features: c.features,
            reason: c.reason,
            checkedAt: c.checkedAt,
          }))}
          flash={takeFlash(req)}
        />,
      ),
    );
  });

  router.post('/partners/:id/access/refresh', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const show = showOf(bodyOf(req).show);
    if (!(await services.partners.activeConsent(partner.id)))
      return back(
        req,
        res,
        accessPath(partner.id, show),
        'No active consent: grant Partner Center consent first.',
      );
    await queues.enqueue(
      'refreshAccess',
      { partnerId: partner.id },
      {
        jobId: jobIds.refreshAccess(partner.id, `page-${Date.now()}`),
        deduplicationKey: deduplicationKeys.refreshAccess(partner.id),
      },
    );
    back(
      req,
      res,
      accessPath(partner.id, show),
      'Checking access now; reload this page in a minute to see the result.',
    );
  });

  router.post('/partners/:id/access/app-consents', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const body = bodyOf(req);
    const show = showOf(body.show);
    const to = accessPath(partner.id, show);
    const customers = await customersOf(partner.id);
    if (body.customerTenantId !== undefined) {
      // Only a customer of this partner: its access row is the proof.
      const tenant = z.uuid().safeParse(body.customerTenantId);
      const customer = tenant.success
        ? customers.find((c) => c.customerTenantId === tenant.data.toLowerCase())
        : undefined;
      if (!customer) throw new HttpError(404, 'not_found', 'This partner has no such customer.');
      const result = await consentApps(
        deps,
        partner.id,
        [customer.customerTenantId],
        req.user!.email,
      );
      if ('skipped' in result) return back(req, res, to, result.skipped);
      const outcome = result.outcomes[0]!;
      if (outcome.outcome !== 'done')
        return back(
          req,
          res,
          to,
          `The app could not be consented in ${customer.name}: ${outcome.message ?? 'no reason given.'}`,
        );
      const now = await services.access.get(partner.id, customer.customerTenantId);
      return back(
        req,
        res,
        to,
        `The app is consented in ${customer.name}; its access is now: ${now ? stateWords(now.state, stateDate(now.state, now.relationships, new Date())) : 'not read yet'}.`,
      );
    }
    const needing = customers.filter((c) => c.state === 'app_not_consented');
    if (needing.length === 0) return back(req, res, to, 'No customer needs the app consented.');
    if (!(await services.partners.activeConsent(partner.id)))
      return back(req, res, to, 'No active consent: grant Partner Center consent first.');
    await queues.enqueue(
      'consentApps',
      {
        partnerId: partner.id,
        customerTenantIds: needing.map((c) => c.customerTenantId),
        actor: req.user!.email,
      },
      { jobId: jobIds.consentApps(partner.id, `page-${Date.now()}`) },
    );
    back(
      req,
      res,
      to,
      `Consenting the app in ${needing.length} ${needing.length === 1 ? 'customer' : 'customers'}; reload this page in a minute to see each one.`,
    );
  });

  router.post(
    '/partners/:id/access/relationships/:relationshipId/auto-extend',
    signedIn,
    async (req, res) => {
      const partner = await partnerFor(req);
      const show = showOf(bodyOf(req).show);
      const relationshipId = z
        .string()
        .regex(/^[A-Za-z0-9-]{1,200}$/)
        .safeParse(req.params.relationshipId);
      if (!relationshipId.success)
        throw new HttpError(404, 'not_found', 'This partner has no such relationship.');
      const result = await enableAutoExtend(deps, partner.id, relationshipId.data, req.user!.email);
      if (result.outcome === 'refused') {
        if (result.status === 404) throw new HttpError(404, 'not_found', result.message);
        return back(req, res, accessPath(partner.id, show), result.message);
      }
      const row = await services.access.get(partner.id, result.customerTenantId);
      const name = row?.relationships.find((r) => r.id === relationshipId.data)?.displayName;
      back(
        req,
        res,
        accessPath(partner.id, show),
        `Auto-extend is on for ${name ? `'${name}'` : 'the relationship'}${row ? `; the customer's access is now: ${stateWords(row.state, stateDate(row.state, row.relationships, new Date()))}` : ''}.`,
      );
    },
  );

  return router;
}
