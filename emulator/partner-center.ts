// Stays whole: one router for the emulated Partner Center API (limits: partner-center-limits.ts).
import { randomUUID } from 'node:crypto';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { amrHasMfa, subscribedSkus, type Customer, type Partner } from './tenants.js';
import { sendPartnerCenterError, sendPartnerCenterThrottled } from './errors.js';
import { gdapAllows, gdapRolesOf, type DirectoryRole } from './gdap.js';
import { applicationConsentRoutes } from './partner-center-consents.js';
import { partnerCenterLimits } from './partner-center-limits.js';
import { partnerRoles, type PartnerRole } from './scenario.js';
import type { EmulatorState } from './state.js';
import { provisioningStatusResource, subscriptionResource } from './subscriptions.js';
import { resources, verifyAccessToken, type AccessTokenClaims } from './tokens.js';

/**
 * Which agent roles may make each call (Partner Center's role descriptions: all three agents
 * search for and view customers; Admin and Sales agents manage subscriptions; only Admin
 * agents administer on behalf of a customer, which reading its licenses is). Paths not listed
 * need an Admin Agent.
 */
const roleRules: [RegExp, PartnerRole[]][] = [
  [/^\/customers\/[^/]+\/subscribedskus$/, ['AdminAgents']],
  [/^\/customers\/[^/]+\/subscriptions(\/.*)?$/, ['AdminAgents', 'SalesAgents']],
  [/^\/customers(\/[^/]+)?\/?$/, [...partnerRoles]],
  [/^\/profiles\//, [...partnerRoles]],
];
const rolesAllowed = (path: string): PartnerRole[] =>
  roleRules.find(([pattern]) => pattern.test(path))?.[1] ?? ['AdminAgents'];
/** Partner Center's sentence for a call the user's role may not make. */
const roleRefusal =
  'The supplied role does not have the rights to perform the requested operation.';
const roleRefusalCode = 403;
/** Partner Center's answer when the partner's delegated admin access does not reach a customer. */
const gdapRefusal = 'No relationship between caller and account.';

interface PcLocals {
  claims: AccessTokenClaims;
  partner: Partner;
}

function collection(items: unknown[], selfUri: string, next?: { uri: string; token: string }) {
  return {
    totalCount: items.length,
    items,
    links: {
      self: { uri: selfUri, method: 'GET', headers: [] },
      ...(next
        ? {
            next: {
              uri: next.uri,
              method: 'GET',
              headers: [{ key: 'MS-ContinuationToken', value: next.token }],
            },
          }
        : {}),
    },
    ...(next ? { continuationToken: next.token } : {}),
    attributes: { objectType: 'Collection' },
  };
}

function customerResource(c: Customer) {
  return {
    id: c.tenantId,
    commerceId: c.tenantId,
    companyProfile: {
      tenantId: c.tenantId,
      domain: c.domain,
      companyName: c.name,
      attributes: { objectType: 'CustomerCompanyProfile' },
    },
    relationshipToPartner: c.relationshipToPartner,
    allowDelegatedAccess: c.delegatedAccess,
    links: { self: { uri: `/customers/${c.tenantId}`, method: 'GET', headers: [] } },
    attributes: { objectType: 'Customer' },
  };
}

function parseContinuation(
  token: string,
  partner: Partner,
): { offset: number; size: number } | undefined {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    if (value.p !== partner.tenantId || typeof value.o !== 'number' || typeof value.s !== 'number')
      return undefined;
    return { offset: value.o, size: value.s };
  } catch {
    return undefined;
  }
}

