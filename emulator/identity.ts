import { createHash, timingSafeEqual } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { PartnerUser } from './directory.js';
import { entraErrorBody, sendEntraError } from './errors.js';
import { consentPage, errorPage, formPostPage, signInPage } from './pages.js';
import { oidcScopes, parseScopes, permissionOf, resourceOf } from './scopes.js';
import type { EmulatorState, PendingAuthorization, RefreshTokenRecord } from './state.js';
import {
  clientInfo,
  opaqueToken,
  resources,
  signAccessToken,
  signIdToken,
  type TokenSubject,
} from './tokens.js';

const organizationsAliases = new Set(['common', 'organizations']);

/** The origin the caller used (localhost and 127.0.0.1 give different issuers, as in Entra). */
export function originOf(req: Request): string {
  return `https://${req.get('host') ?? 'localhost'}`;
}

type TenantRef =
  | { kind: 'multi'; id: string }
  | { kind: 'partner'; id: string }
  | { kind: 'customer'; id: string; partnerTenantId: string };

/** The partner a tenant reference counts against (counters), when it names one. */
function partnerOf(tenant: TenantRef | undefined): string | undefined {
  if (tenant?.kind === 'partner') return tenant.id;
  if (tenant?.kind === 'customer') return tenant.partnerTenantId;
  return undefined;
}

function resolveTenant(state: EmulatorState, segment: string): TenantRef | undefined {
  const key = segment.toLowerCase();
  if (organizationsAliases.has(key)) return { kind: 'multi', id: key };
  const partner = state.directory.partner(key);
  if (partner) return { kind: 'partner', id: partner.tenantId };
  const customer = state.directory.customer(key);
  if (customer)
    return { kind: 'customer', id: customer.tenantId, partnerTenantId: customer.partnerTenantId };
  return undefined;
}

function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A required form field; when absent, answers AADSTS900144 and returns undefined. */
function requiredParam(req: Request, res: Response, name: string): string | undefined {
  const value = param(req, name);
  if (!value) {
    sendEntraError(
      res,
      400,
      'invalid_request',
      900144,
      `The request body must contain the following parameter: '${name}'.`,
    );
  }
  return value;
}

/** A form field of the request body, when it is a single string. */
function param(req: Request, name: string): string | undefined {
  return single((req.body as Record<string, unknown> | undefined)?.[name]);
}

