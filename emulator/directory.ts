import {
  partnerRoles,
  ScenarioError,
  type ExplicitCustomerSpec,
  type RelationshipSpec,
  type PartnerRole,
  type PartnerSpec,
  type Scenario,
} from './scenario.js';
import { skuByPartNumber } from './skus.js';
import { generatedCustomer } from './generated-tenants.js';
import {
  allPartnerUsersGroup,
  buildRelationship,
  delegatedAccessRelationship,
  endDateFrom,
  groupIdFor,
  withDelegatedAccessShorthand,
  type AppConsent,
  type GroupLookup,
  type Relationship,
} from './gdap.js';
import { parseScopes } from './scopes.js';
import {
  amrHasMfa,
  stableGuid,
  type BillingCycle,
  type Customer,
  type CustomerDetail,
  type DirectoryUser,
  type Group,
  type Partner,
  type PartnerGroup,
  type PartnerUser,
  type Subscription,
  type TermDuration,
} from './tenants.js';

/**
 * The partner tenant's groups: the scenario's, plus the three role groups, which hold the
 * users whose `roles` (or `adminAgent`) name them.
 */
function partnerGroups(spec: PartnerSpec): PartnerGroup[] {
  const groups: PartnerGroup[] = [];
  const named = (displayName: string) => {
    let group = groups.find((g) => g.displayName === displayName);
    if (!group) {
      group = {
        id: stableGuid(spec.tenantId, 'group', displayName),
        displayName,
        memberUpns: [],
        memberGroupIds: [],
      };
      groups.push(group);
    }
    return group;
  };
  for (const role of partnerRoles) named(role);
  for (const g of spec.groups) named(g.displayName);
  // The group `delegatedAccess: true` assigns: a real group, listed in the users' memberships,
  // holding every partner user unless the scenario describes it itself.
  if (!spec.groups.some((g) => g.displayName === allPartnerUsersGroup)) {
    named(allPartnerUsersGroup).memberUpns.push(...spec.users.map((u) => u.upn));
  }
  for (const user of spec.users) {
    const roles = new Set([...user.roles, ...(user.adminAgent ? ['AdminAgents' as const] : [])]);
    for (const role of roles) named(role).memberUpns.push(user.upn);
  }
  for (const g of spec.groups) {
    const group = named(g.displayName);
    for (const member of g.members) {
      const user = spec.users.find((u) => u.upn === member.toLowerCase());
      const nested = spec.groups.find((x) => x.displayName === member);
      if (user) group.memberUpns.push(user.upn);
      else if (nested || partnerRoles.includes(member as PartnerRole))
        group.memberGroupIds.push(named(member).id);
      else throw new Error(`group "${g.displayName}" of ${spec.domain}: unknown member ${member}`);
    }
  }
  return groups;
}

/** The scenario's appConsent: true, false, or scopes (bare Graph names get Graph's prefix). */
export function appConsentOf(spec: ExplicitCustomerSpec['appConsent']): AppConsent {
  if (spec === true) return 'all';
  if (spec === false) return false;
  return { scopes: parseScopes(spec.scopes.join(' ')) };
}

/** Relationships from the scenario's description; group names resolved to the partner's groups. */
function resolveRelationships(
  partnerTenantId: string,
  groups: PartnerGroup[],
  customerTenantId: string,
  specs: RelationshipSpec[],
  now: number,
): Relationship[] {
  const groupId = (name: string) => {
    const found = groups.find((g) => g.displayName === name);
    if (found) return found.id;
    if (name === allPartnerUsersGroup) return groupIdFor(partnerTenantId, name);
    throw new ScenarioError(
      `invalid scenario: customer ${customerTenantId}: GDAP access for unknown partner group "${name}"`,
    );
  };
  return specs.map((r, i) =>
    buildRelationship(customerTenantId, i, {
      id: r.id,
      displayName: r.displayName,
      status: r.status,
      endDateTime: endDateFrom(r.endDateTime, now),
      autoExtendDuration: r.autoExtendDuration,
      accessAssignments: r.accessAssignments.map((a) => ({
        groupId: groupId(a.group),
        roles: a.roles,
      })),
    }),
  );
}

