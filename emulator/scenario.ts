import { readFileSync } from 'node:fs';
import { z } from 'zod';

// The scenario document: who exists in the emulated Microsoft cloud and how it behaves.
// emulator/scenario.schema.json is generated from this schema (npm run emulator:schema).

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

export const clientSchema = z.object({
  clientId: guid,
  clientSecret: z.string().min(1),
  redirectUris: z.array(z.string().url()).min(1),
});

export const partnerUserSchema = z.object({
  upn,
  displayName: z.string().optional(),
  /** Signs in with MFA: access tokens carry amr ["pwd","mfa"], else ["pwd"]. */
  mfa: z.boolean().default(true),
  /** Member of the partner's Admin Agents group. */
  adminAgent: z.boolean().default(false),
  /** When set, consent grants only these of the requested scopes. */
  grantedScopes: z.array(z.string()).optional(),
});

export const subscriptionSchema = z
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

export const directoryUserSchema = z.object({
  upn,
  displayName: z.string().optional(),
  /** SKU part numbers assigned to the user. */
  licenses: z.array(z.string()).default([]),
  /** Exchange mailbox: a user mailbox, a shared mailbox, or none. */
  mailbox: z.enum(['user', 'shared', 'none']).default('user'),
});

export const groupSchema = z.object({
  id: guid.optional(),
  displayName: z.string(),
  /** UPNs of users, or display names of groups (nested). */
  members: z.array(z.string()).default([]),
});

export const explicitCustomerSchema = z.object({
  tenantId: guid,
  name: z.string(),
  domain,
  /** The partner holds a delegated-admin (GDAP) relationship with this customer. */
  delegatedAccess: z.boolean().default(true),
  /** The app is consented in this customer tenant (else AADSTS65001 there). */
  appConsent: z.boolean().default(true),
  relationshipToPartner: z.enum(['reseller', 'advisor']).default('reseller'),
  subscriptions: z.array(subscriptionSchema).default([]),
  users: z.array(directoryUserSchema).default([]),
  groups: z.array(groupSchema).default([]),
});

export const generatedCustomersSchema = z.object({
  generate: z.object({
    seed: z.number().int(),
    count: z.number().int().min(0).max(50_000),
    /** Share of customers without a delegated-admin relationship. Default: 0 */
    withoutDelegatedAccess: z.number().min(0).max(1).default(0),
  }),
});

export const partnerSchema = z.object({
  tenantId: guid,
  name: z.string(),
  domain,
  users: z.array(partnerUserSchema).min(1),
  rateLimits: z
    .object({
      /** Partner Center requests per second for this partner tenant. Default: 10 */
      partnerCenterRps: z.number().positive().default(10),
      /** Graph requests per second across this partner's customer tenants. Default: 20 */
      graphRps: z.number().positive().default(20),
    })
    .prefault({}),
  customers: z.union([z.array(explicitCustomerSchema), generatedCustomersSchema]).default([]),
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
  partners: z.array(partnerSchema).min(1),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type PartnerSpec = z.infer<typeof partnerSchema>;
export type PartnerUserSpec = z.infer<typeof partnerUserSchema>;
export type ExplicitCustomerSpec = z.infer<typeof explicitCustomerSchema>;
export type FaultSpec = z.infer<typeof faultSchema>;

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

export const defaultScenarioFile = new URL('./scenarios/default.json', import.meta.url);

export function loadDefaultScenario(): Scenario {
  return parseScenario(JSON.parse(readFileSync(defaultScenarioFile, 'utf8')));
}
