import { decodeJwt } from 'jose';
import {
  customLicenseTokenState,
  missingPermissions,
  type CustomLicenseTokenState,
} from '../src/domain/custom-licenses.js';
import { classifyMicrosoftError, forCustomLicenseToken } from '../src/microsoft/errors.js';
import { signedInWithMfa } from '../src/microsoft/identity.js';
import type { JobPayload } from '../src/queue/catalog.js';
import { jobIds } from '../src/queue/catalog.js';
import type { JobContext } from '../src/queue/worker-pool.js';
import type { CustomLicenseToken } from '../src/store/custom-licenses.js';
import type { CachePartition } from '../src/store/token-cache.js';
import type { JobDeps } from './deps.js';

/** Customer tenants tried before the token is declared unable to reach any. Default: 10 */
const customerTenantsTried = 10;

/**
 * Validates a partner's custom-license token and records the outcome: it redeems at the
 * partner's tenant for Graph (a use, which keeps it alive), carries MFA, holds every permission
 * the partner's custom licenses need, and gets a token for at least one customer tenant.
 * A transient failure throws (the caller retries) and leaves the last outcome in place.
 */
export async function checkCustomLicenseToken(
  deps: Pick<JobDeps, 'customLicenses' | 'identity' | 'partners'>,
  partnerId: string,
  /** A token not yet in use (a new one being saved); default: the partner's current one. */
  candidate?: CustomLicenseToken,
): Promise<CustomLicenseTokenState> {
  const token = candidate ?? (await deps.customLicenses.currentToken(partnerId));
  if (!token) return customLicenseTokenState(undefined, new Date());
  // A candidate is judged as if it were in use.
  const asActive = { ...token, status: 'active' };
  const partition: CachePartition = {
    partnerId,
    delegatedAdminId: token.id,
    purpose: 'custom_license',
  };
  const invalid = async (reason: string, used: boolean, extra = {}) => {
    await deps.customLicenses.recordValidation(token.id, {
      validation: 'invalid',
      reason,
      used,
      ...extra,
    });
    return customLicenseTokenState(
      { ...token, validation: 'invalid', validationReason: reason },
      new Date(),
    );
  };

  let accessToken: string;
  try {
    ({ accessToken } = await deps.identity.accessToken(
      partition,
      [deps.identity.graphDefaultScope],
      undefined,
      {
        forceRefresh: true,
      },
    ));
  } catch (error) {
    const failure = forCustomLicenseToken(classifyMicrosoftError(error));
    if (failure.kind === 'transient') throw error;
    return invalid(failure.message, false);
  }
  const claims = decodeJwt(accessToken) as {
    amr?: string[];
    scp?: string;
    upn?: string;
    tid?: string;
  };
  const upn = claims.upn ?? token.username;
  const granted = (claims.scp ?? '').split(' ').filter(Boolean);
  const mfa = signedInWithMfa(claims.amr);
  const partner = await deps.partners.get(partnerId);
  if (partner?.homeTenantId && claims.tid !== partner.homeTenantId) {
    return invalid(
      `${upn} belongs to another tenant than this partner's. Generate the custom-license token again with an account of this partner.`,
      true,
      { grantedScopes: granted, mfa },
    );
  }
  if (!mfa) {
    return invalid(
      `${upn} signed in without multi-factor authentication. Generate the custom-license token again with an account that uses MFA.`,
      true,
      { grantedScopes: granted, mfa },
    );
  }
  const kinds = (await deps.customLicenses.definitions(partnerId)).map((d) => d.kind);
  const missing = missingPermissions(kinds, granted);
  if (missing.length > 0) {
    return invalid(
      `The token lacks the ${missing.join(', ')} permission${missing.length > 1 ? 's' : ''} the custom licenses need. Generate the custom-license token again and accept every permission.`,
      true,
      { grantedScopes: granted, mfa },
    );
  }
  // Customers Partner Center still lists first, in random order: a few tenants without a
  // relationship or app consent (they fail alone when counted) must not decide every time.
  const companies = (await deps.partners.companies(partnerId)).filter((c) => c.customerTenantId);
  const shuffled = companies
    .map((c) => ({ c, key: (c.visibility === 'visible' ? 0 : 1) + Math.random() }))
    .sort((a, b) => a.key - b.key)
    .map(({ c }) => c.customerTenantId!);
  const tenants = shuffled.slice(0, customerTenantsTried);
  let lastFailure: string | undefined;
  for (const tenant of tenants) {
    try {
      await deps.identity.accessToken(partition, [deps.identity.graphDefaultScope], tenant);
      lastFailure = undefined;
      break;
    } catch (error) {
      const failure = forCustomLicenseToken(classifyMicrosoftError(error, 'customer'));
      if (failure.kind === 'transient') throw error;
      lastFailure = failure.message;
    }
  }
  if (lastFailure) {
    return invalid(`No customer tenant gave the token access: ${lastFailure}`, true, {
      grantedScopes: granted,
      mfa,
    });
  }
  await deps.customLicenses.recordValidation(token.id, {
    validation: 'valid',
    reason: null,
    used: true,
    grantedScopes: granted,
    mfa,
  });
  return customLicenseTokenState(
    { ...asActive, validation: 'valid', validationReason: null, lastUsedAt: new Date() },
    new Date(),
  );
}

/** The card's custom-license refresh-token validation, for one partner. */
export async function validateCustomLicenseToken(
  { partnerId }: JobPayload<'validateCustomLicenseToken'>,
  deps: JobDeps,
  ctx: JobContext,
): Promise<CustomLicenseTokenState> {
  const state = await checkCustomLicenseToken(deps, partnerId);
  ctx.log.info({ partnerId, status: state.status }, 'custom-license token validated');
  return state;
}

/** Daily: validates (and so keeps alive) every partner's custom-license token. */
export async function validateCustomLicenseTokens(
  _payload: JobPayload<'validateCustomLicenseTokens'>,
  deps: JobDeps,
): Promise<{ partners: number }> {
  const partners = await deps.customLicenses.partnersWithToken();
  const day = new Date().toISOString().slice(0, 10);
  for (const partnerId of partners) {
    await deps.queues.enqueue(
      'validateCustomLicenseToken',
      { partnerId },
      { jobId: jobIds.validateCustomLicenseToken(partnerId, day) },
    );
  }
  return { partners: partners.length };
}
