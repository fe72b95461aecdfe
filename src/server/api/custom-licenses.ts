import { Router } from 'express';
import { z } from 'zod';
import {
  customLicenseKindSchema,
  customLicenseTokenState,
  type CustomLicenseSpec,
} from '../../domain/custom-licenses.js';
import { singleLineText } from '../../domain/text.js';
import { deduplicationKeys, jobIds } from '../../queue/catalog.js';
import type { JobQueues } from '../../queue/job-queues.js';
import type { Services } from '../../dependencies.js';
import type { CustomLicenseDefinition } from '../../store/custom-licenses.js';
import { HttpError } from '../http-error.js';
import { parseOr400 } from '../validation.js';
import { attemptView, startConsent } from './consents.js';
import { partnerOr404 } from './partners.js';

const guid = z.uuid({ message: 'expected a GUID' });
const common = {
  name: singleLineText({ min: 1, max: 200 }),
  /** null or absent: every company; otherwise the chosen companies. */
  companyIds: z
    .array(guid.transform((id) => id.toLowerCase()))
    .min(1)
    .max(10_000)
    .transform((ids) => [...new Set(ids)])
    .nullable()
    .optional(),
};

const definitionView = (d: CustomLicenseDefinition) => ({
  id: d.id,
  name: d.name,
  kind: d.kind,
  ...d.params,
  companyIds: d.companyIds,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

/** A new custom license as the API and the pages take it: its name, companies and kind. */
export const newCustomLicenseBody = z
  .object(common)
  .loose()
  .transform((b, ctx) => {
    const { name, companyIds, ...rest } = b;
    const spec = customLicenseKindSchema.safeParse(rest);
    if (!spec.success) {
      for (const issue of spec.error.issues) ctx.addIssue({ ...issue, code: 'custom' });
      return z.NEVER;
    }
    return { name, companyIds: companyIds ?? null, spec: spec.data };
  });

/**
 * A definition as a change asks it to be: the fields given replace the saved ones; the kind
 * stays (400 otherwise), and the result is checked as a new one of that kind is.
 */
export function definitionChanges(existing: CustomLicenseDefinition, body: unknown) {
  const patch = parseOr400(z.object(common).partial().loose(), body);
  const { name, companyIds, ...rest } = patch;
  if ('kind' in rest && rest.kind !== existing.kind) {
    throw new HttpError(
      400,
      'invalid_request',
      'kind cannot change: create another custom license and delete this one.',
    );
  }
  const spec: CustomLicenseSpec = parseOr400(customLicenseKindSchema, {
    ...existing.params,
    ...rest,
    kind: existing.kind,
  });
  return {
    name: name ?? existing.name,
    companyIds: companyIds === undefined ? existing.companyIds : companyIds,
    spec,
  };
}

/** The companies chosen must be the partner's own (400 naming the others). */
export async function checkCompanies(
  services: Services,
  partnerId: string,
  ids: string[] | null | undefined,
) {
  if (!ids) return;
  const own = new Set((await services.partners.companies(partnerId)).map((c) => c.id));
  const unknown = ids.filter((id) => !own.has(id.toLowerCase()));
  if (unknown.length > 0) {
    throw new HttpError(
      400,
      'invalid_request',
      `companyIds: not companies of this partner: ${unknown.slice(0, 5).join(', ')}.`,
    );
  }
}

/** The custom-license token (its consent, status and validation) and custom-license definitions. */
export function customLicensesRouter(
  services: Services,
  queues: JobQueues,
  publicUrl: string,
  actor: string,
): Router {
  const router = Router();

  router.post('/partners/:id/custom-license-token/consents', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    res
      .status(201)
      .json(await startConsent(services, publicUrl, partner.id, 'custom_license', req.body));
  });

  router.get('/partners/:id/custom-license-token', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const [token, attempt] = await Promise.all([
      services.customLicenses.currentToken(partner.id),
      services.attempts.latest(partner.id, 'custom_license'),
    ]);
    const state = customLicenseTokenState(token, new Date());
    const attemptShown = attempt ? attemptView(attempt) : null;
    res.json({
      ...state,
      // A generation that just failed says why before the older token's state.
      nextAction: attemptShown?.status === 'failed' ? attemptShown.message : state.nextAction,
      upn: token?.username ?? null,
      grantedScopes: token?.grantedScopes ?? [],
      lastValidatedAt: token?.lastValidatedAt ?? null,
      lastUsedAt: token?.lastUsedAt ?? null,
      generatedAt: token?.consentedAt ?? null,
      attempt: attemptShown,
    });
  });

  // Validate now: uses the token (keeping it alive) and records the outcome.
  router.post('/partners/:id/custom-license-token/validate', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    if (!(await services.customLicenses.currentToken(partner.id))) {
      throw new HttpError(
        409,
        'no_token',
        'No custom-license token has been generated: generate it first.',
      );
    }
    const job = await queues.enqueue(
      'validateCustomLicenseToken',
      { partnerId: partner.id },
      {
        jobId: jobIds.validateCustomLicenseToken(partner.id, `request-${Date.now()}`),
        deduplicationKey: deduplicationKeys.validateCustomLicenseToken(partner.id),
      },
    );
    res.status(202).json({ jobId: job.id });
  });

  router.get('/partners/:id/custom-licenses', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const definitions = await services.customLicenses.definitions(partner.id);
    res.json({ customLicenses: definitions.map(definitionView) });
  });

  router.post('/partners/:id/custom-licenses', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const body = parseOr400(newCustomLicenseBody, req.body);
    await checkCompanies(services, partner.id, body.companyIds);
    const created = await services.customLicenses.createDefinition(partner.id, body, actor);
    res.status(201).json(definitionView(created));
  });

  const definitionOr404 = async (partnerId: string, id: string) => {
    const found = guid.safeParse(id).success
      ? await services.customLicenses.definition(partnerId, id)
      : undefined;
    if (!found) throw new HttpError(404, 'not_found', `No custom license ${id}.`);
    return found;
  };

  router.patch('/partners/:id/custom-licenses/:definitionId', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const existing = await definitionOr404(partner.id, req.params.definitionId);
    const { name, companyIds, spec } = definitionChanges(existing, req.body ?? {});
    await checkCompanies(services, partner.id, companyIds);
    const updated = await services.customLicenses.updateDefinition(
      partner.id,
      existing.id,
      { name, companyIds, spec },
      actor,
    );
    if (!updated) throw new HttpError(404, 'not_found', `No custom license ${existing.id}.`);
    res.json(definitionView(updated));
  });

  router.delete('/partners/:id/custom-licenses/:definitionId', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const existing = await definitionOr404(partner.id, req.params.definitionId);
    await services.customLicenses.deleteDefinition(partner.id, existing.id, actor);
    res.status(204).end();
  });

  return router;
}
