import { z } from 'zod';

// A partner's HaloPSA connection: where Halo is, the API application's client credentials
// (Configuration > Integrations > Halo API, client-credentials grant) and the client's pace.

const httpsUrl = z
  .string()
  .url()
  .refine((u) => u.startsWith('https://'), { message: 'must be an https:// address' });

export const haloConnectionSchema = z
  .object({
    /** The Halo web address, e.g. https://contoso.halopsa.com; /auth and /api hang below it. */
    url: httpsUrl,
    /** The authorisation server. Default: `${url}/auth` */
    authUrl: httpsUrl.optional(),
    /** The resource server. Default: `${url}/api` */
    apiUrl: httpsUrl.optional(),
    /** Hosted Halo's tenant name, sent as ?tenant= with token requests. Default: none */
    tenant: z.string().min(1).optional(),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    /** Scope asked for with each token. Default: "all" */
    scope: z.string().min(1).default('all'),
    /** page_size of every list read. Default: 100 */
    pageSize: z.number().int().min(1).max(1000).default(100),
    /** Wait suggested after a 429 without Retry-After (toward the rolling window). Default: 60000 */
    rateLimitBackoffMs: z.number().int().min(30_000).default(60_000),
    /** A token is renewed this long before expires_in runs out. Default: 60 */
    tokenRenewalMarginSeconds: z.number().int().min(0).default(60),
  })
  .strict();

export type HaloConnectionInput = z.input<typeof haloConnectionSchema>;
export type HaloConnection = z.infer<typeof haloConnectionSchema>;

const trimSlash = (u: string) => u.replace(/\/+$/, '');

export function authUrlOf(c: HaloConnection): string {
  return trimSlash(c.authUrl ?? `${trimSlash(c.url)}/auth`);
}

export function apiUrlOf(c: HaloConnection): string {
  return trimSlash(c.apiUrl ?? `${trimSlash(c.url)}/api`);
}
