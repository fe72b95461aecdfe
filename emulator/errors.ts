import { randomUUID } from 'node:crypto';
import type { Response } from 'express';

function entraTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
  suberror?: string;
}

/** An identity-platform error body, as the token endpoint and error redirects carry it. */
export function entraErrorBody(
  error: string,
  aadsts: number,
  message: string,
  options: { correlationId?: string; suberror?: string; now?: Date; host?: string } = {},
): EntraErrorBody {
  const now = options.now ?? new Date();
  const traceId = randomUUID();
  const correlationId = options.correlationId ?? randomUUID();
  const timestamp = entraTimestamp(now);
  const body: EntraErrorBody = {
    error,
    error_description: `AADSTS${aadsts}: ${message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [aadsts],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://${options.host ?? 'login.microsoftonline.com'}/error?code=${aadsts}`,
  };
  if (options.suberror) body.suberror = options.suberror;
  return body;
}

export function sendEntraError(
  res: Response,
  status: number,
  error: string,
  aadsts: number,
  message: string,
  options: { suberror?: string; retryAfterSec?: number; now?: Date } = {},
): void {
  const correlationId = res.req.get('client-request-id');
  if (options.retryAfterSec !== undefined) res.set('Retry-After', String(options.retryAfterSec));
  res
    .status(status)
    .set('Cache-Control', 'no-store')
    .json(
      entraErrorBody(error, aadsts, message, {
        ...options,
        host: res.req.get('host'),
        ...(correlationId ? { correlationId } : {}),
      }),
    );
}

/** Partner Center's fault body: {code, description, data, source}. */
export function sendPartnerCenterError(
  res: Response,
  status: number,
  code: number,
  description: string,
): void {
  res.status(status).json({ code, description, data: [], source: 'PartnerFD' });
}

/** Partner Center's throttling answer, which differs from its fault body. */
export function sendPartnerCenterThrottled(res: Response, retryAfterSec: number): void {
  res
    .status(429)
    .set('Retry-After', String(retryAfterSec))
    .json({
      statusCode: 429,
      message: `Rate limit is exceeded. Try again in ${retryAfterSec} seconds.`,
    });
}

/** Graph's error body: {error: {code, message, innerError}}. */
export function sendGraphError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().slice(0, 19),
        'request-id': res.getHeader('request-id') ?? randomUUID(),
        'client-request-id': res.req.get('client-request-id') ?? randomUUID(),
      },
    },
  });
}

export function sendGraphThrottled(res: Response, retryAfterSec: number): void {
  res.set('Retry-After', String(retryAfterSec));
  sendGraphError(res, 429, 'TooManyRequests', 'Please retry again later.');
}

/** The AADSTS53003 sentence: on the sign-in page and in the token endpoint's answers. */
export const blockedByConditionalAccess =
  'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.';

/** The AADSTS65001 sentence: the app is not consented for what the token asks. */
export const notConsented = (clientId: string) =>
  `The user or administrator has not consented to use the application with ID '${clientId}'. Send an interactive authorization request for this user and resource.`;

/** The AADSTS50020 sentence for an account that is no member of the tenant it signs in to. */
export const notInTenant = (
  upn: string,
  homeTenantId: string,
  tenantName: string,
  clientId: string,
) =>
  `User account '${upn}' from identity provider 'https://sts.windows.net/${homeTenantId}/' does not exist in tenant '${tenantName}' and cannot access the application '${clientId}' in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Microsoft Entra user account.`;
