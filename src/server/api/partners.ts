import { Router } from 'express';
import { z } from 'zod';
import { singleLineText } from '../../domain/text.js';
import type { Services } from '../../dependencies.js';
import type { Company, DelegatedAdmin, Partner } from '../../store/partners.js';
import { HttpError } from '../http-error.js';
import { parseOr400 } from '../validation.js';

const guid = z.uuid({ message: 'expected a GUID' });
const upnLike = singleLineText({ max: 320 }).regex(
  /^[^@\s]+@[^@\s]+\.[^@\s]+$/,
  'expected a user principal name such as sync@contoso.com',
);

const partnerView = (p: Partner) => ({
  id: p.id,
  name: p.name,
  homeTenantId: p.homeTenantId,
  /** Whether free and trial SKUs' seats count in billed totals. */
  includeFreeSkusInTotals: p.includeFreeSkusInTotals,
  createdAt: p.createdAt,
});

const adminView = (a: DelegatedAdmin) => ({
  id: a.id,
  kind: a.kind,
  username: a.username,
  status: a.status,
  replacedBy: a.replacedBy,
  createdAt: a.createdAt,
});

/** A company as the API shows it. */
export const companyView = (c: Company) => ({
  id: c.id,
  name: c.name,
  customerTenantId: c.customerTenantId,
  domain: c.domain,
  delegatedAdminId: c.delegatedAdminId,
  visibility: c.visibility,
});

/** A legacy delegated-admin account as the API and the pages take it. */
export const legacyAdminBody = z
  .object({ username: upnLike, password: z.string().min(1).max(1024) })
  .strict();

const companyFields = {
  name: singleLineText({ min: 1, max: 200 }),
  customerTenantId: guid.optional(),
  domain: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'expected a DNS domain')
    .optional(),
};

/** A new company: found by its customer tenant, or by its domain until a refresh links it. */
export const newCompanyBody = z
  .object({ ...companyFields, delegatedAdminId: guid.optional() })
  .strict()
  .refine((c) => c.customerTenantId || c.domain, {
    message: 'give customerTenantId or domain',
  });

/** A company's name, domain and customer tenant as changed: the same rules as when added. */
export const companyChangesBody = z
  .object(companyFields)
  .strict()
  .refine((c) => c.customerTenantId || c.domain, {
    message: 'give customerTenantId or domain',
  });

/** The sentence a second company of the same customer tenant is refused with. */
const tenantTakenByCompany = 'A company with this customer tenant already exists for this partner.';
const isUniqueViolation = (error: unknown) =>
  /unique|duplicate/i.test(String((error as { cause?: unknown }).cause ?? error));

/** Adds a company of the partner, audited; 400 for another partner's account, 409 for a tenant taken. */
export async function addCompany(
  services: Services,
  partnerId: string,
  body: z.infer<typeof newCompanyBody>,
  actor: string,
): Promise<Company> {
  if (
    body.delegatedAdminId &&
    !(await services.partners.adminBelongsTo(partnerId, body.delegatedAdminId))
  ) {
    throw new HttpError(
      400,
      'invalid_request',
      'delegatedAdminId is not an account of this partner.',
    );
  }
  try {
    return await services.partners.addCompany(partnerId, body, actor);
  } catch (error) {
    if (isUniqueViolation(error)) throw new HttpError(409, 'conflict', tenantTakenByCompany);
    throw error;
  }
}

/** Changes a company of the partner, audited; 404 when it has none of that id, 409 for a tenant taken. */
export async function changeCompany(
  services: Services,
  partnerId: string,
  companyId: string,
  body: z.infer<typeof companyChangesBody>,
  actor: string,
): Promise<Company> {
  let changed: Company | undefined;
  try {
    changed = await services.partners.updateCompany(partnerId, companyId, body, actor);
  } catch (error) {
    if (isUniqueViolation(error)) throw new HttpError(409, 'conflict', tenantTakenByCompany);
    throw error;
  }
  if (!changed) throw new HttpError(404, 'not_found', 'No such company.');
  return changed;
}

/** The partner named in the path, or 404. */
export async function partnerOr404(services: Services, id: string): Promise<Partner> {
  const partner = guid.safeParse(id).success ? await services.partners.get(id) : undefined;
  if (!partner) throw new HttpError(404, 'not_found', `No partner ${id}.`);
  return partner;
}

/** Partners, their legacy delegated-admin accounts and their companies. */
export function partnersRouter(services: Services, actor: string): Router {
  const router = Router();

  router.get('/partners', async (_req, res) => {
    res.json({ partners: (await services.partners.list()).map(partnerView) });
  });

  router.post('/partners', async (req, res) => {
    const body = parseOr400(
      z.object({ name: singleLineText({ min: 1, max: 200 }) }).strict(),
      req.body,
    );
    res.status(201).json(partnerView(await services.partners.create(body.name, actor)));
  });

  router.get('/partners/:id', async (req, res) => {
    res.json(partnerView(await partnerOr404(services, req.params.id)));
  });

  router.patch('/partners/:id', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const body = parseOr400(
      z
        .object({
          name: singleLineText({ min: 1, max: 200 }).optional(),
          includeFreeSkusInTotals: z.boolean().optional(),
        })
        .strict(),
      req.body,
    );
    const updated = await services.partners.update(partner.id, body, actor);
    if (!updated) throw new HttpError(404, 'not_found', `No partner ${partner.id}.`);
    res.json(partnerView(updated));
  });

  router.post('/partners/:id/delegated-admins', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const body = parseOr400(legacyAdminBody, req.body);
    const admin = await services.partners.addLegacyAdmin(
      partner.id,
      body.username,
      body.password,
      actor,
    );
    res.status(201).json(adminView(admin));
  });

  router.post('/partners/:id/companies', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const body = parseOr400(newCompanyBody, req.body);
    res.status(201).json(companyView(await addCompany(services, partner.id, body, actor)));
  });

  return router;
}
