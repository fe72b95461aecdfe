import { randomBytes } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { sendHaloError, sendOAuthError } from './errors.js';
import { haloAreas, type HaloArea } from './scenario.js';
import type { HaloState, HaloToken } from './state.js';

// The authorisation server (/auth) and the bearer check of the resource server (/api).
// POST /auth/token[?tenant=] takes a form-encoded client_credentials grant with scope=all and
// answers {access_token, token_type: "Bearer", expires_in, scope} (CIPP-API Get-HaloToken.ps1).
// A token may do what both its application and the application's agent may do.

const everyPermission = haloAreas.flatMap((a) => [`read:${a}`, `edit:${a}`]);

function expand(permissions: string[]): Set<string> {
  return new Set(permissions.flatMap((p) => (p === 'all' ? everyPermission : [p])));
}

export function tokenRouter(state: HaloState): Router {
  const router = Router();
  router.post('/auth/token', express.urlencoded({ extended: false }), (req, res) => {
    const { scenario } = state;
    const tenant = typeof req.query.tenant === 'string' ? req.query.tenant : undefined;
    if (scenario.tenant !== undefined && tenant !== scenario.tenant)
      return sendOAuthError(res, 400, 'invalid_request', `Unknown tenant '${tenant ?? ''}'.`);
    if (!req.is('application/x-www-form-urlencoded'))
      return sendOAuthError(res, 400, 'invalid_request', 'The body must be form-encoded.');
    const form = req.body as Record<string, string | undefined>;
    if (form.grant_type !== 'client_credentials')
      return sendOAuthError(res, 400, 'unsupported_grant_type', 'Use client_credentials.');
    const app = scenario.applications.find(
      (a) => a.clientId === form.client_id && a.clientSecret === form.client_secret,
    );
    if (!app) return sendOAuthError(res, 400, 'invalid_client', 'Invalid client credentials.');
    const requested = (form.scope ?? '').split(' ').filter(Boolean);
    const unknown = requested.filter((s) => s !== 'all' && !everyPermission.includes(s));
    if (requested.length === 0 || unknown.length > 0)
      return sendOAuthError(res, 400, 'invalid_scope', `Invalid scope '${form.scope ?? ''}'.`);
    const agent = scenario.agents.find((a) => a.id === app.agentId);
    const allowedToApp = expand(app.permissions);
    const allowedToAgent = expand(agent?.permissions ?? []);
    const permissions = new Set(
      [...expand(requested)].filter((p) => allowedToApp.has(p) && allowedToAgent.has(p)),
    );
    const accessToken = randomBytes(32).toString('base64url');
    state.tokens.set(accessToken, {
      clientId: app.clientId,
      permissions,
      expiresAt: state.base.now() + scenario.tokenLifetimeSeconds * 1000,
    });
    res.set('Cache-Control', 'no-store').json({
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: scenario.tokenLifetimeSeconds,
      scope: requested.join(' '),
    });
  });
  return router;
}

/** Refuses an /api request without a live bearer token (401). */
export function requireBearer(state: HaloState) {
  return (req: Request, res: Response, next: NextFunction) => {
    const match = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '');
    const token = match ? state.tokens.get(match[1]!) : undefined;
    if (!token) return sendHaloError(res, 401, 'Unauthorized: the bearer token is not valid.');
    if (token.expiresAt <= state.base.now()) {
      state.tokens.delete(match![1]!);
      return sendHaloError(res, 401, 'Unauthorized: the bearer token has expired.');
    }
    res.locals.haloToken = token;
    next();
  };
}

const permissionWords = { read: 'read', edit: 'edit' } as const;

/** Refuses (403) a request the token's application or agent may not make. */
export function requirePermission(area: HaloArea, access: keyof typeof permissionWords) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const token = res.locals.haloToken as HaloToken;
    if (token.permissions.has(`${access}:${area}`)) return next();
    sendHaloError(
      res,
      403,
      `You do not have permission to ${permissionWords[access]} ${area} (the API application or its agent lacks '${access}:${area}').`,
    );
  };
}
