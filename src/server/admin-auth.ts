import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

function sameSecret(given: string, expected: string): boolean {
  // Hash both sides so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The credential an Authorization header carries: a Bearer token or a Basic password. */
export function presentedSecret(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

/**
 * Accepts ADMIN_API_TOKEN as a Bearer token or as the password of Basic auth (any user
 * name), so both API clients and a browser opening the dashboard can authenticate.
 */
export function requireAdmin(adminApiToken: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const secret = presentedSecret(req.headers.authorization);
    if (secret !== undefined && sameSecret(secret, adminApiToken)) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="license-sync", charset="UTF-8"')
      .json({ error: { code: 'unauthorized', message: 'A valid admin token is required.' } });
  };
}

/**
 * The dashboard: an operator's session, or ADMIN_API_TOKEN as for the API. A partner user is
 * refused; nobody at all gets the Basic-auth challenge.
 */
export function requireOperator(adminApiToken: string) {
  const byToken = requireAdmin(adminApiToken);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.user?.role === 'operator') {
      next();
      return;
    }
    if (req.user && presentedSecret(req.headers.authorization) === undefined) {
      res.status(403).type('text/plain').send('The queue dashboard is for operators only.');
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
