import { setTimeout } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import type { ServiceDeps } from '../dependencies.js';
import {
  canCount,
  customLicenseKindSchema,
  customLicenseTokenState,
  missingPermissions,
  type CustomLicenseSpec,
  type CustomLicenseTokenState,
} from '../domain/custom-licenses.js';
import {
  lastAttemptFailure,
  stepSentences,
  type MicrosoftFailure,
} from '../microsoft/error-table.js';
import { classifyMicrosoftError } from '../microsoft/errors.js';
import { signedInWithMfa } from '../microsoft/identity.js';
import { CountRefused, TenantGraph } from '../microsoft/tenant-graph.js';
import { ProgrammingError } from '../programming-error.js';
import { isOutage, type JobContext } from '../queue/worker-pool.js';
import { enqueueAlertDeliveries } from './alert-delivery.js';
import type {
  CustomLicenseCountInput,
  CustomLicenseDefinition,
  CustomLicenseToken,
} from '../store/custom-licenses.js';
import type { CachePartition } from '../store/token-cache.js';

/** Customer tenants tried before the token is declared unable to reach any. Default: 10 */
const customerTenantsTried = 10;

/**
 * Validates a partner's custom-license token and records the outcome: it redeems at the
 * partner's tenant for Graph (a use, which keeps it alive), carries MFA, holds every permission
 * the partner's custom licenses need, and gets a token for at least one customer tenant.
 * A transient failure throws (the caller retries) and leaves the last outcome in place.
 */
export async function checkCustomLicenseToken(
  deps: Pick<ServiceDeps, 'customLicenses' | 'identity' | 'partners' | 'queues'>,
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
    const deliveries = await deps.customLicenses.recordValidation(token.id, {
      validation: 'invalid',
      reason,
      used,
      ...extra,
    });
    await enqueueAlertDeliveries(deps.queues, deliveries);
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
    if (isOutage(error)) throw error;
    const failure = classifyMicrosoftError(error, 'partner', 'customLicense');
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
      if (isOutage(error)) throw error;
      const failure = classifyMicrosoftError(error, 'customer', 'customLicense');
      if (failure.kind === 'transient') throw error;
      lastFailure = failure.message;
    }
  }
  if (lastFailure) {
    return invalid(stepSentences.noCustomerTenantReached(lastFailure), true, {
      grantedScopes: granted,
      mfa,
    });
  }
  const deliveries = await deps.customLicenses.recordValidation(token.id, {
    validation: 'valid',
    reason: null,
    used: true,
    grantedScopes: granted,
    mfa,
  });
  await enqueueAlertDeliveries(deps.queues, deliveries);
  return customLicenseTokenState(
    { ...asActive, validation: 'valid', validationReason: null, lastUsedAt: new Date() },
    new Date(),
  );
}

/** A count needs Graph again (a transient failure): the customer's job retries. */
class CustomLicenseRetry extends Error {
  constructor(readonly failure: MicrosoftFailure) {
    super(failure.message);
    this.name = 'CustomLicenseRetry';
  }
}

/**
 * The customer's custom-license counts, after its licenses: one per definition that applies
 * to the company, through the custom-license token at the customer's tenant, each Graph
 * request paced by its resource units for the tenant and the app, and per partner. A token that cannot count records "will fail to update" with the reason (a fixed
 * quantity needs no token); a definition Graph refuses for this tenant fails alone. A
 * transient failure throws CustomLicenseRetry, unless this is the last attempt.
 */
export async function countCustomLicenses(
  deps: Pick<ServiceDeps, 'customLicenses' | 'identity' | 'graph' | 'graphPacer' | 'queues'>,
  ctx: JobContext,
  partnerId: string,
  companyId: string,
  customerTenantId: string,
): Promise<CustomLicenseCountInput[]> {
  const definitions = await deps.customLicenses.definitionsFor(partnerId, companyId);
  if (definitions.length === 0) return [];
  const specs = definitions.map((d) => ({
    definition: d,
    spec: customLicenseKindSchema.parse({ ...d.params, kind: d.kind }),
  }));
  const fixed = (spec: CustomLicenseSpec) => (spec.kind === 'fixed' ? spec.quantity : undefined);
  const token = await deps.customLicenses.currentToken(partnerId);
  const state = customLicenseTokenState(token, new Date());
  const all = (state: CustomLicenseCountInput['state'], message: string) =>
    specs.map(({ definition, spec }) =>
      fixed(spec) !== undefined
        ? counted(definition, fixed(spec)!)
        : { definitionId: definition.id, state, quantity: null, message },
    );
  if (!canCount(state)) return all('will_fail', stepSentences.willFailToUpdate(state.reason));
  if (!token)
    throw new ProgrammingError(
      'custom-license counting',
      'a token state that counts without a token',
    );

  const partition = {
    partnerId,
    delegatedAdminId: token.id,
    purpose: 'custom_license' as const,
  };
  /** Retries the job, or stops counting with the token, or returns this tenant's sentence. */
  const onFailure = async (
    error: unknown,
  ): Promise<{ whole: CustomLicenseCountInput[] } | { message: string }> => {
    if (isOutage(error)) throw error; // waited out by the worker pool, not a count's failure
    const failure = classifyMicrosoftError(error, 'customer', 'customLicense');
    if (failure.retryAfterMs !== undefined)
      await ctx.retryAfter(failure.retryAfterMs + Math.random() * 1000);
    if (failure.kind === 'transient' && !ctx.finalAttempt) throw new CustomLicenseRetry(failure);
    if (failure.kind === 'needs_reconsent') {
      await enqueueAlertDeliveries(
        deps.queues,
        await deps.customLicenses.markInvalid(token.id, failure.message),
      );
      return { whole: all('will_fail', stepSentences.willFailToUpdate(failure.message)) };
    }
    // The job's last attempt: the count's sentence must not promise a retry.
    return { message: lastAttemptFailure(failure, 'customer').message };
  };

  let accessToken: string;
  try {
    const got = await deps.identity.accessToken(
      partition,
      [deps.identity.graphDefaultScope],
      customerTenantId,
    );
    accessToken = got.accessToken;
    if (!got.result.fromCache) await deps.customLicenses.markUsed(token.id);
  } catch (error) {
    const outcome = await onFailure(error);
    return 'whole' in outcome ? outcome.whole : all('failed', outcome.message);
  }

  const graph = new TenantGraph(deps.graph, accessToken, {
    beforeRequest: async (resourceUnits) => {
      const wait = await deps.graphPacer.reserve(partnerId, customerTenantId, resourceUnits);
      if (wait > 0) await setTimeout(wait);
    },
  });
  const counts: CustomLicenseCountInput[] = [];
  for (const { definition, spec } of specs) {
    try {
      const { quantity, asOf } = await graph.count(spec);
      counts.push(counted(definition, quantity, asOf));
    } catch (error) {
      const outcome =
        error instanceof CountRefused ? { message: error.message } : await onFailure(error);
      if ('whole' in outcome) return outcome.whole;
      counts.push({
        definitionId: definition.id,
        state: 'failed',
        quantity: null,
        message: outcome.message,
      });
    }
  }
  return counts;
}

const counted = (definition: CustomLicenseDefinition, quantity: number, asOf?: string) => ({
  definitionId: definition.id,
  state: 'counted' as const,
  quantity,
  // A count from a usage report says which day it is true of: reports trail by about 2 days.
  message: asOf ? `As of Microsoft's mailbox usage report of ${asOf}.` : null,
});
