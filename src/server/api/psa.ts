import { Router } from 'express';
import { z } from 'zod';
import type { Services } from '../../dependencies.js';
import { prorationPolicies } from '../../domain/billing.js';
import { psaKinds, type PsaClient } from '../../psa/client.js';
import { PsaError } from '../../psa/errors.js';
import { psaClientFor, saveConnection, testConnection } from '../../services/psa-connections.js';
import {
  companyMatches,
  linkCompany,
  MappingRefused,
  mapProduct,
  microsoftProducts,
  unmapped,
} from '../../services/psa-mapping.js';
import type { JobQueues } from '../../queue/job-queues.js';
import type { PsaConnectionView } from '../../store/psa-connections.js';
import { HttpError } from '../http-error.js';
import { invalidRequestSentence, parseOr400 } from '../validation.js';
import { partnerOr404 } from './partners.js';

const connectionView = (c: PsaConnectionView) => ({
  kind: c.kind,
  settings: c.settings,
  effectiveDatePolicy: c.effectiveDatePolicy,
  proration: c.proration,
  status: c.status,
  lastError: c.lastError,
  lastTestedAt: c.lastTestedAt,
  updatedAt: c.updatedAt,
});

/** What a PSA's failure answers with: the PSA's own words, and whose problem it is. */
function psaHttpError(error: PsaError): HttpError {
  const status =
    error.kind === 'rate_limited' || error.kind === 'transient'
      ? 503
      : error.kind === 'not_found'
        ? 404
        : error.kind === 'validation'
          ? 422
          : 502;
  return new HttpError(status, `psa_${error.kind}`, `The PSA answered: ${error.message}`);
}

/** Runs a call to the PSA, turning its failures into answers and refusals into 400s. */
async function psaCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof PsaError) throw psaHttpError(error);
    if (error instanceof MappingRefused) throw new HttpError(400, 'invalid_request', error.message);
    throw error;
  }
}

async function psaClientOr409(
  services: Services,
  partnerId: string,
): Promise<{ client: PsaClient; connection: PsaConnectionView }> {
  const found = await psaClientFor(services, partnerId);
  if (!found)
    throw new HttpError(409, 'no_psa_connection', 'This partner has no PSA connection yet.');
  return found;
}

const id = z.string().trim().min(1).max(64);
const connectionBody = z
  .object({
    kind: z.enum(psaKinds),
    /** When planned changes take effect. Default: today */
    effectiveDatePolicy: z.enum(['today', 'next_month']).default('today'),
    /** Whether changes inside a billing period are prorated. Default: prorate */
    proration: z.enum(prorationPolicies).default('prorate'),
  })
  .passthrough();
const linkBody = z.object({ psaCompanyId: id, containerId: id.optional() }).strict();
const sourceSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('sku'),
      skuId: z.uuid().transform((v) => v.toLowerCase()),
      term: z.enum(['P1M', 'P1Y', 'P3Y']).optional(),
    })
    .strict(),
  z.object({ kind: z.literal('custom'), definitionId: z.uuid() }).strict(),
]);
/** A product mapping as the API takes it; the setup page's forms are checked by it too. */
export const productMappingBody = z
  .object({
    source: sourceSchema,
    psaProductId: id,
    countBasis: z.enum(['purchased', 'assigned', 'custom_count']),
    /** Default: approval */
    applyMode: z.enum(['automatic', 'approval']).default('approval'),
  })
  .strict();

