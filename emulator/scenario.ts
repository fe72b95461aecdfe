import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { directoryRoleNames, relationshipStatuses } from './gdap.js';

// The scenario document: who exists in the emulated Microsoft cloud and how it behaves.
// emulator/scenario.schema.json is generated from this schema (npm run emulator:schema).
// Stays whole: the schema and the loader that applies it change together with the format.

const guid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a GUID')
  .transform((v) => v.toLowerCase());
const upn = z
  .string()
  .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'expected a user principal name such as admin@contoso.com')
  .transform((v) => v.toLowerCase());
const domain = z
  .string()
  .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i, 'expected a DNS domain')
  .transform((v) => v.toLowerCase());

const clientSchema = z.object({
  clientId: guid,
  clientSecret: z.string().min(1),
  redirectUris: z.array(z.string().url()).min(1),
});

/** Partner Center's agent roles: the partner tenant's groups of these names. */
export const partnerRoles = ['AdminAgents', 'SalesAgents', 'HelpdeskAgents'] as const;
export type PartnerRole = (typeof partnerRoles)[number];

/** Authentication methods an access token's amr claim may list (id-token-claims-reference). */
const amrValues = [
  'pwd',
  'rsa',
  'otp',
  'fed',
  'wia',
  'mfa',
  'ngcmfa',
  'fido',
  'sms',
  'tel',
  'hwk',
  'swk',
  'kba',
  'pin',
] as const;

/** The partner tenant's Conditional Access, as it applies to one user's refresh tokens. */
export const userPolicySchema = z
  .object({
    /** Sign-in frequency: refresh tokens from sign-ins older than this fail with AADSTS70043. */
    signInFrequencySec: z.number().int().positive().nullable().optional(),
    /** MFA older than this no longer counts: AADSTS50078. */
    mfaMaxAgeSec: z.number().int().positive().nullable().optional(),
    /** Every token request of the user fails with AADSTS53003. */
    blockedByConditionalAccess: z.boolean().optional(),
    /** MFA required: refresh tokens from sign-ins without MFA fail with AADSTS50076. */
    mfaRequired: z.boolean().optional(),
  })
  .strict();
export type UserPolicy = z.infer<typeof userPolicySchema>;

const partnerUserSchema = z.object({
  upn,
  displayName: z.string().optional(),
  /** Signs in with MFA: access tokens carry amr ["pwd","mfa"], else ["pwd"]. */
  mfa: z.boolean().default(true),
  /** Shorthand for roles ["AdminAgents"]. */
  adminAgent: z.boolean().default(false),
  /** Partner Center agent roles: membership of the AdminAgents, SalesAgents, HelpdeskAgents groups. */
  roles: z.array(z.enum(partnerRoles)).default([]),
  /** The sign-in's methods, e.g. ["pwd","ngcmfa"]; overrides `mfa` (mfa or ngcmfa count as MFA). */
  amr: z.array(z.enum(amrValues)).min(1).optional(),
  /** Conditional Access that applies to this user's sign-ins. */
  policy: userPolicySchema.default({}),
  /** When set, consent grants only these of the requested scopes. */
  grantedScopes: z.array(z.string()).optional(),
});

