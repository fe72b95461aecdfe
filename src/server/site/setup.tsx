import { Router, type NextFunction, type Request, type Response } from 'express';
import type { RedisClient } from '../../queue/connections.js';
import { z } from 'zod';
import type { Config } from '../../../config/index.js';
import { customLicenseKindSchema, type CustomLicenseKind } from '../../domain/custom-licenses.js';
import type { Services } from '../../dependencies.js';
import type { JobQueues } from '../../queue/job-queues.js';
import type { Partner } from '../../store/partners.js';
import { checkCompanies, definitionChanges, newCustomLicenseBody } from '../api/custom-licenses.js';
import {
  addCompany,
  changeCompany,
  companyChangesBody,
  legacyAdminBody,
  newCompanyBody,
} from '../api/partners.js';
import { syncNow } from '../api/refresh.js';
import { HttpError } from '../http-error.js';
import { messagePage } from '../pages.js';
import { requestLimiter, syncNowRequests, tooManySyncs } from '../request-limits.js';
import { invalidRequestSentence } from '../validation.js';
import { html } from '../views/layout.js';
import { SetupPage } from '../views/setup.js';
import { signedIn, type PageContext } from './page-context.js';

const bodyOf = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
/** A form field left blank is a field not given. */
const given = (v: unknown) => text(v) || undefined;
const listOf = (v: unknown) => ([] as unknown[]).concat(v ?? []).map(String);

/** The fields a refused form is shown again with; a password is never among them. */
const companyFields = ['name', 'domain', 'customerTenantId', 'delegatedAdminId', 'linkTenantId'];
const licenseFields = ['name', 'domains', 'group', 'skuPartNumber', 'measure', 'quantity'];
const kinds: string[] = customLicenseKindSchema.options.map((o) => o.shape.kind.value);
function keptFields(body: Record<string, unknown>, names: string[]) {
  const kept: Record<string, string | string[]> = {};
  for (const name of names) if (typeof body[name] === 'string') kept[name] = body[name];
  if (body.companyIds !== undefined) kept.companyIds = listOf(body.companyIds);
  return kept;
}

/** The kind's fields of a custom-license form, as the API's JSON would carry them. */
function kindFields(kind: CustomLicenseKind, body: Record<string, unknown>) {
  switch (kind) {
    case 'licensed_users': {
      const domains = text(body.domains)
        .split(/[\s,;]+/)
        .filter(Boolean);
      return { domains: domains.length > 0 ? domains : undefined };
    }
    case 'group_members':
      return { group: text(body.group) };
    case 'sku_quantity':
      return { skuPartNumber: text(body.skuPartNumber), measure: given(body.measure) };
    case 'fixed': {
      const quantity = text(body.quantity);
      return { quantity: /^-?\d+(\.\d+)?$/.test(quantity) ? Number(quantity) : quantity };
    }
    default:
      return {};
  }
}

/** Ticked companies, or null (none ticked: every company). */
const companiesOf = (body: Record<string, unknown>) => {
  const ids = listOf(body.companyIds);
  return ids.length > 0 ? ids : null;
};

/**
 * The Setup tab: companies (added, changed, linked to a Partner Center customer), legacy
 * accounts, custom-license definitions, and sync now. Each form is checked by the API's own
 * rules and refused with its words; each change is audited as the API's are.
 */
