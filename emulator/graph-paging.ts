import type { Request } from 'express';
import { originOf } from './identity-request.js';

/**
 * Graph's `@odata.nextLink` for the page starting at `nextSkip`: the request's own query with
 * an opaque `$skiptoken`, its system query options written as Graph writes them ($top, not
 * the %24top URLSearchParams gives).
 */
export function graphNextLink(req: Request, path: string, nextSkip: number): string {
  const next = new URL(`${originOf(req)}/v1.0${path}`);
  for (const [k, v] of Object.entries(req.query))
    if (k !== '$skiptoken' && typeof v === 'string') next.searchParams.set(k, v);
  next.searchParams.set('$skiptoken', Buffer.from(String(nextSkip)).toString('base64url'));
  return next.toString().replace(/([?&])%24/g, '$1$$');
}
