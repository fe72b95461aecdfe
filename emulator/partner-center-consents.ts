import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { sendPartnerCenterError } from './errors.js';
import { permissionOf, resourceOf } from './scopes.js';
import type { EmulatorState } from './state.js';
import type { Customer } from './tenants.js';
import { graphAppId, resources } from './tokens.js';

// The Control Panel Vendor consent API: an Admin Agent consents the app in a customer tenant
// through Partner Center (learn.microsoft.com partner-center/developer control-panel-vendor-apis,
// create-application-consent; PowerShell New-PartnerCustomerApplicationConsent).

/** Enterprise application ids of the resources a grant may name, to their App ID URIs. */
const resourceByAppId: Record<string, string> = {
  [graphAppId]: resources.graph,
  'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd': resources.partnerCenter,
};

const guid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
/** Partner Center's JSON binding is case-insensitive (CIPP sends ApplicationId...): lower-cased keys. */
const consentBody = z.object({
  applicationid: guid,
  applicationgrants: z
    .array(
      z.object({
        enterpriseapplicationid: guid,
        /** Comma-separated permission names, e.g. "Directory.Read.All,Reports.Read.All". */
        scope: z.string().min(1),
      }),
    )
    .min(1),
  displayname: z.string().optional(),
});

function lowerKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerKeys);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k.toLowerCase(), lowerKeys(v)]),
    );
  return value;
}

function consentResource(
  applicationId: string,
  displayName: string | undefined,
  scopes: string[],
): Record<string, unknown> {
  const byResource = new Map<string, string[]>();
  for (const scope of scopes) {
    const resource = resourceOf(scope)!;
    byResource.set(resource, [...(byResource.get(resource) ?? []), permissionOf(scope)]);
  }
  const appIdOf = (resource: string) =>
    Object.entries(resourceByAppId).find(([, uri]) => uri === resource)?.[0] ?? resource;
  return {
    applicationId,
    ...(displayName !== undefined ? { displayName } : {}),
    applicationGrants: [...byResource].map(([resource, names]) => ({
      enterpriseApplicationId: appIdOf(resource),
      scope: names.join(','),
    })),
    attributes: { objectType: 'ApplicationConsent' },
  };
}

/**
 * POST /customers/{id}/applicationconsents (201, the consent: the app is consented in that
 * tenant for the grants' scopes; 409 when it already is) and DELETE
 * /customers/{id}/applicationconsents/{applicationId} (204; 404 when there is none).
 */
export function applicationConsentRoutes(
  router: Router,
  state: EmulatorState,
  customerFor: (req: Request, res: Response) => Customer | undefined,
): void {
  router.post(
    '/customers/:customerId/applicationconsents',
    express.text({ type: () => true, limit: '1mb' }),
    (req, res) => {
      const customer = customerFor(req, res);
      if (!customer) return;
      let raw: unknown;
      try {
        raw = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        return sendPartnerCenterError(res, 400, 400, 'The request body is not valid JSON.');
      }
      const body = consentBody.safeParse(lowerKeys(raw));
      if (!body.success)
        return sendPartnerCenterError(
          res,
          400,
          400,
          `Invalid application consent: ${body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`,
        );
      const { applicationid: applicationId, applicationgrants, displayname } = body.data;
      if (!state.scenario.clients.some((c) => c.clientId === applicationId.toLowerCase()))
        return sendPartnerCenterError(
          res,
          400,
          400,
          `Application ${applicationId} was not found in the partner tenant.`,
        );
      const scopes: string[] = [];
      for (const grant of applicationgrants) {
        const resource = resourceByAppId[grant.enterpriseapplicationid.toLowerCase()];
        if (!resource)
          return sendPartnerCenterError(
            res,
            400,
            400,
            `Enterprise application ${grant.enterpriseapplicationid} is not a known resource.`,
          );
        for (const name of grant.scope.split(',').map((s) => s.trim()))
          if (name) scopes.push(`${resource}/${name}`);
      }
      if (customer.appConsent !== false)
        return sendPartnerCenterError(
          res,
          409,
          409,
          `Permission entry already exists for application ${applicationId}.`,
        );
      customer.appConsent = { scopes: [...new Set(scopes)] };
      res.status(201).json(consentResource(applicationId.toLowerCase(), displayname, scopes));
    },
  );

  router.delete('/customers/:customerId/applicationconsents/:applicationId', (req, res) => {
    const customer = customerFor(req, res);
    if (!customer) return;
    const applicationId = String(req.params.applicationId).toLowerCase();
    if (
      customer.appConsent === false ||
      !state.scenario.clients.some((c) => c.clientId === applicationId)
    )
      return sendPartnerCenterError(
        res,
        404,
        1000,
        `Application consent ${applicationId} was not found.`,
      );
    customer.appConsent = false;
    res.status(204).end();
  });
}