function explicitCustomer(
  partner: PartnerSpec,
  groups: PartnerGroup[],
  spec: ExplicitCustomerSpec,
  now: () => number,
): Customer {
  let cached: CustomerDetail | undefined;
  const start = now();
  const gdap = spec.gdap
    ? resolveRelationships(partner.tenantId, groups, spec.tenantId, spec.gdap, start)
    : spec.delegatedAccess === false
      ? []
      : [delegatedAccessRelationship(partner.tenantId, spec.tenantId, start)];
  return withDelegatedAccessShorthand(
    {
      tenantId: spec.tenantId,
      name: spec.name,
      domain: spec.domain,
      gdap,
      appConsent: appConsentOf(spec.appConsent),
      relationshipToPartner: spec.relationshipToPartner,
      concealedNamesInReports: spec.concealedNamesInReports,
      partnerTenantId: partner.tenantId,
      guests: spec.guests,
      withoutGdapGroup: spec.withoutGdapGroup,
      blockedByConditionalAccess: spec.blockedByConditionalAccess,
      delegatedAdminBlocked: spec.delegatedAdminBlocked,
      detail: () => (cached ??= explicitDetail(spec)),
    },
    now,
  );
}

const defaultBillingCycle: Record<TermDuration, BillingCycle> = {
  P1M: 'monthly',
  P1Y: 'annual',
  P3Y: 'annual',
};

function explicitDetail(spec: ExplicitCustomerSpec): CustomerDetail {
  const everyone: DirectoryUser[] = spec.users.map((u) => ({
    id: stableGuid(spec.tenantId, u.upn),
    upn: u.upn,
    displayName: u.displayName ?? u.upn.split('@')[0]!,
    licenses: u.licenses.map((part) => skuByPartNumber(part).skuId),
    mailbox: u.mailbox,
    mailboxCreatedDaysAgo: u.mailboxCreatedDaysAgo,
    deletedDaysAgo: u.deletedDaysAgo,
  }));
  const users = everyone.filter((u) => u.deletedDaysAgo === undefined);
  const deletedUsers = everyone.filter((u) => u.deletedDaysAgo !== undefined);
  const groups: Group[] = spec.groups.map((g) => ({
    id: g.id ?? stableGuid(spec.tenantId, 'group', g.displayName),
    displayName: g.displayName,
    memberUserIds: [],
    memberGroupIds: [],
  }));
  spec.groups.forEach((g, i) => {
    for (const member of g.members) {
      const user = users.find((u) => u.upn === member.toLowerCase());
      const group = groups.find((x) => x.displayName === member);
      if (user) groups[i]!.memberUserIds.push(user.id);
      else if (group) groups[i]!.memberGroupIds.push(group.id);
      else throw new Error(`group "${g.displayName}" of ${spec.domain}: unknown member ${member}`);
    }
  });
  const subscriptions: Subscription[] = spec.subscriptions.map((s, i) => ({
    id: s.id ?? stableGuid(spec.tenantId, 'subscription', i),
    sku: skuByPartNumber(s.skuPartNumber),
    quantity: s.quantity,
    commerce: s.commerce,
    termDuration: s.termDuration,
    billingCycle: s.billingCycle ?? defaultBillingCycle[s.termDuration],
    status: s.status,
    autoRenewEnabled: s.autoRenewEnabled,
    isTrial: s.isTrial,
    creationDate: s.creationDate ?? '2024-01-01T00:00:00.000Z',
  }));
  return { subscriptions, users, deletedUsers, groups };
}

/** The scenario resolved into tenants, with lookups by tenant id, domain and UPN. */
export class Directory implements GroupLookup {
  readonly partners: Partner[];
  private readonly customersByTenant = new Map<string, Customer>();
  private readonly usersByUpn = new Map<string, PartnerUser>();
  private readonly details = new Map<string, CustomerDetail>();

