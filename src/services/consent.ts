import { setTimeout } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import type { ServiceDeps } from '../dependencies.js';
import { canCount, customLicenseTokenState } from '../domain/custom-licenses.js';
import {
  codeExpired,
  consentEndSentence,
  stepSentences,
  type Grant,
  type IdentityScope,
} from '../microsoft/error-table.js';
import { classifyMicrosoftError } from '../microsoft/errors.js';
import { partnerCenterScope, signedInWithMfa } from '../microsoft/identity.js';
import { agentRolesOfSignedInUser, notAnAdminAgent } from '../microsoft/partner-roles.js';
import { ProgrammingError } from '../programming-error.js';
import { jobIds } from '../queue/catalog.js';
import { isOutage, type JobContext } from '../queue/worker-pool.js';
import { untilDatabaseAvailable } from '../store/availability.js';
import type { ConsentAttempt } from '../store/consent-attempts.js';
import type { BindOutcome } from '../store/consents.js';
import type { ReplacementResult } from '../store/replacement.js';
import type { CachePartition } from '../store/token-cache.js';
import { enqueueAlertDeliveries } from './alert-delivery.js';
import { checkCustomLicenseToken } from './custom-licenses.js';
import { startRefresh } from './refresh.js';

export type ExchangeOutcome =
  | { outcome: 'completed'; delegatedAdminId: string; upn?: string }
  | { outcome: 'failed'; message: string }
  | { outcome: 'skipped'; status: string };

/**
 * authorization code → tokens → checks → consent. The code is redeemed once; the tokens land
 * in a pending consent's sealed partition at once, so a retry after a later failure (say,
 * Partner Center unavailable) resumes from the partition instead of redeeming the code again.
 */
