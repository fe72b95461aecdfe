import { inDomains, type CustomLicenseSpec } from '../domain/custom-licenses.js';
import { stepSentences } from './error-table.js';
import { MicrosoftError } from './errors.js';
import type { GraphClient, GraphPage, GraphRequestOptions } from './graph.js';
import { countMailboxes, UsageReportFormatError, type MailboxCounts } from './usage-reports.js';

/** The mailbox usage report: the shortest period, and CSV (v1.0's only format). */
const mailboxReport = "/reports/getMailboxUsageDetail(period='D7')";

/** Graph's largest page of users. */
const usersPageSize = 999;

interface GraphUser {
  id: string;
  userPrincipalName: string;
}

const licensedUsersQuery = `/users?$filter=${encodeURIComponent('assignedLicenses/$count ne 0')}&$count=true&$select=id,userPrincipalName`;

/** Graph answered, but this definition cannot be counted in this tenant; the reason says why. */
export class CountRefused extends Error {}

/** One customer tenant's Graph, remembering what several definitions read alike. */
export class TenantGraph {
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
          throw new CountRefused(stepSentences.mailboxReportRefused(error.failure.code));
        }
        throw error;
      });
    return this.mailboxes;
  }
}
