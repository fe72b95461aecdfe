import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../http-error.js';

/** The sentence a login form without its token gets (the same as the other forms'). */
const refused = 'The form expired or did not come from this site. Reload the page and try again.';

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * CSRF protection of the login form without a session, so that no session row exists before
 * a login: a signed double-submit token. The token (a random value and its HMAC under
 * SESSION_SECRET) is set in a cookie and in the form's hidden field; a login is accepted only
 * when both carry the same validly signed token. Another site can neither read the cookie nor
 * forge the signature.
 */
export function loginFormToken(sessionSecret: string, secure: boolean) {
  // __Host- on https: the cookie cannot be planted from a sibling subdomain.
  const cookieName = secure ? '__Host-ls.login' : 'ls.login';
  const signatureOf = (nonce: string) =>
    createHmac('sha256', sessionSecret).update(`login-form:${nonce}`).digest();
  const isSigned = (token: string | undefined): token is string => {
    const [nonce, signature] = (token ?? '').split('.', 2);
    if (!nonce || !signature) return false;
    const expected = signatureOf(nonce);
    const given = Buffer.from(signature, 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  return {
    /** The token for a login form; sets its cookie unless the browser holds a valid one. */
    issue(req: Request, res: Response): string {
      const held = cookieValue(req, cookieName);
      if (isSigned(held)) return held;
      const nonce = randomBytes(18).toString('base64url');
      const token = `${nonce}.${signatureOf(nonce).toString('base64url')}`;
      res.cookie(cookieName, token, { httpOnly: true, sameSite: 'strict', secure, path: '/' });
      return token;
    },
    /** Middleware: a POST must carry the cookie's token in its `_csrf` field. */
    protect(req: Request, _res: Response, next: NextFunction): void {
      if (req.method !== 'POST') return next();
      const held = cookieValue(req, cookieName);
      const sent = (req.body as { _csrf?: unknown } | undefined)?._csrf;
      if (isSigned(held) && typeof sent === 'string' && sent === held) return next();
      next(new HttpError(403, 'csrf', refused));
    },
  };
}
