import type { Request, Response } from 'express';
import type { PartnerUser } from './tenants.js';
import { notConsented, sendEntraError } from './errors.js';
import { consentCovers, type AppConsent } from './gdap.js';
import { originOf } from './identity-request.js';
import { oidcScopes, permissionOf, resourceOf } from './scopes.js';
import type { EmulatorState } from './state.js';
import {
  clientInfo,
  opaqueToken,
  signAccessToken,
  signIdToken,
  type TokenSubject,
} from './tokens.js';

/**
 * The answer to an accepted grant: an access token for one resource, a refresh token when
 * offline_access was asked for, an ID token for openid.
 */
export async function respondWithTokens(
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
    /** At a customer tenant, what the app is consented for there. Default: all */
    tenantConsent?: AppConsent;
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
  const consent = grant.tenantConsent ?? 'all';
  // A token for a customer tenant carries what the user granted and the tenant consented to.
  const granted = new Set(
    [...state.granted(grant.clientId, grant.user.oid)].filter((s) => consentCovers(consent, s)),
  );
  const resource = resourcesAsked[0];
  let scp: string[] = [];
  let scopeUris: string[] = [];
  if (resource) {
    const ofResource = [...granted].filter((s) => resourceOf(s) === resource);
    const wantsDefault = resourceScopes.some((s) => permissionOf(s) === '.default');
    const missing = wantsDefault ? [] : resourceScopes.filter((s) => !granted.has(s));
    if (ofResource.length === 0 || missing.length > 0) {
      sendEntraError(res, 400, 'invalid_grant', 65001, notConsented(grant.clientId), {
        suberror: 'consent_required',
      });
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
