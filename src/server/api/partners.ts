import { Router } from 'express';
import { z } from 'zod';
import { singleLineText } from '../../domain/text.js';
import type { Services } from '../../dependencies.js';
import {
  companyTenantTaken,
  type Company,
  type CompanyFields,
  type DelegatedAdmin,
  type Partner,
} from '../../store/partners.js';
import { HttpError } from '../http-error.js';
import { parseOr400 } from '../validation.js';

const guid = z.uuid({ message: 'expected a GUID' });
const upnLike = singleLineText({ max: 320 }).regex(
  /^[^@\s]+@[^@\s]+\.[^@\s]+$/,
  'expected a user principal name such as sync@contoso.com',
);

/** Above any limit Partner Center documents: a larger number is a typo, not a pace. */
const maxPartnerCenterPace = 1000;

const partnerView = (p: Partner) => ({
  id: p.id,
  name: p.name,
  homeTenantId: p.homeTenantId,
  /** Whether free and trial SKUs' seats count in billed totals. */
  includeFreeSkusInTotals: p.includeFreeSkusInTotals,
  /** The partner's own Partner Center pace; null: the service's. */
  partnerCenterRequestsPerSecond: p.partnerCenterRequestsPerSecond,
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

/**
 * A company's changes in a PATCH: the fields given replace the company's, null clears its
 * domain, tenant or account. The company as changed must pass companyChangesBody.
 */
const companyPatchBody = z
  .object({
    name: companyFields.name.optional(),
    domain: companyFields.domain.nullable(),
    customerTenantId: companyFields.customerTenantId.nullable(),
    delegatedAdminId: guid.nullable().optional(),
  })
  .strict();

/** The sentence a second company of the same customer tenant is refused with. */
const tenantTakenByCompany = 'A company with this customer tenant already exists for this partner.';

/** 400 unless the account is one of the partner's in use. */
async function checkAdminOfPartner(services: Services, partnerId: string, adminId: string) {
  if (!(await services.partners.adminBelongsTo(partnerId, adminId)))
    throw new HttpError(
      400,
      'invalid_request',
      'delegatedAdminId is not an account of this partner.',
    );
}

/** Adds a company of the partner, audited; 400 for another partner's account, 409 for a tenant taken. */
export async function addCompany(
  services: Services,
  partnerId: string,
  body: z.infer<typeof newCompanyBody>,
  actor: string,
): Promise<Company> {
  if (body.delegatedAdminId) await checkAdminOfPartner(services, partnerId, body.delegatedAdminId);
  try {
    return await services.partners.addCompany(partnerId, body, actor);
  } catch (error) {
    if (companyTenantTaken(error)) throw new HttpError(409, 'conflict', tenantTakenByCompany);
    throw error;
  }
}

/** Changes a company of the partner, audited; 404 when it has none of that id, 409 for a tenant taken. */
async function updateCompanyOr404(
  services: Services,
  partnerId: string,
  companyId: string,
  change: (before: Company) => CompanyFields,
  actor: string,
): Promise<Company> {
  let changed: Company | undefined;
  try {
    changed = await services.partners.updateCompany(partnerId, companyId, change, actor);
  } catch (error) {
    if (companyTenantTaken(error)) throw new HttpError(409, 'conflict', tenantTakenByCompany);
    throw error;
  }
  if (!changed) throw new HttpError(404, 'not_found', `No company ${companyId}.`);
  return changed;
}

/** Stored fields from a checked company: a field left out is cleared. */
const storedFields = (c: z.infer<typeof companyChangesBody>) => ({
  name: c.name,
  domain: c.domain ?? null,
  customerTenantId: c.customerTenantId ?? null,
});

/** Sets a company's name, domain and customer tenant as the setup form gives them all. */
export function changeCompany(
  services: Services,
  partnerId: string,
  companyId: string,
  body: z.infer<typeof companyChangesBody>,
  actor: string,
): Promise<Company> {
  return updateCompanyOr404(services, partnerId, companyId, () => storedFields(body), actor);
}

/**
 * Changes the fields a PATCH gives (400 naming a bad one, before anything changes), over the
 * company as it is when locked for the update; 404 and 409 as changeCompany.
 */
export async function patchCompany(
  services: Services,
  partnerId: string,
  companyId: string,
  requestBody: unknown,
  actor: string,
): Promise<Company> {
  const patch = parseOr400(companyPatchBody, requestBody ?? {});
  if (patch.delegatedAdminId)
    await checkAdminOfPartner(services, partnerId, patch.delegatedAdminId);
  // A field left out keeps the company's value; null clears it (undefined to the schema).
  const orCurrent = <T>(value: T | null | undefined, current: T | null) =>
    (value === undefined ? current : value) ?? undefined;
  return updateCompanyOr404(
    services,
    partnerId,
    companyId,
    (before) => ({
      ...storedFields(
        parseOr400(companyChangesBody, {
          name: patch.name ?? before.name,
          domain: orCurrent(patch.domain, before.domain),
          customerTenantId: orCurrent(patch.customerTenantId, before.customerTenantId),
        }),
      ),
      delegatedAdminId: patch.delegatedAdminId,
    }),
    actor,
  );
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
          // Slower than the service's when other tools share the partner's quota; null goes
          // back to the service's pace.
          partnerCenterRequestsPerSecond: z
            .number()
            .positive('expected requests per second above 0')
            .max(
              maxPartnerCenterPace,
              `expected at most ${maxPartnerCenterPace} requests per second`,
            )
            .nullable()
            .optional(),
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
