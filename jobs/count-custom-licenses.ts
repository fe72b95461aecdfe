import { setTimeout } from 'node:timers/promises';
import {
  canCount,
  customLicenseKindSchema,
  customLicenseTokenState,
  type CustomLicenseSpec,
} from '../src/domain/custom-licenses.js';
import {
  classifyMicrosoftError,
  forCustomLicenseToken,
  type MicrosoftFailure,
} from '../src/microsoft/errors.js';
import { CountRefused, TenantGraph } from '../src/microsoft/tenant-graph.js';
import { isOutage, type JobContext } from '../src/queue/worker-pool.js';
import type {
  CustomLicenseCountInput,
  CustomLicenseDefinition,
} from '../src/store/custom-licenses.js';
import type { JobDeps } from './deps.js';

/** A count needs Graph again (a transient failure): the customer's job retries. */
export class CustomLicenseRetry extends Error {
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
  deps: JobDeps,
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
  if (!token || !canCount(state)) return all('will_fail', `Will fail to update: ${state.reason}`);

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
    const failure = forCustomLicenseToken(classifyMicrosoftError(error, 'customer'));
    if (failure.retryAfterMs !== undefined)
      await ctx.retryAfter(failure.retryAfterMs + Math.random() * 1000);
    if (failure.kind === 'transient' && !ctx.finalAttempt) throw new CustomLicenseRetry(failure);
    if (failure.kind === 'needs_reconsent') {
      await deps.customLicenses.markInvalid(token.id, failure.message);
      return { whole: all('will_fail', `Will fail to update: ${failure.message}`) };
    }
    return { message: failure.message };
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
