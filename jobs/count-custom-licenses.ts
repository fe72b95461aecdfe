import { setTimeout } from 'node:timers/promises';
import {
  canCount,
  customLicenseKindSchema,
  customLicenseTokenState,
  inDomains,
  type CustomLicenseSpec,
} from '../src/domain/custom-licenses.js';
import {
  classifyMicrosoftError,
  forCustomLicenseToken,
  MicrosoftError,
  type MicrosoftFailure,
} from '../src/microsoft/errors.js';
import type { GraphClient, GraphPage, GraphRequestOptions } from '../src/microsoft/graph.js';
import {
  countMailboxes,
  UsageReportFormatError,
  type MailboxCounts,
} from '../src/microsoft/usage-reports.js';
import { isOutage, type JobContext } from '../src/queue/worker-pool.js';
import type {
  CustomLicenseCountInput,
  CustomLicenseDefinition,
} from '../src/store/custom-licenses.js';
import type { JobDeps } from './deps.js';

/** The mailbox usage report: the shortest period, and CSV (v1.0's only format). */
const mailboxReport = "/reports/getMailboxUsageDetail(period='D7')";

/** Graph's largest page of users. */
const usersPageSize = 999;

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

interface GraphUser {
  id: string;
  userPrincipalName: string;
}

const licensedUsersQuery = `/users?$filter=${encodeURIComponent('assignedLicenses/$count ne 0')}&$count=true&$select=id,userPrincipalName`;

/** Graph answered, but this definition cannot be counted in this tenant; the reason says why. */
class CountRefused extends Error {}

/** One customer tenant's Graph, remembering what several definitions read alike. */
class TenantGraph {
  private licensed?: Promise<GraphUser[]>;
  private mailboxes?: Promise<MailboxCounts>;

  constructor(
    private readonly graph: GraphClient,
    private readonly token: string,
    private readonly options: GraphRequestOptions,
  ) {}

  /** The definition's quantity; `asOf` when it is true of an earlier day than today. */
  async count(spec: CustomLicenseSpec): Promise<{ quantity: number; asOf?: string }> {
    switch (spec.kind) {
      case 'user_mailboxes':
      case 'shared_mailboxes': {
        const counts = await this.mailboxCounts();
        const quantity = spec.kind === 'user_mailboxes' ? counts.user : counts.shared;
        return counts.refreshDate ? { quantity, asOf: counts.refreshDate } : { quantity };
      }
      default:
        return { quantity: await this.directoryCount(spec) };
    }
  }

  private async directoryCount(
    spec: Exclude<CustomLicenseSpec, { kind: 'user_mailboxes' | 'shared_mailboxes' }>,
  ): Promise<number> {
    switch (spec.kind) {
      case 'fixed':
        return spec.quantity;
      case 'licensed_users': {
        // $count with ConsistencyLevel answers on the first page; a domain filter needs the UPNs.
        if (!spec.domains) {
          const first = await this.graph.get<GraphPage<GraphUser>>(
            `${licensedUsersQuery}&$top=1`,
            this.token,
            'customer',
            { ...this.options, eventual: true },
          );
          if (first['@odata.count'] !== undefined) return first['@odata.count'];
        }
        const licensed = await this.licensedUsers();
        return spec.domains
          ? licensed.filter((u) => inDomains(u.userPrincipalName, spec.domains!)).length
          : licensed.length;
      }
      case 'group_members': {
        const id = await this.groupId(spec.group);
        return this.graph.count(
          `/groups/${id}/transitiveMembers/microsoft.graph.user/$count`,
          this.token,
          'customer',
          this.options,
        );
      }
      case 'sku_quantity': {
        const skus = await this.graph.get<{
          value: {
            skuPartNumber: string;
            consumedUnits: number;
            prepaidUnits: { enabled: number };
          }[];
        }>('/subscribedSkus', this.token, 'customer', this.options);
        const sku = skus.value.find(
          (s) => s.skuPartNumber.toLowerCase() === spec.skuPartNumber.toLowerCase(),
        );
        if (!sku) return 0;
        return spec.measure === 'assigned' ? sku.consumedUnits : sku.prepaidUnits.enabled;
      }
    }
  }

  private licensedUsers(): Promise<GraphUser[]> {
    this.licensed ??= this.graph
      .all<GraphUser>(`${licensedUsersQuery}&$top=${usersPageSize}`, this.token, 'customer', {
        ...this.options,
        eventual: true,
      })
      .then((r) => r.items);
    return this.licensed;
  }

  /** The group's id; a name that matches no group, or several, cannot be counted. */
  private async groupId(group: string): Promise<string> {
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(group)) {
      return group.toLowerCase();
    }
    const found = await this.graph.get<{ value: { id: string }[] }>(
      `/groups?$filter=${encodeURIComponent(`displayName eq '${group.replace(/'/g, "''")}'`)}&$select=id`,
      this.token,
      'customer',
      this.options,
    );
    if (found.value.length !== 1) {
      throw new CountRefused(
        found.value.length === 0
          ? `No group named "${group}" in this tenant: check the name, or give the group's id.`
          : `${found.value.length} groups are named "${group}" in this tenant: give the group's id.`,
      );
    }
    return found.value[0]!.id;
  }

  /**
   * User and shared mailboxes from the mailbox usage report, read once per tenant. A delegated
   * token cannot read other users' mailbox settings; the report needs Reports.Read.All and,
   * for the partner's access, a role that may read usage reports.
   */
  private mailboxCounts(): Promise<MailboxCounts> {
    this.mailboxes ??= this.graph
      .report(mailboxReport, this.token, 'customer', this.options)
      .then(countMailboxes)
      .catch((error: unknown) => {
        if (error instanceof UsageReportFormatError) throw new CountRefused(error.message);
        if (error instanceof MicrosoftError && error.failure.kind === 'permanent') {
          const status = error.failure.code;
          throw new CountRefused(
            `Microsoft Graph refused the mailbox usage report in this customer tenant (${status}): the custom-license token needs the Reports.Read.All permission, and the partner's access a role that may read usage reports (Global Reader, Reports Reader or Exchange Administrator).`,
          );
        }
        throw error;
      });
    return this.mailboxes;
  }
}
