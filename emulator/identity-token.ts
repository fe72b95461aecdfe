import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { sendEntraError } from './errors.js';
import {
  param,
  partnerOf,
  requiredParam,
  resolveTenant,
  type TenantRef,
} from './identity-request.js';
import { redeemRefreshToken } from './identity-refresh-grant.js';
import { respondWithTokens } from './identity-token-response.js';
import { oidcScopes, parseScopes, resourceOf } from './scopes.js';
import type { EmulatorState } from './state.js';
import type { TokenSubject } from './tokens.js';

function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function clientCredentials(req: Request): { clientId?: string; secret?: string } {
  const header = req.get('authorization');
  if (header?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon)),
      secret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  }
  return { clientId: param(req, 'client_id'), secret: param(req, 'client_secret') };
}

/** The token endpoint: the client's credentials, then its grant (a code here, or a refresh token). */
export async function token(state: EmulatorState, req: Request, res: Response): Promise<void> {
  const tenant = resolveTenant(state, String(req.params.tenant));
  res.locals.tenantId = tenant?.id;
  res.locals.partnerTenantId = partnerOf(tenant);
  if (!tenant) {
    sendEntraError(
      res,
      400,
      'invalid_request',
      90002,
      `Tenant '${String(req.params.tenant)}' not found. This may happen if there are no active subscriptions for the tenant.`,
    );
    return;
  }
  const { clientId, secret } = clientCredentials(req);
  const client = state.scenario.clients.find((c) => c.clientId === clientId?.toLowerCase());
  if (!client) {
    sendEntraError(
      res,
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId ?? ''}' was not found in the directory '${tenant.id}'.`,
    );
    return;
  }
  if (!secret) {
    sendEntraError(
      res,
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
    return;
  }
  if (!sameSecret(secret, client.clientSecret)) {
    sendEntraError(
      res,
      401,
      'invalid_client',
      7000215,
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.',
    );
    return;
  }
  const grantType = param(req, 'grant_type');
  if (grantType === 'authorization_code')
    return redeemCode(state, req, res, tenant, client.clientId);
  if (grantType === 'refresh_token')
    return redeemRefreshToken(state, req, res, tenant, client.clientId);
  sendEntraError(
    res,
    400,
    'unsupported_grant_type',
    70003,
    `The app requested an unsupported grant type '${grantType ?? ''}'.`,
  );
}

async function redeemCode(
  state: EmulatorState,
  req: Request,
  res: Response,
  tenant: TenantRef,
  clientId: string,
): Promise<void> {
  const code = requiredParam(req, res, 'code');
  if (!code) return;
  const record = state.codes.get(code);
  if (!record || record.clientId !== clientId) {
    sendEntraError(
      res,
      400,
      'invalid_grant',
      9002313,
      'Invalid request. Request is malformed or invalid.',
    );
    return;
  }
  if (record.redeemed) {
    sendEntraError(
      res,
      400,
      'invalid_grant',
      54005,
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
    );
    return;
  }
  if (state.now() - record.issuedAt > state.scenario.tokenLifetimes.authorizationCodeSec * 1000) {
    sendEntraError(
      res,
      400,
      'invalid_grant',
      70008,
      'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
    );
    return;
  }
  if (tenant.kind !== 'multi' && tenant.id !== record.user.partnerTenantId) {
    sendEntraError(
      res,
      400,
      'invalid_grant',
      700005,
      'Provided Authorization Code is intended to use against other tenant, thus rejected.',
    );
    return;
  }
  if (param(req, 'redirect_uri') !== record.redirectUri) {
    sendEntraError(
      res,
      400,
      'invalid_grant',
      500112,
      `The reply address '${param(req, 'redirect_uri') ?? ''}' does not match the reply address '${record.redirectUri}' provided when requesting Authorization code.`,
    );
    return;
  }
  if (record.codeChallenge !== undefined) {
    const verifier = param(req, 'code_verifier') ?? '';
    if (verifier) state.remember('codeVerifiers', verifier);
    const expected =
      record.codeChallengeMethod === 'S256'
        ? createHash('sha256').update(verifier).digest('base64url')
        : verifier;
    if (!verifier || expected !== record.codeChallenge) {
      sendEntraError(
        res,
        400,
        'invalid_grant',
        501481,
        'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
      );
      return;
    }
  }
  // Single use, even when the rest of the request fails from here on.
  record.redeemed = true;
  const subject: TokenSubject = {
    oid: record.user.oid,
    upn: record.user.upn,
    name: record.user.displayName,
    homeTenantId: record.user.partnerTenantId,
    mfa: record.mfa,
    amr: record.amr,
    authTime: record.authTime,
  };
  await respondWithTokens(state, req, res, {
    clientId,
    tenantId: record.user.partnerTenantId,
    subject,
    user: record.user,
    requested: param(req, 'scope')
      ? parseScopes(param(req, 'scope'))
      : firstResourceScopes(record.scopes),
    nonce: record.nonce,
  });
}

/**
 * A code request without scope gets the authorize request's scopes; as in Entra, only those
 * of its first resource (one resource per access token), plus the OIDC scopes.
 */
function firstResourceScopes(scopes: string[]): string[] {
  const first = scopes.map(resourceOf).find((r) => r !== undefined);
  return scopes.filter((s) => oidcScopes.has(s) || resourceOf(s) === first);
}