  /** `now`: the emulator's clock (relationship ends are relative to it). Default: the real one */
  constructor(scenario: Scenario, now: () => number = Date.now) {
    this.partners = scenario.partners.map((spec) => {
      const groups = partnerGroups(spec);
      const generate = Array.isArray(spec.customers) ? undefined : spec.customers.generate;
      const customers = Array.isArray(spec.customers)
        ? spec.customers.map((c) => explicitCustomer(spec, groups, c, now))
        : Array.from({ length: generate!.count }, (_, i) =>
            generatedCustomer(spec, generate!, i, now),
          );
      const partner: Partner = {
        tenantId: spec.tenantId,
        name: spec.name,
        domain: spec.domain,
        rateLimits: spec.rateLimits,
        customers,
        groups,
        users: spec.users.map((u) => {
          const amr = u.amr ?? (u.mfa ? ['pwd', 'mfa'] : ['pwd']);
          return {
            upn: u.upn,
            oid: stableGuid('user', spec.tenantId, u.upn),
            displayName: u.displayName ?? u.upn.split('@')[0]!,
            mfa: amrHasMfa(amr),
            amr,
            grantedScopes: u.grantedScopes,
            partnerTenantId: spec.tenantId,
            revokedAt: undefined,
            policy: { ...u.policy },
          };
        }),
      };
      for (const c of customers) this.customersByTenant.set(c.tenantId, c);
      for (const u of partner.users) this.usersByUpn.set(u.upn, u);
      return partner;
    });
  }

  partner(tenantIdOrDomain: string): Partner | undefined {
    const key = tenantIdOrDomain.toLowerCase();
    return this.partners.find((p) => p.tenantId === key || p.domain === key);
  }

  customer(tenantIdOrDomain: string): Customer | undefined {
    const key = tenantIdOrDomain.toLowerCase();
    return (
      this.customersByTenant.get(key) ??
      [...this.customersByTenant.values()].find((c) => c.domain === key)
    );
  }

  user(upn: string): PartnerUser | undefined {
    return this.usersByUpn.get(upn.toLowerCase());
  }

  /** Tenants deleted through the control API: every token request for them fails. */
  readonly deletedTenants = new Set<string>();

  /** The partner groups a user is in, directly or through nested groups. */
  groupsOf(user: PartnerUser): PartnerGroup[] {
    const partner = this.partner(user.partnerTenantId);
    if (!partner) return [];
    const found = new Map<string, PartnerGroup>();
    const visit = (isMember: (g: PartnerGroup) => boolean) => {
      for (const group of partner.groups) {
        if (found.has(group.id) || !isMember(group)) continue;
        found.set(group.id, group);
        visit((g) => g.memberGroupIds.includes(group.id));
      }
    };
    visit((g) => g.memberUpns.includes(user.upn));
    return [...found.values()];
  }

  /**
   * Ids of the groups GDAP access assignments reach the user through: theirs, nesting
   * followed ("All partner users" included).
   */
  groupIdsOf(user: { partnerTenantId: string; upn: string }): Set<string> {
    const ids = new Set<string>();
    const full = this.user(user.upn);
    if (!full) return ids;
    for (const g of this.groupsOf(full)) ids.add(g.id);
    return ids;
  }

  /** Replaces a customer's relationships (control API); ends relative to `now`. */
  setGdap(customer: Customer, specs: RelationshipSpec[], now: number): void {
    const partner = this.partner(customer.partnerTenantId)!;
    customer.gdap = resolveRelationships(
      partner.tenantId,
      partner.groups,
      customer.tenantId,
      specs,
      now,
    );
  }

  /** Groups the user is a direct member of. */
  directGroupsOf(user: PartnerUser): PartnerGroup[] {
    const partner = this.partner(user.partnerTenantId);
    return partner ? partner.groups.filter((g) => g.memberUpns.includes(user.upn)) : [];
  }

  /** The user's Partner Center agent roles: the role groups they are in, nesting included. */
  rolesOf(user: PartnerUser): PartnerRole[] {
    const names = new Set(this.groupsOf(user).map((g) => g.displayName));
    return partnerRoles.filter((r) => names.has(r));
  }

  userByOid(oid: string): PartnerUser | undefined {
    for (const user of this.usersByUpn.values()) if (user.oid === oid) return user;
    return undefined;
  }

  /** A customer's contents, built once and kept (bounded, oldest dropped first). */
  detail(customer: Customer): CustomerDetail {
    let detail = this.details.get(customer.tenantId);
    if (!detail) {
      detail = customer.detail();
      if (this.details.size >= 5_000) this.details.delete(this.details.keys().next().value!);
      this.details.set(customer.tenantId, detail);
    }
    return detail;
  }
}
