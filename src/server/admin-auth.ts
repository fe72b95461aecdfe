import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { messagePage } from './pages.js';

function sameSecret(given: string, expected: string): boolean {
  // Hash both sides so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The Bearer token an Authorization header carries. Only Bearer: a browser remembers Basic
 * credentials and sends them again cross-site, which a Bearer token it never stores cannot be.
 */
export function presentedSecret(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (!value || scheme?.toLowerCase() !== 'bearer') return undefined;
  return value.trim();
}

/** Accepts ADMIN_API_TOKEN as a Bearer token; anything else is a 401 in JSON. */
export function requireAdmin(adminApiToken: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const secret = presentedSecret(req.headers.authorization);
    if (secret !== undefined && sameSecret(secret, adminApiToken)) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer realm="license-sync"')
      .json({ error: { code: 'unauthorized', message: 'A valid admin token is required.' } });
  };
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether a request came from a page of `publicOrigin`: its Origin header, or else the
 * browser's Sec-Fetch-Site. A request with neither cannot be told apart from a cross-site form.
 */
function fromOwnOrigin(req: Request, publicOrigin: string): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined) return origin === publicOrigin;
  return req.headers['sec-fetch-site'] === 'same-origin';
}

/**
 * The dashboard: an operator's session, or ADMIN_API_TOKEN as for the API. A partner user is
 * refused. The session is a cookie the browser attaches to any site's request, so a
 * state-changing request on it must come from the service's own origin (the dashboard's
 * fetch calls send Origin); the Bearer token is never sent by a browser on its own.
 */
export function requireOperator(adminApiToken: string, publicUrl: string) {
  const byToken = requireAdmin(adminApiToken);
  const publicOrigin = new URL(publicUrl).origin;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.user?.role === 'operator' && presentedSecret(req.headers.authorization) === undefined) {
      if (!safeMethods.has(req.method) && !fromOwnOrigin(req, publicOrigin)) {
        res
          .status(403)
          .type('text/plain')
          .send('Changes to the queue dashboard must come from its own pages.');
        return;
      }
      next();
      return;
    }
    if (req.user && presentedSecret(req.headers.authorization) === undefined) {
      res
        .status(403)
        .type('html')
        .send(messagePage('Not allowed', 'The queue dashboard is for operators only.'));
      return;
    }
    byToken(req, res, next);
  };
}

/** Whether the request carries ADMIN_API_TOKEN as a Bearer token (for optional details). */
export function carriesAdminBearer(req: Request, adminApiToken: string): boolean {
  const [scheme, value] = (req.headers.authorization ?? '').split(' ', 2);
  return scheme?.toLowerCase() === 'bearer' && !!value && sameSecret(value.trim(), adminApiToken);
}