const subscriptionSchema = z
  .object({
    /** Default: derived from the customer and the subscription's position. */
    id: guid.optional(),
    skuPartNumber: z.string(),
    quantity: z.number().int().min(0),
    /** nce: offer id productId:skuId:availabilityId; legacy: a license-based offer's GUID. Default: nce */
    commerce: z.enum(['nce', 'legacy']).default('nce'),
    /** P1M (one month), P1Y (one year) or P3Y (three years, new commerce only). Default: P1M */
    termDuration: z.enum(['P1M', 'P1Y', 'P3Y']).default('P1M'),
    /** Default: monthly for P1M, annual for P1Y and P3Y. */
    billingCycle: z.enum(['monthly', 'annual', 'triennial']).optional(),
    /** Default: active */
    status: z
      .enum(['active', 'suspended', 'disabled', 'expired', 'deleted', 'pending'])
      .default('active'),
    /** Default: true */
    autoRenewEnabled: z.boolean().default(true),
    /** Default: false */
    isTrial: z.boolean().default(false),
    /** When the first term began (ISO 8601). Default: 2024-01-01T00:00:00Z */
    creationDate: z.iso.datetime().optional(),
  })
  .refine((s) => !(s.commerce === 'legacy' && s.termDuration === 'P3Y'), {
    message: 'a legacy subscription has a P1M or P1Y term',
  })
  .refine((s) => s.billingCycle !== 'triennial' || s.termDuration === 'P3Y', {
    message: 'a triennial billing cycle needs a P3Y term',
  })
  .refine(
    (s) => s.billingCycle === undefined || s.termDuration !== 'P1M' || s.billingCycle === 'monthly',
    {
      message: 'a P1M term is billed monthly',
    },
  );

const directoryUserSchema = z.object({
  upn,
  displayName: z.string().optional(),
  /** SKU part numbers assigned to the user. */
  licenses: z.array(z.string()).default([]),
  /** Exchange mailbox: a user, shared, room or equipment mailbox, or none. */
  mailbox: z.enum(['user', 'shared', 'room', 'equipment', 'none']).default('user'),
  /** Days before the emulator's clock the mailbox was created (usage reports lag). Default: 365 */
  mailboxCreatedDaysAgo: z.number().int().min(0).default(365),
  /**
   * Days before the emulator's clock the user was deleted: gone from /users, still in the
   * usage reports whose period it was active in. Default: not deleted
   */
  deletedDaysAgo: z.number().int().min(0).optional(),
});

const groupSchema = z.object({
  id: guid.optional(),
  displayName: z.string(),
  /** UPNs of users, or display names of groups (nested). */
  members: z.array(z.string()).default([]),
});

/** How a customer tenant treats the partner's users when they sign in to it. */
const customerSignInSchema = z.object({
  /** Partner users who are also guests in this tenant: AADSTS50020 there. */
  guests: z.array(upn).default([]),
  /** Partner users in no GDAP security group for this tenant: AADSTS50177 there. */
  withoutGdapGroup: z.array(upn).default([]),
  /** The customer's Conditional Access blocks the partner's users: AADSTS53003 there. */
  blockedByConditionalAccess: z.boolean().default(false),
  /** The customer refuses delegated admins at risk in their home tenant: AADSTS530034 there. */
  delegatedAdminBlocked: z.boolean().default(false),
});

/** A delegated admin (GDAP) relationship with the customer (resources/delegatedadminrelationship). */
export const relationshipSchema = z.object({
  /** Default: derived from the customer and the relationship's position. */
  id: z.string().min(1).optional(),
  /** Names starting with MLT_ are Microsoft-led transition relationships: read-only. */
  displayName: z.string().min(1),
  /** Default: active */
  status: z.enum(relationshipStatuses).default('active'),
  /**
   * ISO 8601, or days from the emulator's start such as "+P20D" or "-P10D". An active
   * relationship past it is expired (unless it auto-extends). Default: "+P365D"
   */
  endDateTime: z
    .union([
      z.iso.datetime(),
      z.string().regex(/^[+-]P\d+D$/, 'expected an ISO 8601 date-time or days such as +P20D'),
    ])
    .default('+P365D'),
  /** PT0S (no) or P180D (extends by 180 days at its end; never with Global Administrator). */
  autoExtendDuration: z.enum(['PT0S', 'P180D']).default('PT0S'),
  /** Partner security groups (by display name) and the Entra roles each holds. */
  accessAssignments: z
    .array(
      z.object({
        group: z.string().min(1),
        roles: z.array(z.enum(directoryRoleNames)).min(1),
      }),
    )
    .default([]),
});