export function identityRouter(state: EmulatorState): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb' });

  // Instance discovery: MSAL asks it only for hosts it neither knows nor was told to trust.
  router.get('/common/discovery/instance', (req, res) => {
    const host = req.get('host') ?? 'localhost';
    res.json({
      tenant_discovery_endpoint: `${originOf(req)}/common/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  });

  router.get('/:tenant/v2.0/.well-known/openid-configuration', (req, res) => {
    const tenant = resolveTenant(state, req.params.tenant);
    res.locals.tenantId = tenant?.id;
    res.locals.partnerTenantId = partnerOf(tenant);
    if (!tenant) {
      sendEntraError(res, 400, 'invalid_tenant', 90002, `Tenant '${req.params.tenant}' not found.`);
      return;
    }
    const origin = originOf(req);
    const issuerTenant = tenant.kind === 'multi' ? '{tenantid}' : tenant.id;
    const base = `${origin}/${tenant.kind === 'multi' ? tenant.id : tenant.id}`;
    res.json({
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: [
        'client_secret_post',
        'private_key_jwt',
        'client_secret_basic',
      ],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${origin}/${issuerTenant}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${origin}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      code_challenge_methods_supported: ['plain', 'S256'],
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      msgraph_host: 'graph.microsoft.com',
    });
  });

  router.get('/:tenant/discovery/v2.0/keys', (req, res) => {
    res.locals.tenantId = resolveTenant(state, req.params.tenant)?.id;
    res.json({ keys: [state.keys.jwk] });
  });

  router.get('/:tenant/oauth2/v2.0/authorize', (req, res) => authorize(state, req, res));

  router.post('/:tenant/oauth2/v2.0/authorize/signin', form, (req, res) => {
    const pending = state.pending.get(param(req, 'flow') ?? '');
    const user = state.directory.user(param(req, 'upn') ?? '');
    if (!pending) {
      res
        .status(400)
        .type('html')
        .send(errorPage('This sign-in request has expired. Start again from the application.'));
      return;
    }
    if (!user) {
      res
        .status(400)
        .type('html')
        .send(signInPage(pending, state, 'Choose one of the accounts below.'));
      return;
    }
    pending.upn = user.upn;
    afterSignIn(state, pending, user, req, res);
  });

  router.post('/:tenant/oauth2/v2.0/authorize/consent', form, (req, res) => {
    const pending = state.pending.get(param(req, 'flow') ?? '');
    const user = pending?.upn ? state.directory.user(pending.upn) : undefined;
    if (!pending || !user) {
      res
        .status(400)
        .type('html')
        .send(errorPage('This sign-in request has expired. Start again from the application.'));
      return;
    }
    state.pending.delete(pending.id);
    if (param(req, 'decision') !== 'accept') {
      const body = entraErrorBody(
        'access_denied',
        65004,
        'User declined to consent to access the app.',
        { host: req.get('host') },
      );
      redirectToClient(res, pending, {
        error: 'access_denied',
        error_subcode: 'cancel',
        error_description: body.error_description,
        error_uri: body.error_uri,
      });
      return;
    }
    grantScopes(state, pending, user);
    issueCode(state, pending, user, res);
  });

  router.post('/:tenant/oauth2/v2.0/token', form, (req, res) => {
    void token(state, req, res).catch((error: unknown) => {
      sendEntraError(res, 500, 'server_error', 50000, `Internal error: ${String(error)}`);
    });
  });

  router.get('/:tenant/oauth2/v2.0/logout', (req, res) => {
    const target = single(req.query.post_logout_redirect_uri);
    if (target) res.redirect(target);
    else res.type('html').send(errorPage('You signed out of your account.'));
  });

  return router;
}

function authorize(state: EmulatorState, req: Request, res: Response): void {
  const q = req.query;
  for (const [name, value] of Object.entries(q)) {
    if (Array.isArray(value)) {
      res
        .status(400)
        .type('html')
        .send(errorPage(`AADSTS90015: Parameter '${name}' is duplicated.`));
      return;
    }
  }
  const tenant = resolveTenant(state, String(req.params.tenant));
  res.locals.tenantId = tenant?.id;
  res.locals.partnerTenantId = partnerOf(tenant);
  if (!tenant) {
    res
      .status(400)
      .type('html')
      .send(errorPage(`AADSTS90002: Tenant '${String(req.params.tenant)}' not found.`));
    return;
  }
  const clientId = single(q.client_id);
  const client = state.scenario.clients.find((c) => c.clientId === clientId?.toLowerCase());
  if (!client) {
    res
      .status(400)
      .type('html')
      .send(
        errorPage(
          `AADSTS700016: Application with identifier '${clientId ?? ''}' was not found in the directory.`,
        ),
      );
    return;
  }
  const redirectUri = single(q.redirect_uri);
  if (!redirectUri || !client.redirectUris.includes(redirectUri)) {
    res
      .status(400)
      .type('html')
      .send(
        errorPage(
          `AADSTS50011: The redirect URI '${redirectUri ?? ''}' specified in the request does not match the redirect URIs configured for the application '${client.clientId}'.`,
        ),
      );
    return;
  }
  const responseMode = single(q.response_mode) ?? 'query';
  const base = {
    tenant: tenant.id,
    clientId: client.clientId,
    redirectUri,
    scopes: parseScopes(single(q.scope)),
    state: single(q.state),
    nonce: single(q.nonce),
    codeChallenge: single(q.code_challenge),
    codeChallengeMethod: undefined as 'S256' | 'plain' | undefined,
    responseMode: responseMode === 'form_post' ? ('form_post' as const) : ('query' as const),
    loginHint: single(q.login_hint),
    prompt: single(q.prompt),
  };
  const fail = (error: string, aadsts: number, message: string) => {
    const body = entraErrorBody(error, aadsts, message, { host: req.get('host') });
    redirectToClient(
      res,
      { ...base, id: '', createdAt: 0 },
      { error, error_description: body.error_description, error_uri: body.error_uri },
    );
  };
  if (!['query', 'form_post'].includes(responseMode)) {
    fail(
      'invalid_request',
      900144,
      `The response_mode '${responseMode}' is not supported by this emulator.`,
    );
    return;
  }
  if (single(q.response_type) !== 'code') {
    fail('unsupported_response_type', 700054, 'The response_type must be code.');
    return;
  }
  if (base.scopes.length === 0) {
    fail(
      'invalid_request',
      900144,
      "The request body must contain the following parameter: 'scope'.",
    );
    return;
  }
  const method = single(q.code_challenge_method);
  if (base.codeChallenge) {
    if (method !== undefined && method !== 'S256' && method !== 'plain') {
      fail('invalid_request', 501491, `Invalid code_challenge_method '${method}'.`);
      return;
    }
    base.codeChallengeMethod = method ?? 'plain';
  }
  const pending = state.newPending(base);

  // Straight through: the hinted user exists and the scenario consents on their behalf.
  const hinted = base.loginHint ? state.directory.user(base.loginHint) : undefined;
  if (hinted && state.scenario.autoConsent && base.prompt !== 'login') {
    if (refusedByTenant(state, pending, hinted, res)) return;
    pending.upn = hinted.upn;
    state.pending.delete(pending.id);
    grantScopes(state, pending, hinted);
    issueCode(state, pending, hinted, res);
    return;
  }
  if (base.prompt === 'none') {
    state.pending.delete(pending.id);
    fail('login_required', 50058, 'A silent sign-in request was sent but no user is signed in.');
    return;
  }
  res.type('html').send(signInPage(pending, state));
}

function afterSignIn(
  state: EmulatorState,
  pending: PendingAuthorization,
  user: PartnerUser,
  req: Request,
  res: Response,
): void {
  if (refusedByTenant(state, pending, user, res)) return;
  // The consent page is skipped only when every scope was granted before and no consent
  // was asked for explicitly.
  const granted = state.granted(pending.clientId, user.oid);
  const needsConsent =
    pending.prompt === 'consent' ||
    pending.scopes.some((s) => !oidcScopes.has(s) && !granted.has(s));
  if (needsConsent) {
    res.type('html').send(consentPage(pending, user, `${originOf(req)}/${pending.tenant}`));
    return;
  }
  state.pending.delete(pending.id);
  issueCode(state, pending, user, res);
}

/**
 * A deleted home tenant (5000224) or the user's Conditional Access blocking the sign-in
 * (53003) stops it on an error page. A partner tenant's own authority lets in only that
 * tenant's accounts: Entra shows
 * AADSTS50020 on its sign-in page and sends nothing back to the application.
 */
function refusedByTenant(
  state: EmulatorState,
  pending: PendingAuthorization,
  user: PartnerUser,
  res: Response,
): boolean {
  const home = state.directory.deletedTenants.has(user.partnerTenantId);
  if (home || user.policy.blockedByConditionalAccess) {
    state.pending.delete(pending.id);
    res
      .status(400)
      .type('html')
      .send(
        errorPage(
          home
            ? 'AADSTS5000224: We are sorry, this resource is not available.'
            : `AADSTS53003: ${blockedByConditionalAccess}`,
        ),
      );
    return true;
  }
  const tenant = state.directory.partner(pending.tenant);
  if (!tenant || tenant.tenantId === user.partnerTenantId) return false;
  state.pending.delete(pending.id);
  res
    .status(400)
    .type('html')
    .send(
      errorPage(
        `AADSTS50020: User account '${user.upn}' from identity provider 'https://sts.windows.net/${user.partnerTenantId}/' does not exist in tenant '${tenant.name}' and cannot access the application '${pending.clientId}' in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Microsoft Entra user account.`,
      ),
    );
  return true;
}

/** The user consents: every requested scope, or only those the scenario lets them grant. */
function grantScopes(state: EmulatorState, pending: PendingAuthorization, user: PartnerUser): void {
  const allowed = user.grantedScopes
    ? new Set(parseScopes(user.grantedScopes.join(' ')))
    : undefined;
  const scopes = pending.scopes.filter((s) => !oidcScopes.has(s) && (!allowed || allowed.has(s)));
  state.grant(pending.clientId, user.oid, scopes);
}

function issueCode(
  state: EmulatorState,
  pending: PendingAuthorization,
  user: PartnerUser,
  res: Response,
): void {
  const code = opaqueToken('1.AQ');
  state.codes.set(code, {
    code,
    clientId: pending.clientId,
    redirectUri: pending.redirectUri,
    scopes: pending.scopes,
    user,
    nonce: pending.nonce,
    codeChallenge: pending.codeChallenge,
    codeChallengeMethod: pending.codeChallengeMethod,
    issuedAt: state.now(),
    redeemed: false,
    mfa: user.mfa,
    amr: user.amr,
    authTime: state.nowSec(),
  });
  state.remember('codes', code);
  redirectToClient(res, pending, {
    code,
    client_info: clientInfo(user.oid, user.partnerTenantId),
    session_state: pending.id,
  });
}

function redirectToClient(
  res: Response,
  pending: PendingAuthorization,
  params: Record<string, string>,
): void {
  const all = { ...params, ...(pending.state !== undefined ? { state: pending.state } : {}) };
  if (pending.responseMode === 'form_post') {
    res.type('html').send(formPostPage(pending.redirectUri, all));
    return;
  }
  const url = new URL(pending.redirectUri);
  for (const [k, v] of Object.entries(all)) url.searchParams.set(k, v);
  res.redirect(302, url.toString());
}

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

async function token(state: EmulatorState, req: Request, res: Response): Promise<void> {
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

async function redeemRefreshToken(
  state: EmulatorState,
  req: Request,
  res: Response,
  tenant: TenantRef,
  clientId: string,
): Promise<void> {
  const presented = requiredParam(req, res, 'refresh_token');
  if (!presented) return;
  const record = state.refreshTokens.get(presented);
  if (!record || record.clientId !== clientId) {
    sendEntraError(res, 400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed.', {
      suberror: 'bad_token',
    });
    return;
  }
  const user = record.user;
  const inactivity = state.scenario.tokenLifetimes.refreshTokenInactivitySec;
  if (state.now() - record.issuedAt > inactivity * 1000) {
    sendEntraError(
      res,
      400,
      'invalid_grant',
      700082,
      `The refresh token has expired due to inactivity. The token was issued on ${new Date(record.issuedAt).toISOString()} and was inactive for ${span(inactivity)}.`,
      { suberror: 'bad_token' },
    );
    return;
  }
  if (user.revokedAt !== undefined && user.revokedAt >= record.authTime * 1000) {
    sendEntraError(
      res,
      400,
      'invalid_grant',
      50173,
      `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${new Date(record.authTime * 1000).toISOString()}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${new Date(user.revokedAt).toISOString()}'.`,
      { suberror: 'bad_token' },
    );
    return;
  }
  if (refusedByPolicy(state, res, record, tenant)) return;
  let tenantId = user.partnerTenantId;
  if (tenant.kind === 'customer') {
    const customer = state.directory.customer(tenant.id)!;
    if (tenant.partnerTenantId !== user.partnerTenantId) {
      sendEntraError(
        res,
        400,
        'invalid_grant',
        50020,
        `User account '${user.upn}' from identity provider 'https://sts.windows.net/${user.partnerTenantId}/' does not exist in tenant '${customer.name}' and cannot access the application '${clientId}' in that tenant.`,
      );
      return;
    }
    if (!customer.delegatedAccess) {
      sendEntraError(
        res,
        400,
        'invalid_grant',
        90099,
        `The application '${clientId}' has not been authorized in the tenant '${customer.tenantId}'. Applications must be authorized to access the customer tenant before partner delegated administrators can use them. Provide pre-consent or execute the appropriate Partner Center API to authorize the application.`,
      );
      return;
    }
    if (customer.guests.includes(user.upn)) {
      sendEntraError(
        res,
        400,
        'invalid_grant',
        50020,
        `User account '${user.upn}' from identity provider 'https://sts.windows.net/${user.partnerTenantId}/' does not exist in tenant '${customer.name}' and cannot access the application '${clientId}' in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Microsoft Entra user account.`,
      );
      return;
    }
    if (customer.withoutGdapGroup.includes(user.upn)) {
      sendEntraError(
        res,
        400,
        'invalid_grant',
        50177,
        'External challenge is not supported for passthrough users.',
      );
      return;
    }
    if (customer.delegatedAdminBlocked) {
      sendEntraError(
        res,
        400,
        'invalid_grant',
        530034,
        'A delegated administrator was blocked from accessing the tenant due to account risk in their home tenant.',
        { suberror: 'additional_action' },
      );
      return;
    }
    if (customer.blockedByConditionalAccess) {
      sendEntraError(res, 400, 'invalid_grant', 53003, blockedByConditionalAccess, {
        suberror: 'message_only',
      });
      return;
    }
    if (!customer.appConsent) {
      sendEntraError(
        res,
        400,
        'invalid_grant',
        65001,
        `The user or administrator has not consented to use the application with ID '${clientId}'. Send an interactive authorization request for this user and resource.`,
        { suberror: 'consent_required' },
      );
      return;
    }
    tenantId = customer.tenantId;
  } else if (tenant.kind === 'partner' && tenant.id !== user.partnerTenantId) {
    sendEntraError(
      res,
      400,
      'invalid_grant',
      50020,
      `User account '${user.upn}' from identity provider 'https://sts.windows.net/${user.partnerTenantId}/' does not exist in tenant '${tenant.id}'.`,
    );
    return;
  }
  await respondWithTokens(state, req, res, {
    clientId,
    tenantId,
    subject: {
      oid: user.oid,
      upn: user.upn,
      name: user.displayName,
      homeTenantId: user.partnerTenantId,
      mfa: record.mfa,
      amr: record.amr,
      authTime: record.authTime,
    },
    user,
    requested: parseScopes(param(req, 'scope')),
    nonce: undefined,
  });
}

const blockedByConditionalAccess =
  'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.';

/** d.hh:mm:ss, as Entra writes token ages and lifetimes. */
function span(seconds: number): string {
  return `${Math.floor(seconds / 86400)}.${new Date((seconds % 86400) * 1000).toISOString().slice(11, 19)}`;
}

/**
 * The tenant gone, and the user's Conditional Access (policy) checked against the sign-in
 * behind the refresh token; answers the refusal and returns true, or returns false.
 */
function refusedByPolicy(
  state: EmulatorState,
  res: Response,
  record: RefreshTokenRecord,
  tenant: TenantRef,
): boolean {
  const { user } = record;
  const tenantIds = [user.partnerTenantId, ...(tenant.kind === 'customer' ? [tenant.id] : [])];
  if (tenantIds.some((id) => state.directory.deletedTenants.has(id))) {
    sendEntraError(
      res,
      400,
      'invalid_request',
      5000224,
      'We are sorry, this resource is not available.',
    );
    return true;
  }
  const policy = user.policy;
  const ageSec = state.nowSec() - record.authTime;
  if (policy.blockedByConditionalAccess) {
    sendEntraError(res, 400, 'invalid_grant', 53003, blockedByConditionalAccess, {
      suberror: 'message_only',
    });
    return true;
  }
  if (policy.signInFrequencySec && ageSec > policy.signInFrequencySec) {
    sendEntraError(
      res,
      400,
      'invalid_grant',
      70043,
      `The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on ${new Date(record.authTime * 1000).toISOString()} and the maximum allowed lifetime for this request is ${policy.signInFrequencySec}.`,
      { suberror: 'bad_token' },
    );
    return true;
  }
  if (policy.mfaRequired && !record.mfa) {
    sendEntraError(
      res,
      400,
      'invalid_grant',
      50076,
      `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${resources.partnerCenter}'.`,
      { suberror: 'basic_action' },
    );
    return true;
  }
  if (record.mfa && policy.mfaMaxAgeSec && ageSec > policy.mfaMaxAgeSec) {
    sendEntraError(
      res,
      400,
      'invalid_grant',
      50078,
      `Presented multi-factor authentication has expired due to policies configured by your administrator, you must refresh your multi-factor authentication to access '${resources.partnerCenter}'. The multi-factor authentication is ${span(ageSec)} old; the policy allows ${span(policy.mfaMaxAgeSec)}.`,
      { suberror: 'basic_action' },
    );
    return true;
  }
  return false;
}

async function respondWithTokens(
  state: EmulatorState,
  req: Request,
  res: Response,
  grant: {
    clientId: string;
    tenantId: string;
    subject: TokenSubject;
    user: PartnerUser;
    requested: string[];
    nonce: string | undefined;
  },
): Promise<void> {
  res.locals.partnerTenantId = grant.user.partnerTenantId;
  const resourceScopes = grant.requested.filter((s) => !oidcScopes.has(s));
  const resourcesAsked = [...new Set(resourceScopes.map((s) => resourceOf(s)!))];
  if (resourcesAsked.length > 1) {
    sendEntraError(
      res,
      400,
      'invalid_scope',
      700022,
      `The provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${grant.requested.join(' ')} is not valid.`,
    );
    return;
  }
  const granted = state.granted(grant.clientId, grant.user.oid);
  const resource = resourcesAsked[0];
  let scp: string[] = [];
  let scopeUris: string[] = [];
  if (resource) {
    const ofResource = [...granted].filter((s) => resourceOf(s) === resource);
    const wantsDefault = resourceScopes.some((s) => permissionOf(s) === '.default');
    const missing = wantsDefault ? [] : resourceScopes.filter((s) => !granted.has(s));
    if (ofResource.length === 0 || missing.length > 0) {
      sendEntraError(
        res,
        400,
        'invalid_grant',
        65001,
        `The user or administrator has not consented to use the application with ID '${grant.clientId}'. Send an interactive authorization request for this user and resource.`,
        { suberror: 'consent_required' },
      );
      return;
    }
    scopeUris = ofResource;
    scp = ofResource.map(permissionOf);
  }
  const now = state.nowSec();
  const lifetimeSec = state.scenario.tokenLifetimes.accessTokenSec;
  const base = {
    keys: state.keys,
    now,
    lifetimeSec,
    clientId: grant.clientId,
    tenantId: grant.tenantId,
    subject: grant.subject,
  };
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: scopeUris.join(' '),
    expires_in: lifetimeSec,
    ext_expires_in: lifetimeSec,
  };
  if (resource) {
    const accessToken = await signAccessToken({ ...base, audience: resource, scopes: scp });
    state.remember('accessTokens', accessToken);
    body.access_token = accessToken;
  }
  if (grant.requested.includes('offline_access')) {
    const refreshToken = opaqueToken('1.AX');
    state.refreshTokens.set(refreshToken, {
      token: refreshToken,
      clientId: grant.clientId,
      user: grant.user,
      issuedAt: state.now(),
      mfa: grant.subject.mfa,
      amr: grant.subject.amr,
      authTime: grant.subject.authTime,
    });
    state.remember('refreshTokens', refreshToken);
    body.refresh_token = refreshToken;
  }
  if (grant.requested.includes('openid')) {
    const idToken = await signIdToken({
      ...base,
      issuer: `${originOf(req)}/${grant.tenantId}/v2.0`,
      nonce: grant.nonce,
    });
    state.remember('idTokens', idToken);
    body.id_token = idToken;
  }
  body.client_info = clientInfo(grant.subject.oid, grant.subject.homeTenantId);
  res.set('Cache-Control', 'no-store').json(body);
}
