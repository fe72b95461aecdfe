import { setTimeout } from 'node:timers/promises';
import type { ServiceDeps } from '../dependencies.js';
import {
  appNotConsentedAccess,
  customerAccess,
  featuresUsedBy,
  rolesThroughGroups,
  type RelationshipAccess,
} from '../domain/access.js';
import type { Logger } from '../logger.js';
import {
  accessAssignments,
  delegatedAdminRelationships,
  type DelegatedAdminRelationship,
} from '../microsoft/gdap.js';
import { classifyMicrosoftError } from '../microsoft/errors.js';
import type { GraphRequestOptions } from '../microsoft/graph.js';
import { partnerCenterScope } from '../microsoft/identity.js';
import type { PartnerCenterCustomer } from '../microsoft/partner-center.js';
import { groupsOfSignedInUser } from '../microsoft/partner-roles.js';
import { ProgrammingError } from '../programming-error.js';
import { enqueueAlertDeliveries } from './alert-delivery.js';
import { isOutage } from '../queue/worker-pool.js';
import type { CachePartition } from '../store/token-cache.js';
import type { DelegatedAdmin } from '../store/partners.js';

/** Customers per page: the size Partner Center's SDK uses by default. */
const pageSize = 100;

/** The partner's consent partition, for Partner Center and the partner's own Graph. */
export const consentPartition = (
  partnerId: string,
  consent: Pick<DelegatedAdmin, 'id'>,
): CachePartition => ({
  partnerId,
  delegatedAdminId: consent.id,
  purpose: 'partner_center',
});

/** Every customer Partner Center lists for the partner, each page in the partner's pace. */
export async function listCustomers(
  deps: Pick<ServiceDeps, 'pacer' | 'partnerCenter'>,
  partnerId: string,
  accessToken: string,
  onPage: (listed: number) => Promise<void> = async () => {},
): Promise<PartnerCenterCustomer[]> {
  const customers: PartnerCenterCustomer[] = [];
  let continuationToken: string | undefined;
  do {
    const wait = await deps.pacer.reserve(partnerId);
    if (wait > 0) await setTimeout(wait);
    const page = await deps.partnerCenter.customersPage(accessToken, {
      size: pageSize,
      ...(continuationToken ? { continuationToken } : {}),
    });
    customers.push(...page.items);
    continuationToken = page.items.length > 0 ? page.continuationToken : undefined;
    await onPage(customers.length);
  } while (continuationToken);
  return customers;
}

/** Graph calls in the partner's tenant, in the partner's and the app's pace. */
function partnerGraphPace(
  deps: Pick<ServiceDeps, 'graphPacer'>,
  partnerId: string,
  partnerTenantId: string,
): GraphRequestOptions {
  return {
    beforeRequest: async (resourceUnits) => {
      const wait = await deps.graphPacer.reserve(partnerId, partnerTenantId, resourceUnits);
      if (wait > 0) await setTimeout(wait);
    },
  };
}

const activeNow = (r: DelegatedAdminRelationship) =>
  r.status === 'active' && (!r.endDateTime || Date.parse(r.endDateTime) > Date.now());

/**
 * Reads the partner's GDAP relationships, their access assignments (of active ones) and the
 * consenting account's groups, and records each customer's access: every customer listed and
 * every customer a relationship names. Failures are thrown (classified Microsoft errors).
 */