export const appConsentSchema = z.union([
  z.boolean(),
  z.object({ scopes: z.array(z.string().min(1)).min(1) }).strict(),
]);

const explicitCustomerSchema = z.object({
  tenantId: guid,
  name: z.string(),
  domain,
  /**
   * Shorthand for `gdap`: true, one active relationship granting Global Reader to the group
   * "All partner users" (every partner user; made unless the partner names such a group);
   * false, none. Not together with `gdap`. Default: true
   */
  delegatedAccess: z.boolean().optional(),
  /** The partner's delegated admin relationships with this customer, any status. */
  gdap: z.array(relationshipSchema).optional(),
  /**
   * The app's consent in this tenant: true (every scope it asks for), false (none: AADSTS90099
   * there), or only `scopes` (Graph permission names or full scope URIs; others AADSTS65001).
   * Default: true
   */
  appConsent: appConsentSchema.default(true),
  relationshipToPartner: z.enum(['reseller', 'advisor']).default('reseller'),
  /**
   * The tenant setting "Display concealed user, group, and site names in all reports": usage
   * reports show hashes instead of names. Microsoft's default since 2021. Default: true
   */
  concealedNamesInReports: z.boolean().default(true),
  subscriptions: z.array(subscriptionSchema).default([]),
  users: z.array(directoryUserSchema).default([]),
  groups: z.array(groupSchema).default([]),
  ...customerSignInSchema.shape,
});

const generatedCustomersSchema = z.object({
  generate: z.object({
    seed: z.number().int(),
    count: z.number().int().min(0).max(50_000),
    /**
     * Share of customers the partner cannot read: no relationship, an expired or terminated
     * one, one without a role licenses need, or no app consent. Default: 0
     */
    withoutDelegatedAccess: z.number().min(0).max(1).default(0),
    /** Share of customers with an active relationship but without the app consented. Default: 0 */
    withoutAppConsent: z.number().min(0).max(1).default(0),
  }),
});

const partnerSchema = z.object({
  tenantId: guid,
  name: z.string(),
  domain,
  users: z.array(partnerUserSchema).min(1),
  /**
   * Security groups of the partner tenant; members are UPNs or group names. A group named
   * AdminAgents, SalesAgents or HelpdeskAgents adds its members to that role (nesting counts).
   */
  groups: z.array(groupSchema).default([]),
  rateLimits: z
    .object({
      /** Partner Center requests per second for this partner tenant. Default: 10 */
      partnerCenterRps: z.number().positive().default(10),
      /**
       * Requests per minute to each Partner Center API that throttles per partner and
       * customer tenant (subscriptions, a customer by id, orders...). Default: 500
       */
      customerApiPerMinute: z.number().positive().default(500),
    })
    .prefault({}),
  customers: z.union([z.array(explicitCustomerSchema), generatedCustomersSchema]).default([]),
});

/** Microsoft Graph's limits for the app (every partner signs in to the one app). */
const graphLimitsSchema = z.object({
  /** Resource units per app and tenant per 10 s, tenant under 50 users. Default: 3500 */
  smallTenantResourceUnits: z.number().positive().default(3500),
  /** Resource units per app and tenant per 10 s, tenant of 50 to 500 users. Default: 5000 */
  mediumTenantResourceUnits: z.number().positive().default(5000),
  /** Resource units per app and tenant per 10 s, tenant above 500 users. Default: 8000 */
  largeTenantResourceUnits: z.number().positive().default(8000),
  /** Resource units per app across all tenants per 20 s. Default: 150000 */
  appResourceUnits: z.number().positive().default(150_000),
  /** Requests per app across all tenants per second, any Graph service. Default: 2000 */
  appRequestsPerSecond: z.number().positive().default(2000),
  /** Requests per app and tenant to one usage report per 10 minutes. Default: 14 */
  reportRequests: z.number().positive().default(14),
});