export async function completeConsent(
  deps: ServiceDeps,
  ctx: JobContext,
  attemptId: string,
): Promise<ExchangeOutcome> {
  let attempt = await deps.attempts.get(attemptId);
  if (!attempt || !['received', 'exchanging'].includes(attempt.status)) {
    return { outcome: 'skipped', status: attempt?.status ?? 'missing' };
  }
  await deps.attempts.markExchanging(attemptId);

  // Store no token: the pending consent and its partition go; the attempt keeps the reason.
  const fail = async (message: string): Promise<ExchangeOutcome> => {
    await deps.attempts.failExchange(attemptId, message);
    ctx.log.info({ attemptId, message }, 'consent failed');
    return { outcome: 'failed', message };
  };
  const grant: Grant = attempt.kind === 'custom_license' ? 'customLicense' : 'partnerCenter';
  /**
   * Classifies a failed Microsoft call in the words of the attempt's grant (a bug is thrown,
   * not classified). Transient failures retry; the last one, and every other kind, ends the
   * attempt with the table's sentence, naming `account` where the sentence does.
   */
  const onFailure = (error: unknown, scope: IdentityScope = 'partner', account?: string) => {
    // Our own database or Redis being down is waited out by the worker pool, never spent.
    if (isOutage(error)) throw error;
    const failure = classifyMicrosoftError(error, scope, grant);
    if (failure.kind === 'transient' && !ctx.finalAttempt) throw error;
    return fail(consentEndSentence(failure, account));
  };

  if (!attempt.delegatedAdminId) {
    const secrets = deps.attempts.secrets(attempt);
    if (!secrets) return fail(codeExpired);
    const app = deps.identity.app();
    let result;
    try {
      // Only the Partner Center scope: one resource per token request. Graph comes later
      // through silent calls on the same refresh token.
      result = await app.acquireTokenByCode({
        code: secrets.code,
        // The custom-license token: every Graph permission the admin accepted.
        scopes:
          attempt.kind === 'custom_license'
            ? [deps.identity.graphDefaultScope]
            : [partnerCenterScope],
        redirectUri: deps.identity.redirectUri,
        codeVerifier: secrets.verifier,
        nonce: secrets.nonce,
        // Redeemed where it was issued: the partner's tenant, once it has one.
        ...(attempt.authorityTenantId
          ? { authority: deps.identity.authority(attempt.authorityTenantId) }
          : {}),
      });
    } catch (error) {
      return onFailure(error, 'authorizationCode');
    }
    // The code is spent and its tokens exist only here: wait out a database outage.
    const redeemed = {
      username: result.account?.username ?? '',
      tenantId: result.tenantId,
      oid: result.account?.localAccountId,
      cache: app.getTokenCache().serialize(),
    };
    attempt = await untilDatabaseAvailable(() => deps.consents.holdPending(attempt!, redeemed), {
      signal: ctx.signal,
      onWait: (waitMs) =>
        ctx.log.warn({ attemptId, waitMs }, 'database unreachable: holding the redeemed tokens'),
    });
  }
  const consentId = attempt.delegatedAdminId!;
  const tenant = await tenantOfConsent(deps, attempt, consentId);
  if ('refusal' in tenant) return fail(tenant.refusal);
  if (attempt.kind === 'custom_license') {
    return completeCustomLicenseToken(deps, attempt, consentId, tenant, ctx, fail);
  }
  const partition: CachePartition = {
    partnerId: attempt.partnerId,
    delegatedAdminId: consentId,
    purpose: 'partner_center',
  };

  let accessToken: string;
  try {
    ({ accessToken } = await deps.identity.accessToken(partition, [partnerCenterScope]));
  } catch (error) {
    return onFailure(error);
  }
  const claims = decodeJwt(accessToken) as {
    amr?: string[];
    tid?: string;
    upn?: string;
    oid?: string;
  };
  const upn = (claims.upn ?? '').toLowerCase();
  if (!signedInWithMfa(claims.amr)) {
    return fail(
      `${upn} signed in without multi-factor authentication. Enable MFA on this account, then grant consent again.`,
    );
  }
  if (claims.tid !== tenant.tenantId) {
    return fail(wrongTenant(attempt, upn, claims.tid, tenant.tenantId));
  }
  // Admin Agent is membership of the partner tenant's AdminAgents group (nesting counts), read
  // from Graph with the same refresh token: Sales and Helpdesk agents may list customers too.
  try {
    // For the account's home tenant, the partner's: where the AdminAgents group lives.
    const { accessToken: graphToken } = await deps.identity.accessToken(partition, [
      deps.identity.graphDefaultScope,
    ]);
    const roles = await agentRolesOfSignedInUser(deps.graph, graphToken, {
      beforeRequest: async (resourceUnits) => {
        const wait = await deps.graphPacer.reserve(
          attempt.partnerId,
          tenant.tenantId,
          resourceUnits,
        );
        if (wait > 0) await setTimeout(wait);
      },
    });
    if (roles.kind !== 'known' || !roles.roles.includes('AdminAgents')) {
      return fail(notAnAdminAgent(upn, roles));
    }
  } catch (error) {
    return onFailure(error);
  }
  try {
    await deps.partnerCenter.customersPage(accessToken, { size: 1 });
  } catch (error) {
    // This account is named: the sentence says who must enable MFA.
    return onFailure(error, 'partner', upn);
  }

  const binding = await refusalOf(
    deps,
    attempt,
    tenant,
    await deps.consents.complete(attempt, consentId, tenant.tenantId, upn),
  );
  if ('refusal' in binding) return fail(binding.refusal);
  await enqueueAlertDeliveries(deps.queues, binding.completed);
  await deps.queues.enqueue(
    'replaceLegacyAdmins',
    { delegatedAdminId: consentId },
    { jobId: jobIds.replaceLegacyAdmins(consentId) },
  );
  return { outcome: 'completed', delegatedAdminId: consentId };
}

type ConsentTenant = { tenantId: string; upn: string } | { refusal: string };

const grantAgain = (attempt: ConsentAttempt) =>
  attempt.kind === 'custom_license'
    ? 'Generate the custom-license token again'
    : 'Grant consent again';

function wrongTenant(
  attempt: ConsentAttempt,
  upn: string,
  tenantId: string | null | undefined,
  expected: string,
): string {
  return `${upn} belongs to Microsoft tenant ${tenantId ?? '(none named)'}, not to this partner's tenant ${expected}. ${grantAgain(attempt)} with an account of tenant ${expected}.`;
}

function heldByAnother(attempt: ConsentAttempt, upn: string, tenantId: string): string {
  return `${upn} belongs to Microsoft tenant ${tenantId}, which another partner already uses: a tenant serves one partner only. ${grantAgain(attempt)} with an account of this partner's own tenant.`;
}

