import type { Request, Response } from 'express';
import { blockedByConditionalAccess, notInTenant, sendEntraError } from './errors.js';
import { gdapSignInGap, type AppConsent } from './gdap.js';
import { param, requiredParam, type TenantRef } from './identity-request.js';
import { respondWithTokens } from './identity-token-response.js';
import { parseScopes } from './scopes.js';
import type { EmulatorState, RefreshTokenRecord } from './state.js';
import { resources } from './tokens.js';

/**
 * The refresh-token grant, refused as Entra refuses an expired, revoked, cross-tenant or
 * policy-blocked one.
 */
export async function redeemRefreshToken(
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
  let consent: AppConsent = 'all';
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
    const gap = gdapSignInGap(state.directory, user, customer, state.now());
    if (customer.guests.includes(user.upn) || gap === 'no-active-relationship') {
      sendEntraError(
        res,
        400,
        'invalid_grant',
        50020,
        notInTenant(user.upn, user.partnerTenantId, customer.name, clientId),
      );
      return;
    }
    if (customer.withoutGdapGroup.includes(user.upn) || gap === 'not-in-assigned-group') {
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
    if (customer.appConsent === false) {
      sendEntraError(
        res,
        400,
        'invalid_grant',
        90099,
        `The application '${clientId}' has not been authorized in the tenant '${customer.tenantId}'. Applications must be authorized to access the customer tenant before partner delegated administrators can use them. Provide pre-consent or execute the appropriate Partner Center API to authorize the application.`,
      );
      return;
    }
    consent = customer.appConsent;
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
    tenantConsent: consent,
  });
}

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