export const faultSchema = z
  .object({
    method: z.string().optional(),
    /** Glob over the request path, e.g. /v1/customers/** */
    path: z.string(),
    /** Status to answer with; omitted: only delay, then answer normally. */
    status: z.number().int().min(400).max(599).optional(),
    /** Chance (0..1) that a matching request gets the fault. */
    probability: z.number().min(0).max(1).optional(),
    /** Number of matching requests that get the fault; then it is spent. */
    count: z.number().int().positive().optional(),
    retryAfterSec: z.number().int().min(0).optional(),
    delayMs: z.number().int().min(0).optional(),
    /** For identity paths: the AADSTS code and error to answer with. */
    aadsts: z.number().int().optional(),
    error: z.string().optional(),
  })
  .refine((f) => f.status !== undefined || f.delayMs !== undefined, {
    message: 'a fault needs a status or a delayMs',
  });

export const scenarioSchema = z.object({
  $schema: z.string().optional(),
  clients: z.array(clientSchema).min(1),
  /** Sign-in goes straight through when login_hint names a scenario user. Default: true */
  autoConsent: z.boolean().default(true),
  tokenLifetimes: z
    .object({
      /** Default: 3600 */
      accessTokenSec: z.number().int().positive().default(3600),
      /** A refresh token expires after this long unused. Default: 90 days */
      refreshTokenInactivitySec: z
        .number()
        .int()
        .positive()
        .default(90 * 24 * 3600),
      /** Default: 600 */
      authorizationCodeSec: z.number().int().positive().default(600),
    })
    .prefault({}),
  /** Added to every Microsoft request (not the control API). Default: 0 */
  latencyMs: z.number().int().min(0).default(0),
  faults: z.array(faultSchema).default([]),
  graphLimits: graphLimitsSchema.prefault({}),
  partners: z.array(partnerSchema).min(1),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type PartnerSpec = z.infer<typeof partnerSchema>;
export type ExplicitCustomerSpec = z.infer<typeof explicitCustomerSchema>;
export type RelationshipSpec = z.infer<typeof relationshipSchema>;
export type FaultSpec = z.infer<typeof faultSchema>;
export type GraphLimits = z.infer<typeof graphLimitsSchema>;

export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

/** Validates a scenario document; the error lists every problem with its JSON path. */
export function parseScenario(input: unknown): Scenario {
  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) {
    throw new ScenarioError(
      `invalid scenario: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const scenario = parsed.data;
  for (const partner of scenario.partners) {
    if (!Array.isArray(partner.customers)) {
      const { withoutDelegatedAccess, withoutAppConsent } = partner.customers.generate;
      if (withoutDelegatedAccess + withoutAppConsent > 1)
        throw new ScenarioError(
          `invalid scenario: ${partner.domain}: withoutDelegatedAccess and withoutAppConsent add up to more than 1`,
        );
      continue;
    }
    for (const c of partner.customers) {
      if (c.gdap !== undefined && c.delegatedAccess !== undefined)
        throw new ScenarioError(
          `invalid scenario: customer ${c.tenantId}: delegatedAccess and gdap together`,
        );
    }
  }
  const tenants = new Set<string>();
  for (const partner of scenario.partners) {
    for (const id of [
      partner.tenantId,
      ...(Array.isArray(partner.customers) ? partner.customers.map((c) => c.tenantId) : []),
    ]) {
      if (tenants.has(id)) throw new ScenarioError(`invalid scenario: tenant ${id} appears twice`);
      tenants.add(id);
    }
  }
  return scenario;
}

export function loadScenarioFile(file: string): Scenario {
  return parseScenario(JSON.parse(readFileSync(file, 'utf8')));
}

const defaultScenarioFile = new URL('./scenarios/default.json', import.meta.url);

export function loadDefaultScenario(): Scenario {
  return parseScenario(JSON.parse(readFileSync(defaultScenarioFile, 'utf8')));
}