/** The partner's PSA connection, its company links and its product mappings. */
export function psaRouter(services: Services, queues: JobQueues, actor: string): Router {
  const router = Router();
  const testDeps = { ...services, queues };

  router.get('/partners/:id/psa-connection', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const connection = await services.psaConnections.get(partner.id);
    if (!connection) throw new HttpError(404, 'not_found', 'This partner has no PSA connection.');
    res.json(connectionView(connection));
  });

  // Saves the connection, then tries it: the answer says at once whether it works.
  router.put('/partners/:id/psa-connection', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const { kind, effectiveDatePolicy, proration, ...fields } = parseOr400(
      connectionBody,
      req.body ?? {},
    );
    let connection: PsaConnectionView;
    try {
      connection = await saveConnection(
        services,
        partner.id,
        { kind, effectiveDatePolicy, proration, fields },
        actor,
      );
    } catch (error) {
      if (error instanceof z.ZodError)
        throw new HttpError(400, 'invalid_request', invalidRequestSentence(error));
      throw error;
    }
    const test = await testConnection(testDeps, partner.id);
    const saved = (await services.psaConnections.get(partner.id)) ?? connection;
    res.json({ ...connectionView(saved), test });
  });

  router.post('/partners/:id/psa-connection/test', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const test = await testConnection(testDeps, partner.id);
    if (!test) throw new HttpError(404, 'not_found', 'This partner has no PSA connection.');
    res.json(test);
  });

  router.delete('/partners/:id/psa-connection', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    if (!(await services.psaConnections.remove(partner.id, actor)))
      throw new HttpError(404, 'not_found', 'This partner has no PSA connection.');
    res.status(204).end();
  });

  router.get('/partners/:id/psa/companies', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const { client } = await psaClientOr409(services, partner.id);
    res.json(await psaCall(() => companyMatches(services, partner.id, client)));
  });

  router.get('/partners/:id/psa/companies/:psaCompanyId/containers', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const psaCompanyId = parseOr400(id, req.params.psaCompanyId);
    const { client } = await psaClientOr409(services, partner.id);
    res.json({ containers: await psaCall(() => client.listContainers(psaCompanyId)) });
  });

  router.put('/partners/:id/companies/:companyId/psa-link', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const company = await companyOr404(services, partner.id, req.params.companyId);
    const body = parseOr400(linkBody, req.body ?? {});
    const { client } = await psaClientOr409(services, partner.id);
    const link = await psaCall(() =>
      linkCompany(services, partner.id, client, { companyId: company.id, ...body }, actor),
    );
    res.json(link);
  });

  router.delete('/partners/:id/companies/:companyId/psa-link', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const company = await companyOr404(services, partner.id, req.params.companyId);
    if (!(await services.psaConnections.unlink(partner.id, company.id, actor)))
      throw new HttpError(404, 'not_found', `${company.name} is not linked to a PSA company.`);
    res.status(204).end();
  });

  router.get('/partners/:id/psa/products', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const { client } = await psaClientOr409(services, partner.id);
    res.json({ products: await psaCall(() => client.listProducts()) });
  });

  router.get('/partners/:id/psa/product-mappings', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const [mappings, products, missing] = await Promise.all([
      services.psaConnections.mappings(partner.id),
      microsoftProducts(services, partner.id),
      unmapped(services, partner.id),
    ]);
    res.json({ mappings, microsoftProducts: products, unmapped: missing });
  });

  router.post('/partners/:id/psa/product-mappings', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const body = parseOr400(productMappingBody, req.body ?? {});
    const { client } = await psaClientOr409(services, partner.id);
    const mapping = await psaCall(() => mapProduct(services, partner.id, client, body, actor));
    res.status(201).json(mapping);
  });

  router.delete('/partners/:id/psa/product-mappings/:mappingId', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const mappingId = parseOr400(z.uuid(), req.params.mappingId);
    if (!(await services.psaConnections.removeMapping(partner.id, mappingId, actor)))
      throw new HttpError(404, 'not_found', `No product mapping ${mappingId}.`);
    res.status(204).end();
  });

  return router;
}

export async function companyOr404(services: Services, partnerId: string, companyId: string) {
  const company = z.uuid().safeParse(companyId).success
    ? await services.partners.company(partnerId, companyId)
    : undefined;
  if (!company) throw new HttpError(404, 'not_found', `No company ${companyId}.`);
  return company;
}
