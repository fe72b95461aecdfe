import { setTimeout } from 'node:timers/promises';
import type { ServiceDeps } from '../dependencies.js';
import { customerAccess, featuresUsedBy, gdapRoles } from '../domain/access.js';
import { consentAppInCustomerTenant } from '../microsoft/app-consent.js';
import { stepSentences } from '../microsoft/error-table.js';
import { classifyMicrosoftError, MicrosoftError } from '../microsoft/errors.js';
import { delegatedAdminRelationship, setAutoExtend } from '../microsoft/gdap.js';
import { partnerCenterScope } from '../microsoft/identity.js';
import { isOutage } from '../queue/worker-pool.js';
import type { AccessActionOutcome } from '../store/schema.js';
import { consentPartition, recordAppConsent } from './access.js';
import { enqueueAlertDeliveries } from './alert-delivery.js';

// The fixes of GDAP access the product makes itself, each audited in access_actions: the app's
// consent in customer tenants (through Partner Center), and a relationship's auto-extend.

export interface AppConsentOutcome {
  customerTenantId: string;
  outcome: AccessActionOutcome;
  message?: string;
}

/**
 * Consents the app in each customer tenant through Partner Center, one after another in the
 * partner's pace; each customer's outcome is recorded, and a consented customer's access
 * follows at once.
 */
export async function consentApps(
  deps: ServiceDeps,
  partnerId: string,
  customerTenantIds: string[],
  actor: string,
): Promise<{ outcomes: AppConsentOutcome[] } | { skipped: string }> {
  const consent = await deps.partners.activeConsent(partnerId);
  if (!consent) return { skipped: 'No active consent: grant Partner Center consent first.' };
  const { accessToken } = await deps.identity.accessToken(consentPartition(partnerId, consent), [
    partnerCenterScope,
  ]);
  const outcomes: AppConsentOutcome[] = [];
  for (const customerTenantId of customerTenantIds) {
    let result: AppConsentOutcome;
    try {
      const wait = await deps.pacer.reserve(partnerId);
      if (wait > 0) await setTimeout(wait);
      await consentAppInCustomerTenant(
        deps.partnerCenter,
        accessToken,
        customerTenantId,
        deps.identity.clientId,
      );
      await recordAppConsent(deps, partnerId, customerTenantId, true);
      result = { customerTenantId, outcome: 'done' };
    } catch (error) {
      if (isOutage(error)) throw error;
      const failure = classifyMicrosoftError(error, 'customer');
      result = {
        customerTenantId,
        outcome: failure.kind === 'transient' ? 'failed' : 'refused',
        message: failure.message,
      };
    }
    await deps.access.recordAction({
      partnerId,
      actor,
      action: 'app_consent',
      ...result,
    });
    outcomes.push(result);
  }
  return { outcomes };
}

export type AutoExtendResult =
  | { outcome: 'done'; customerTenantId: string; autoExtendDuration: string }
  | { outcome: 'refused'; status: 404 | 409 | 422; message: string };

/**
 * Turns on a relationship's auto-extend (P180D): read first for its etag (If-Match), refused
 * before asking Microsoft where its rules refuse (Microsoft-led, Global Administrator, not
 * active). The customer's stored access follows the relationship.
 */
export async function enableAutoExtend(
  deps: ServiceDeps,
  partnerId: string,
  relationshipId: string,
  actor: string,
): Promise<AutoExtendResult> {
  const consent = await deps.partners.activeConsent(partnerId);
  if (!consent)
    return {
      outcome: 'refused',
      status: 409,
      message: 'No active consent: grant Partner Center consent first.',
    };
  const { accessToken } = await deps.identity.accessToken(consentPartition(partnerId, consent), [
    deps.identity.graphDefaultScope,
  ]);
  let relationship;
  try {
    relationship = await delegatedAdminRelationship(deps.graph, accessToken, relationshipId);
  } catch (error) {
    if (!(error instanceof MicrosoftError) || error.failure.kind === 'transient') throw error;
    return error.failure.kind === 'permanent'
      ? {
          outcome: 'refused',
          status: 404,
          message: stepSentences.relationshipUnknown(relationshipId),
        }
      : { outcome: 'refused', status: 409, message: error.failure.message };
  }
  const customerTenantId = relationship.customer?.tenantId?.toLowerCase() ?? '';
  const name = relationship.displayName;
  const roles = (relationship.accessDetails?.unifiedRoles ?? []).map((r) =>
    r.roleDefinitionId.toLowerCase(),
  );
  let refusal: { status: 409 | 422; message: string } | undefined;
  if (name.startsWith('MLT_'))
    refusal = { status: 422, message: stepSentences.autoExtendMicrosoftLed(name) };
  else if (roles.includes(gdapRoles['Global Administrator']))
    refusal = { status: 422, message: stepSentences.autoExtendGlobalAdministrator(name) };
  else if (relationship.status !== 'active')
    refusal = {
      status: 409,
      message: stepSentences.autoExtendNotActive(name, relationship.status),
    };
  let autoExtendDuration = relationship.autoExtendDuration ?? 'PT0S';
  if (!refusal && autoExtendDuration !== 'P180D') {
    try {
      autoExtendDuration =
        (
          await setAutoExtend(
            deps.graph,
            accessToken,
            relationshipId,
            relationship['@odata.etag'] ?? '*',
            'P180D',
          )
        ).autoExtendDuration ?? 'P180D';
    } catch (error) {
      if (!(error instanceof MicrosoftError) || error.failure.kind === 'transient') throw error;
      refusal =
        error.failure.code === 'PreconditionFailed'
          ? { status: 409, message: stepSentences.relationshipChanged(name) }
          : { status: 422, message: stepSentences.autoExtendRefused(name, error.failure.message) };
    }
  }
  await deps.access.recordAction({
    partnerId,
    actor,
    action: 'auto_extend',
    customerTenantId,
    relationshipId,
    outcome: refusal ? 'refused' : 'done',
    ...(refusal ? { message: refusal.message } : {}),
  });
  if (refusal) return { outcome: 'refused', ...refusal };
  await followRelationship(deps, partnerId, customerTenantId, relationshipId, autoExtendDuration);
  return { outcome: 'done', customerTenantId, autoExtendDuration };
}

/** The stored access of the relationship's customer, with its new auto-extend. */
async function followRelationship(
  deps: ServiceDeps,
  partnerId: string,
  customerTenantId: string,
  relationshipId: string,
  autoExtendDuration: string,
): Promise<void> {
  const row = await deps.access.get(partnerId, customerTenantId);
  if (!row?.checkedAt) return;
  const relationships = row.relationships.map((r) =>
    r.id === relationshipId ? { ...r, autoExtendDuration } : r,
  );
  const definitions = await deps.customLicenses.definitions(partnerId);
  const deliveries = await deps.access.saveRelationships(
    partnerId,
    customerTenantId,
    relationships,
    customerAccess({
      relationships,
      appConsent: row.appConsent,
      needs: featuresUsedBy(definitions.map((d) => d.kind)),
      now: new Date(),
    }),
  );
  await enqueueAlertDeliveries(deps.queues, deliveries);
}
