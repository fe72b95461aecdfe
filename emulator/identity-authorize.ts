import type { Request, Response } from 'express';
import type { PartnerUser } from './tenants.js';
import { blockedByConditionalAccess, entraErrorBody, notInTenant } from './errors.js';
import { originOf, param, partnerOf, resolveTenant, single } from './identity-request.js';
import { consentPage, errorPage, formPostPage, signInPage } from './pages.js';
import { oidcScopes, parseScopes } from './scopes.js';
import type { EmulatorState, PendingAuthorization } from './state.js';
import { clientInfo, opaqueToken } from './tokens.js';

/**
 * The authorize endpoint: checks the request as Entra does, then shows the sign-in page (or goes
 * straight through for a hinted user when the scenario consents on their behalf).
 */
export function authorize(state: EmulatorState, req: Request, res: Response): void {
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

/** The account chosen on the sign-in page. */
export function signIn(state: EmulatorState, req: Request, res: Response): void {
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
}

/** The user's answer on the consent page. */
export function consent(state: EmulatorState, req: Request, res: Response): void {
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
        `AADSTS50020: ${notInTenant(user.upn, user.partnerTenantId, tenant.name, pending.clientId)}`,
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