export function setupPages(options: {
  config: Config;
  services: Services;
  queues: JobQueues;
  redis: RedisClient;
  page: PageContext;
}): Router {
  const { config, services, queues, redis, page } = options;
  const { viewerOf, takeFlash, back, partnerFor } = page;
  const router = Router();
  const setupOf = (partner: Partner) => `/partners/${partner.id}/setup`;

  /**
   * Runs a change; what the API would refuse with a 4xx comes back as the page's sentence,
   * beside the form (`form`: its id and the fields it is shown again with) when there is one.
   */
  async function refusedAsFlash(
    req: Request,
    res: Response,
    to: string,
    change: () => Promise<string>,
    form?: { id: string; fields: string[] },
  ) {
    let done: string;
    try {
      done = await change();
    } catch (error) {
      let message: string;
      if (error instanceof z.ZodError) message = invalidRequestSentence(error);
      else if (error instanceof HttpError && error.status < 500 && error.status !== 404)
        message = error.message;
      else throw error;
      if (!form) return back(req, res, to, message);
      req.session.refused = {
        partnerId: String(req.params.id).toLowerCase(),
        form: form.id,
        message,
        fields: keptFields(bodyOf(req), form.fields),
      };
      return back(req, res, `${to}#${form.id}`);
    }
    back(req, res, to, done);
  }

  router.get('/partners/:id/setup', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const [companies, run, admins, definitions] = await Promise.all([
      services.partners.companies(partner.id),
      services.runs.latest(partner.id),
      services.partners.admins(partner.id),
      services.customLicenses.definitions(partner.id),
    ]);
    const tenants = new Set(companies.map((c) => c.customerTenantId));
    const refused = req.session.refused;
    delete req.session.refused;
    res.type('html').send(
      html(
        <SetupPage
          viewer={viewerOf(req)}
          partner={partner}
          companies={companies}
          // Stored by the latest refresh; a company added since is no longer "not yet added".
          notYetAdded={(run?.notYetAdded ?? []).filter((n) => !tenants.has(n.customerTenantId))}
          listedAt={run?.startedAt ?? null}
          admins={admins}
          definitions={definitions}
          flash={takeFlash(req)}
          refused={refused}
        />,
      ),
    );
  });

  // The partner is checked before the limit: another partner's user spends no one's budget.
  const ownPartner = async (req: Request, res: Response, next: NextFunction) => {
    res.locals.partner = await partnerFor(req);
    next();
  };
  const syncLimit = requestLimiter({
    redis,
    budget: syncNowRequests,
    prefix: `${config.queuePrefix}:sync-now:pages:`,
    keyOf: (req) => `partner:${String(req.params.id).toLowerCase()}`,
    refuse: (_req, res) => {
      const toSetup = { href: setupOf(res.locals.partner as Partner), text: 'Back to Setup' };
      res
        .status(429)
        .type('html')
        .send(messagePage('Too many requests', tooManySyncs, toSetup));
    },
  });
  router.post('/partners/:id/setup/sync', signedIn, ownPartner, syncLimit, async (req, res) => {
    const partner = res.locals.partner as Partner;
    await refusedAsFlash(req, res, setupOf(partner), async () => {
      const { deduplicated } = await syncNow(services, queues, partner.id);
      return deduplicated ? 'A sync is already running.' : 'Sync started.';
    });
  });

  router.post('/partners/:id/setup/companies', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const body = bodyOf(req);
    await refusedAsFlash(
      req,
      res,
      setupOf(partner),
      async () => {
        const company = await addCompany(
          services,
          partner.id,
          newCompanyBody.parse({
            name: text(body.name),
            customerTenantId: given(body.customerTenantId),
            domain: given(body.domain),
            delegatedAdminId: given(body.delegatedAdminId),
          }),
          req.user!.email,
        );
        return `Added ${company.name}.`;
      },
      { id: 'add-company', fields: companyFields },
    );
  });

  router.post('/partners/:id/setup/companies/:companyId', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const companyId = String(req.params.companyId);
    if (!z.uuid().safeParse(companyId).success)
      throw new HttpError(404, 'not_found', 'No such company.');
    const body = bodyOf(req);
    await refusedAsFlash(
      req,
      res,
      setupOf(partner),
      async () => {
        const company = await changeCompany(
          services,
          partner.id,
          companyId,
          companyChangesBody.parse({
            name: text(body.name),
            // A customer chosen from the list links it, whatever the tenant field says.
            customerTenantId: given(body.linkTenantId) ?? given(body.customerTenantId),
            domain: given(body.domain),
          }),
          req.user!.email,
        );
        return `Saved ${company.name}.`;
      },
      { id: `company-${companyId.toLowerCase()}`, fields: companyFields },
    );
  });

  // Partner Center customers not yet added, as the latest refresh stored them: one, or all.
  router.post('/partners/:id/setup/customers', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const body = bodyOf(req);
    const to = setupOf(partner);
    const [run, companies] = await Promise.all([
      services.runs.latest(partner.id),
      services.partners.companies(partner.id),
    ]);
    const tenants = new Set(companies.map((c) => c.customerTenantId));
    const waiting = (run?.notYetAdded ?? []).filter((n) => !tenants.has(n.customerTenantId));
    const wanted = text(body.customerTenantId).toLowerCase();
    const chosen =
      body.scope === 'all' ? waiting : waiting.filter((n) => n.customerTenantId === wanted);
    if (chosen.length === 0) return back(req, res, to, 'No customer left to add.');
    const added: string[] = [];
    for (const customer of chosen) {
      const company = await addCompany(
        services,
        partner.id,
        newCompanyBody.parse({
          name: customer.name,
          customerTenantId: customer.customerTenantId,
          domain: customer.domain || undefined,
        }),
        req.user!.email,
      );
      added.push(company.name);
    }
    back(
      req,
      res,
      to,
      added.length === 1
        ? `Added ${added[0]}; the next sync refreshes it.`
        : `Added ${added.length} companies; the next sync refreshes them.`,
    );
  });

  router.post('/partners/:id/setup/delegated-admins', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const body = bodyOf(req);
    await refusedAsFlash(
      req,
      res,
      setupOf(partner),
      async () => {
        // The password goes as the form sent it: sealed by the store, never echoed back.
        const parsed = legacyAdminBody.parse({
          username: text(body.username),
          password: typeof body.password === 'string' ? body.password : '',
        });
        const admin = await services.partners.addLegacyAdmin(
          partner.id,
          parsed.username,
          parsed.password,
          req.user!.email,
        );
        return `Added the legacy account ${admin.username}.`;
      },
      { id: 'add-legacy', fields: ['username'] },
    );
  });

  router.post('/partners/:id/setup/custom-licenses', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const body = bodyOf(req);
    const kind = text(body.kind) as CustomLicenseKind;
    await refusedAsFlash(
      req,
      res,
      setupOf(partner),
      async () => {
        const parsed = newCustomLicenseBody.parse({
          name: text(body.name),
          companyIds: companiesOf(body),
          kind,
          ...kindFields(kind, body),
        });
        await checkCompanies(services, partner.id, parsed.companyIds);
        const created = await services.customLicenses.createDefinition(
          partner.id,
          parsed,
          req.user!.email,
        );
        return `Created the custom license ${created.name}; the next sync counts it.`;
      },
      // An unknown kind has no form to show the refusal beside: it goes on top.
      kinds.includes(kind) ? { id: `new-license-${kind}`, fields: licenseFields } : undefined,
    );
  });

  const definitionOf = async (partnerId: string, id: string) => {
    const found = z.uuid().safeParse(id).success
      ? await services.customLicenses.definition(partnerId, id)
      : undefined;
    if (!found) throw new HttpError(404, 'not_found', 'No such custom license.');
    return found;
  };

  router.post('/partners/:id/setup/custom-licenses/:definitionId', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const existing = await definitionOf(partner.id, String(req.params.definitionId));
    const body = bodyOf(req);
    await refusedAsFlash(
      req,
      res,
      setupOf(partner),
      async () => {
        const changes = definitionChanges(existing, {
          name: text(body.name),
          companyIds: companiesOf(body),
          ...kindFields(existing.kind, body),
        });
        await checkCompanies(services, partner.id, changes.companyIds);
        const updated = await services.customLicenses.updateDefinition(
          partner.id,
          existing.id,
          changes,
          req.user!.email,
        );
        if (!updated) throw new HttpError(404, 'not_found', 'No such custom license.');
        return `Saved the custom license ${updated.name}.`;
      },
      { id: `license-${existing.id}`, fields: licenseFields },
    );
  });

  router.post(
    '/partners/:id/setup/custom-licenses/:definitionId/delete',
    signedIn,
    async (req, res) => {
      const partner = await partnerFor(req);
      const existing = await definitionOf(partner.id, String(req.params.definitionId));
      await services.customLicenses.deleteDefinition(partner.id, existing.id, req.user!.email);
      back(req, res, setupOf(partner), `Deleted the custom license ${existing.name}.`);
    },
  );

  return router;
}