/** Partner Center REST (/v1): customers, subscriptions, subscribed SKUs, profile. */
export function partnerCenterRouter(state: EmulatorState): Router {
  const router = Router();

  router.use((req: Request, res: Response, next: NextFunction) => {
    res.set({
      'MS-RequestId': req.get('MS-RequestId') ?? randomUUID(),
      'MS-CorrelationId': req.get('MS-CorrelationId') ?? randomUUID(),
      'MS-CV': `${randomUUID().slice(0, 8)}.0`,
      'MS-ServerId': 'emulator',
    });
    void authenticate(req, res, next);
  });

  async function authenticate(req: Request, res: Response, next: NextFunction): Promise<void> {
    const header = req.get('authorization') ?? '';
    const token = header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : undefined;
    res.set('WWW-Authenticate', 'OAuth realm=urn:cpsvc:cpid:emulator');
    if (!token)
      return sendPartnerCenterError(res, 401, 800001, 'Partner Token missing in request context.');
    const claims = await verifyAccessToken(
      state.keys,
      token,
      [resources.partnerCenter],
      state.now(),
    );
    if (!claims)
      return sendPartnerCenterError(
        res,
        401,
        400,
        'Access denied: the access token is invalid, expired or not for Partner Center.',
      );
    res.locals.tenantId = claims.tid;
    const partner = state.directory.partner(claims.tid);
    if (!partner)
      return sendPartnerCenterError(res, 401, 800001, 'Partner Token missing in request context.');
    res.locals.partnerTenantId = partner.tenantId;
    res.removeHeader('WWW-Authenticate');
    const waitMs = state.throttle(partner.tenantId, 'partnerCenter');
    if (waitMs > 0) return sendPartnerCenterThrottled(res, Math.max(1, Math.ceil(waitMs / 1000)));
    if (!claims.scp.split(' ').includes('user_impersonation')) {
      return sendPartnerCenterError(
        res,
        401,
        400,
        'Access denied: the token lacks the user_impersonation scope.',
      );
    }
    if (!amrHasMfa(claims.amr ?? [])) {
      return sendPartnerCenterError(
        res,
        401,
        900421,
        'Multi-factor authentication is required for this operation. The access token does not show that the user completed MFA (amr claim).',
      );
    }
    const user = state.directory.userByOid(claims.oid);
    const roles = user ? state.directory.rolesOf(user) : [];
    if (!rolesAllowed(req.path).some((role) => roles.includes(role))) {
      return sendPartnerCenterError(res, 403, roleRefusalCode, roleRefusal);
    }
    (res.locals as PcLocals & Record<string, unknown>).claims = claims;
    (res.locals as PcLocals & Record<string, unknown>).partner = partner;
    next();
  }

  router.use(partnerCenterLimits(state));

  const partnerOf = (res: Response) => (res.locals as unknown as PcLocals).partner;

  router.get('/customers', (req, res) => {
    const partner = partnerOf(res);
    let offset = 0;
    let size: number;
    if (req.query.seekOperation !== undefined) {
      const token = req.get('MS-ContinuationToken');
      const position =
        req.query.seekOperation === 'Next' && token ? parseContinuation(token, partner) : undefined;
      if (!position)
        return sendPartnerCenterError(
          res,
          400,
          400,
          'The continuation token is missing or invalid.',
        );
      ({ offset, size } = position);
    } else {
      // `size` is required; get-a-list-of-customers documents no largest page.
      size = Number(req.query.size);
      if (typeof req.query.size !== 'string' || !Number.isInteger(size) || size < 1) {
        return sendPartnerCenterError(
          res,
          400,
          400,
          'The size parameter is required: the number of customers to return, a positive integer.',
        );
      }
    }
    const page = partner.customers.slice(offset, offset + size);
    const nextOffset = offset + page.length;
    const next =
      nextOffset < partner.customers.length
        ? {
            uri: `/customers?size=${size}&seekOperation=Next`,
            token: Buffer.from(
              JSON.stringify({ o: nextOffset, s: size, p: partner.tenantId }),
            ).toString('base64url'),
          }
        : undefined;
    res.json(collection(page.map(customerResource), `/customers?size=${size}`, next));
  });

  /** The customer named in the path, or an answer saying why not. */
  function customerFor(req: Request, res: Response, commerce: boolean): Customer | undefined {
    const partner = partnerOf(res);
    const id = String(req.params.customerId).toLowerCase();
    const customer = state.directory.customer(id);
    if (!customer || customer.tenantId !== id) {
      sendPartnerCenterError(res, 404, 1000, `Customer ${id} was not found.`);
      return undefined;
    }
    if (
      customer.partnerTenantId !== partner.tenantId ||
      (commerce && customer.relationshipToPartner !== 'reseller')
    ) {
      sendPartnerCenterError(
        res,
        403,
        20002,
        'The partner does not have a commerce relationship with the customer.',
      );
      return undefined;
    }
    return customer;
  }

  router.get('/customers/:customerId', (req, res) => {
    const customer = customerFor(req, res, false);
    if (customer) res.json(customerResource(customer));
  });

  router.get('/customers/:customerId/subscriptions', (req, res) => {
    const customer = customerFor(req, res, true);
    if (!customer) return;
    const detail = state.directory.detail(customer);
    const items = detail.subscriptions.map((s) =>
      subscriptionResource(s, partnerOf(res), customer, state.now()),
    );
    res.json(collection(items, `/customers/${customer.tenantId}/subscriptions`));
  });

  /** The subscription named in the path (ids compare case-insensitively), or a 404. */
  function subscriptionFor(req: Request, res: Response) {
    const customer = customerFor(req, res, true);
    if (!customer) return undefined;
    const id = String(req.params.subscriptionId).toLowerCase();
    const subscription = state.directory
      .detail(customer)
      .subscriptions.find((s) => s.id.toLowerCase() === id);
    if (!subscription) {
      sendPartnerCenterError(res, 404, 1000, `Subscription ${id} was not found.`);
      return undefined;
    }
    return { customer, subscription };
  }

  router.get('/customers/:customerId/subscriptions/:subscriptionId', (req, res) => {
    const found = subscriptionFor(req, res);
    if (found)
      res.json(
        subscriptionResource(found.subscription, partnerOf(res), found.customer, state.now()),
      );
  });

  router.get(
    '/customers/:customerId/subscriptions/:subscriptionId/provisioningstatus',
    (req, res) => {
      const found = subscriptionFor(req, res);
      if (found) res.json(provisioningStatusResource(found.subscription, state.now()));
    },
  );

  applicationConsentRoutes(router, state, (req, res) => customerFor(req, res, false));

  router.get('/customers/:customerId/subscribedskus', (req, res) => {
    const customer = customerFor(req, res, true);
    if (!customer) return;
    // App+User through GDAP: the user's roles in the customer tenant must read licenses
    // (dap-api-impact, GetSubscribedSkus); the refusal Partner Center gives when delegated
    // admin access is gone (microsoft/Partner-Smart-Office#12).
    const user = state.directory.userByOid((res.locals as unknown as PcLocals).claims.oid);
    const roles = user
      ? gdapRolesOf(state.directory, user, customer, state.now())
      : new Set<DirectoryRole>();
    if (!gdapAllows(roles, 'licenses')) return sendPartnerCenterError(res, 403, 20002, gdapRefusal);
    const items = subscribedSkus(state.directory.detail(customer)).map((s) => {
      const totalUnits = s.activeUnits + s.warningUnits;
      return {
        availableUnits: totalUnits - s.consumedUnits,
        activeUnits: s.activeUnits,
        consumedUnits: s.consumedUnits,
        suspendedUnits: s.suspendedUnits,
        totalUnits,
        warningUnits: s.warningUnits,
        productSku: {
          id: s.sku.skuId,
          name: s.sku.displayName,
          skuPartNumber: s.sku.skuPartNumber,
          targetType: 'User',
          licenseGroupId: 'group1',
        },
        servicePlans: [],
        capabilityStatus: s.activeUnits > 0 ? 'Enabled' : 'Suspended',
        attributes: { objectType: 'SubscribedSku' },
      };
    });
    res.json(collection(items, `/customers/${customer.tenantId}/subscribedskus`));
  });

  router.get('/profiles/organization', (_req, res) => {
    const partner = partnerOf(res);
    res.json({
      id: partner.tenantId,
      companyName: partner.name,
      tenantId: partner.tenantId,
      domain: partner.domain,
      email: `admin@${partner.domain}`,
      language: 'en',
      culture: 'en-US',
      defaultAddress: {
        country: 'US',
        city: 'Redmond',
        state: 'WA',
        addressLine1: '1 Microsoft Way',
        postalCode: '98052',
      },
      profileType: 'OrganizationProfile',
      links: { self: { uri: '/profiles/organization', method: 'GET', headers: [] } },
      attributes: { etag: `"${partner.tenantId.slice(0, 8)}"`, objectType: 'OrganizationProfile' },
    });
  });

  return router;
}