async function readAccess(
  deps: ServiceDeps,
  partnerId: string,
  consent: DelegatedAdmin,
  customers: { tenantId: string; name: string }[],
): Promise<{ customers: number }> {
  const { accessToken } = await deps.identity.accessToken(consentPartition(partnerId, consent), [
    deps.identity.graphDefaultScope,
  ]);
  const partnerTenantId = consent.tenantId ?? partnerId;
  const pace = partnerGraphPace(deps, partnerId, partnerTenantId);
  const groups = await groupsOfSignedInUser(deps.graph, accessToken, pace);
  const groupNames = new Map(
    groups.flatMap((g) => (g.id ? [[g.id.toLowerCase(), g.displayName ?? g.id] as const] : [])),
  );
  const relationships = await delegatedAdminRelationships(deps.graph, accessToken, pace);
  const byCustomer = new Map<string, RelationshipAccess[]>();
  const names = new Map(customers.map((c) => [c.tenantId.toLowerCase(), c.name]));
  for (const r of relationships) {
    const tenant = r.customer?.tenantId?.toLowerCase();
    if (!tenant) continue;
    if (!names.has(tenant) && r.customer?.displayName) names.set(tenant, r.customer.displayName);
    const held = activeNow(r)
      ? rolesThroughGroups(
          (await accessAssignments(deps.graph, accessToken, r.id, pace))
            .filter((a) => a.status === undefined || a.status === 'active')
            .map((a) => ({
              groupId: a.accessContainer?.accessContainerId ?? '',
              roleDefinitionIds: (a.accessDetails?.unifiedRoles ?? []).map(
                (u) => u.roleDefinitionId,
              ),
            })),
          groupNames,
        )
      : { roles: [], groups: [] };
    byCustomer.set(tenant, [
      ...(byCustomer.get(tenant) ?? []),
      {
        id: r.id,
        displayName: r.displayName,
        status: r.status,
        endDateTime: r.endDateTime ?? null,
        autoExtendDuration: r.autoExtendDuration ?? 'PT0S',
        ...held,
      },
    ]);
  }
  const [known, definitions] = await Promise.all([
    deps.access.forPartner(partnerId),
    deps.customLicenses.definitions(partnerId),
  ]);
  const appConsent = new Map(known.map((k) => [k.customerTenantId, k.appConsent]));
  const needs = featuresUsedBy(definitions.map((d) => d.kind));
  const now = new Date();
  const deliveries = await deps.access.saveRead(
    partnerId,
    [...names].map(([tenant, name]) => {
      const own = byCustomer.get(tenant) ?? [];
      return {
        customerTenantId: tenant,
        customerName: name,
        relationships: own,
        ...customerAccess({
          relationships: own,
          appConsent: appConsent.get(tenant) ?? 'unknown',
          needs,
          now,
        }),
      };
    }),
  );
  await enqueueAlertDeliveries(deps.queues, deliveries);
  return { customers: names.size };
}

/**
 * `readAccess` inside a run: a failure is logged and the last known access kept, since the
 * licenses can still be read without it.
 */
export async function readAccessKeepingLast(
  deps: ServiceDeps,
  log: Logger,
  partnerId: string,
  consent: DelegatedAdmin,
  customers: PartnerCenterCustomer[],
): Promise<void> {
  try {
    await readAccess(
      deps,
      partnerId,
      consent,
      customers.map((c) => ({
        tenantId: c.companyProfile.tenantId,
        name: c.companyProfile.companyName,
      })),
    );
  } catch (error) {
    if (error instanceof ProgrammingError || isOutage(error)) throw error;
    log.warn({ err: error, partnerId }, 'GDAP access could not be read; kept the last known');
  }
}

/** Reads access on request: lists the partner's customers, then their relationships. */
export async function refreshAccess(
  deps: ServiceDeps,
  partnerId: string,
): Promise<{ customers: number } | { skipped: string }> {
  const consent = await deps.partners.activeConsent(partnerId);
  if (!consent) return { skipped: 'No active consent: grant Partner Center consent first.' };
  try {
    const { accessToken } = await deps.identity.accessToken(consentPartition(partnerId, consent), [
      partnerCenterScope,
    ]);
    const customers = await listCustomers(deps, partnerId, accessToken);
    return await readAccess(
      deps,
      partnerId,
      consent,
      customers.map((c) => ({
        tenantId: c.companyProfile.tenantId,
        name: c.companyProfile.companyName,
      })),
    );
  } catch (error) {
    if (isOutage(error)) throw error;
    // A refusal is said, not retried; the last known access stays.
    const failure = classifyMicrosoftError(error);
    if (failure.kind === 'transient') throw error;
    return { skipped: failure.message };
  }
}

/**
 * Records what a sign-in to the customer tenant showed of the app's consent there, and the
 * access that follows. Nothing is written when it says what is known already.
 */
export async function recordAppConsent(
  deps: ServiceDeps,
  partnerId: string,
  customerTenantId: string,
  consented: boolean,
): Promise<void> {
  const row = await deps.access.get(partnerId, customerTenantId);
  if (row?.appConsent === (consented ? 'consented' : 'not_consented')) return;
  if (!row?.checkedAt) {
    // Relationships never read: only a refusal is worth a row; a consent forgets one.
    const deliveries = consented
      ? await deps.access.forget(partnerId, customerTenantId)
      : await deps.access.saveAppConsent(
          partnerId,
          customerTenantId,
          false,
          appNotConsentedAccess(),
        );
    await enqueueAlertDeliveries(deps.queues, deliveries);
    return;
  }
  const definitions = await deps.customLicenses.definitions(partnerId);
  const deliveries = await deps.access.saveAppConsent(
    partnerId,
    customerTenantId,
    consented,
    customerAccess({
      relationships: row.relationships,
      appConsent: consented ? 'consented' : 'not_consented',
      needs: featuresUsedBy(definitions.map((d) => d.kind)),
      now: new Date(),
    }),
  );
  await enqueueAlertDeliveries(deps.queues, deliveries);
}