/**
 * One Microsoft tenant per partner. The consent's tenant must be the partner's (or the one it
 * was sent to sign in at); a partner without a tenant yet may take one no other partner holds.
 */
async function tenantOfConsent(
  deps: Pick<ServiceDeps, 'consents' | 'partners'>,
  attempt: ConsentAttempt,
  consentId: string,
): Promise<ConsentTenant> {
  const [consent, partner] = await Promise.all([
    deps.consents.get(consentId),
    deps.partners.get(attempt.partnerId),
  ]);
  const upn = consent?.username || 'The account';
  const expected = partner?.homeTenantId ?? attempt.authorityTenantId;
  if (expected && consent?.tenantId !== expected) {
    return { refusal: wrongTenant(attempt, upn, consent?.tenantId, expected) };
  }
  if (!consent?.tenantId) {
    return {
      refusal: `Microsoft did not say which tenant ${upn} belongs to. ${grantAgain(attempt)}.`,
    };
  }
  if (await deps.partners.tenantHeldByAnother(consent.tenantId, attempt.partnerId)) {
    return { refusal: heldByAnother(attempt, upn, consent.tenantId) };
  }
  return { tenantId: consent.tenantId, upn };
}

/**
 * The sentence for a completion the tenant binding refused: a tenant taken meanwhile by
 * another partner, or a partner bound meanwhile to another tenant.
 */
async function refusalOf<T>(
  deps: Pick<ServiceDeps, 'partners'>,
  attempt: ConsentAttempt,
  tenant: { tenantId: string; upn: string },
  outcome: BindOutcome<T>,
): Promise<{ completed: T } | { refusal: string }> {
  if ('completed' in outcome) return outcome;
  if (outcome.refused === 'tenant_taken') {
    return { refusal: heldByAnother(attempt, tenant.upn, tenant.tenantId) };
  }
  const partner = await deps.partners.get(attempt.partnerId);
  const expected = partner?.homeTenantId ?? '(unknown)';
  return { refusal: wrongTenant(attempt, tenant.upn, tenant.tenantId, expected) };
}

/**
 * A new custom-license token is validated while still pending, then becomes the partner's
 * current one (the one before it goes, with its tokens). A token that fails validation does not
 * displace a usable one: the attempt fails with the reason and the token in use stays. With no
 * usable token to keep, the new one is kept, invalid, so its state says what is wrong.
 */
async function completeCustomLicenseToken(
  deps: ServiceDeps,
  attempt: ConsentAttempt,
  tokenId: string,
  tenant: { tenantId: string; upn: string },
  ctx: JobContext,
  fail: (message: string) => Promise<ExchangeOutcome>,
): Promise<ExchangeOutcome> {
  const pending = await deps.consents.get(tokenId);
  if (!pending) return fail(codeExpired);
  let state;
  try {
    state = await checkCustomLicenseToken(deps, attempt.partnerId, pending);
  } catch (error) {
    if (!ctx.finalAttempt || isOutage(error) || error instanceof ProgrammingError) throw error;
    return fail(stepSentences.customLicenseCheckUnavailable);
  }
  const current = await deps.customLicenses.currentToken(attempt.partnerId);
  if (!canCount(state) && current && canCount(customLicenseTokenState(current, new Date()))) {
    return fail(stepSentences.tokenInUseKept(state.reason, current.username));
  }
  const binding = await refusalOf(
    deps,
    attempt,
    tenant,
    await deps.consents.completeCustomLicenseToken(attempt, tokenId, tenant.tenantId, state.status),
  );
  if ('refusal' in binding) return fail(binding.refusal);
  const { upn, deliveries } = binding.completed;
  await enqueueAlertDeliveries(deps.queues, deliveries);
  ctx.log.info({ attemptId: attempt.id, status: state.status }, 'custom-license token saved');
  return { outcome: 'completed', delegatedAdminId: tokenId, upn };
}

/**
 * After a consent is stored: the domain-matched replacement, then the partner's initial
 * refresh. Idempotent.
 */
export async function replaceAndRefresh(
  deps: Pick<ServiceDeps, 'consents' | 'runs' | 'queues'>,
  consentId: string,
): Promise<ReplacementResult> {
  const result = await deps.consents.replaceByDomain(consentId);
  // The consent is in place: the partner's initial refresh starts now.
  if (result.partnerId) await startRefresh(deps, result.partnerId, 'consent');
  return result;
}
