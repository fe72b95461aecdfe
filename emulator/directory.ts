import { createHash } from 'node:crypto';
import {
  partnerRoles,
  type ExplicitCustomerSpec,
  type PartnerRole,
  type PartnerSpec,
  type Scenario,
  type UserPolicy,
} from './scenario.js';
import { commonSkus, skuByPartNumber, type SkuInfo } from './skus.js';

/** A deterministic GUID from any text (same scenario → same ids, run after run). */
export function stableGuid(...parts: (string | number)[]): string {
  const h = createHash('sha256').update(parts.join('|')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** mulberry32: a small seeded PRNG, enough for varied but repeatable test data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PartnerUser {
  upn: string;
  oid: string;
  displayName: string;
  /** Whether the user's sign-in satisfies MFA (amr holds mfa or ngcmfa). */
  mfa: boolean;
  /** The methods of the user's sign-in, as the amr claim lists them. */
  amr: string[];
  grantedScopes: string[] | undefined;
  partnerTenantId: string;
  /** Tokens from sign-ins before this instant are refused with 50173. */
  revokedAt: number | undefined;
  /** Conditional Access on the user's sign-ins (changed by the control API). */
  policy: UserPolicy;
}

/** A security group of a partner tenant; members are users (by UPN) and groups. */
export interface PartnerGroup {
  id: string;
  displayName: string;
  memberUpns: string[];
  memberGroupIds: string[];
}

/** amr values that prove MFA: mfa, and ngcmfa ("equivalent to mfa"). */
export function amrHasMfa(amr: readonly string[]): boolean {
  return amr.includes('mfa') || amr.includes('ngcmfa');
}

export interface Partner {
  tenantId: string;
  name: string;
  domain: string;
  users: PartnerUser[];
  /** Its security groups, the AdminAgents, SalesAgents and HelpdeskAgents groups included. */
  groups: PartnerGroup[];
  rateLimits: { partnerCenterRps: number; customerApiPerMinute: number };
  customers: Customer[];
}

export interface Customer {
  tenantId: string;
  name: string;
  domain: string;
  delegatedAccess: boolean;
  appConsent: boolean;
  relationshipToPartner: 'reseller' | 'advisor';
  /** Usage reports show hashes instead of user names. */
  concealedNamesInReports: boolean;
  partnerTenantId: string;
  /** Partner users who are guests here (50020), or in no GDAP group for it (50177). */
  guests: string[];
  withoutGdapGroup: string[];
  /** Conditional Access blocks the partner's users (53003); risky delegated admins (530034). */
  blockedByConditionalAccess: boolean;
  delegatedAdminBlocked: boolean;
  /** Builds the tenant's contents (subscriptions, users, groups) on demand. */
  detail: () => CustomerDetail;
}

export type SubscriptionStatus =
  'active' | 'suspended' | 'disabled' | 'expired' | 'deleted' | 'pending';
export type TermDuration = 'P1M' | 'P1Y' | 'P3Y';
export type BillingCycle = 'monthly' | 'annual' | 'triennial';

export interface Subscription {
  id: string;
  sku: SkuInfo;
  quantity: number;
  /** New commerce (offer id product:sku:availability) or a legacy license-based offer (GUID). */
  commerce: 'nce' | 'legacy';
  termDuration: TermDuration;
  billingCycle: BillingCycle;
  status: SubscriptionStatus;
  autoRenewEnabled: boolean;
  isTrial: boolean;
  creationDate: string;
}

export interface DirectoryUser {
  id: string;
  upn: string;
  displayName: string;
  /** skuIds */
  licenses: string[];
  mailbox: MailboxKind;
  /** Days before the emulator's clock the mailbox was created. */
  mailboxCreatedDaysAgo: number;
  /** Days before the emulator's clock the user was deleted; undefined while it exists. */
  deletedDaysAgo?: number | undefined;
}

export type MailboxKind = 'user' | 'shared' | 'room' | 'equipment' | 'none';

export interface Group {
  id: string;
  displayName: string;
  memberUserIds: string[];
  memberGroupIds: string[];
}

export interface CustomerDetail {
  subscriptions: Subscription[];
  users: DirectoryUser[];
  /** Deleted users: absent from /users, still in the usage reports of their last days. */
  deletedUsers: DirectoryUser[];
  groups: Group[];
}

/** A licensing product as subscribedskus reports it for one customer. */
export interface SubscribedSku {
  sku: SkuInfo;
  activeUnits: number;
  suspendedUnits: number;
  warningUnits: number;
  consumedUnits: number;
}

/**
 * Units per SKU: purchased from the subscriptions, consumed by the users' assignments. Active
 * subscriptions give active units; expired ones are in their grace period (warning units);
 * suspended and disabled ones give suspended units; deleted and pending ones give none.
 */
export function subscribedSkus(detail: CustomerDetail): SubscribedSku[] {
  const bySku = new Map<string, SubscribedSku>();
  for (const s of detail.subscriptions) {
    if (s.status === 'deleted' || s.status === 'pending') continue;
    const entry = bySku.get(s.sku.skuId) ?? {
      sku: s.sku,
      activeUnits: 0,
      suspendedUnits: 0,
      warningUnits: 0,
      consumedUnits: 0,
    };
    if (s.status === 'active') entry.activeUnits += s.quantity;
    else if (s.status === 'expired') entry.warningUnits += s.quantity;
    else entry.suspendedUnits += s.quantity;
    bySku.set(s.sku.skuId, entry);
  }
  for (const user of detail.users) {
    for (const skuId of user.licenses) {
      const entry = bySku.get(skuId);
      if (entry) entry.consumedUnits += 1;
    }
  }
  return [...bySku.values()];
}

/** A generated mailbox's age: 30 to 929 days, from its id (no draw from the tenant's PRNG). */
const createdDaysAgo = (id: string) => 30 + (parseInt(id.slice(0, 6), 16) % 900);

/** Users in a group, following nested groups (Graph's transitiveMembers). */
export function transitiveUserIds(detail: CustomerDetail, groupId: string): Set<string> {
  const users = new Set<string>();
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    const group = detail.groups.find((g) => g.id === id);
    if (!group) return;
    for (const u of group.memberUserIds) users.add(u);
    for (const g of group.memberGroupIds) visit(g);
  };
  visit(groupId);
  return users;
}

const firstWords = [
  'Contoso',
  'Fabrikam',
  'Northwind',
  'Tailspin',
  'Woodgrove',
  'Adatum',
  'Litware',
  'Proseware',
  'Wingtip',
  'Alpine',
  'Coho',
  'Lucerne',
  'Margie',
  'Trey',
  'Humongous',
  'Relecloud',
  'VanArsdel',
  'Fourth Coffee',
  'Blue Yonder',
  'Wide World',
];
const secondWords = [
  'Traders',
  'Insurance',
  'Logistics',
  'Bank',
  'Ski House',
  'Winery',
  'Publishing',
  'Airlines',
  'Toys',
  'Labs',
  'Health',
  'Legal',
  'Design',
  'Foods',
  'Energy',
];
const givenNames = [
  'Ana',
  'Ben',
  'Chen',
  'Dara',
  'Eli',
  'Fatima',
  'Gus',
  'Hana',
  'Ivan',
  'Jo',
  'Kofi',
  'Lena',
  'Mo',
  'Nia',
  'Omar',
  'Pia',
  'Quinn',
  'Ravi',
  'Sara',
  'Tom',
];

function generatedCustomer(
  partner: PartnerSpec,
  seed: number,
  index: number,
  without: number,
): Customer {
  const rng = prng(seed * 1_000_003 + index);
  const first = firstWords[Math.floor(rng() * firstWords.length)]!;
  const second = secondWords[Math.floor(rng() * secondWords.length)]!;
  const slug = `${first}${second}`.toLowerCase().replace(/[^a-z]/g, '');
  const tenantId = stableGuid('customer', partner.tenantId, seed, index);
  const delegatedAccess = rng() >= without;
  return {
    tenantId,
    name: `${first} ${second} ${index + 1}`,
    domain: `${slug}${index + 1}.onmicrosoft.com`,
    delegatedAccess,
    appConsent: true,
    relationshipToPartner: 'reseller',
    concealedNamesInReports: true,
    partnerTenantId: partner.tenantId,
    guests: [],
    withoutGdapGroup: [],
    blockedByConditionalAccess: false,
    delegatedAdminBlocked: false,
    detail: () =>
      generateDetail(tenantId, `${slug}${index + 1}.onmicrosoft.com`, seed * 7919 + index),
  };
}

/**
 * A small business tenant: one to four SKUs (the main one sometimes on both monthly and
 * yearly terms), licensed users, a few unlicensed shared mailboxes, and nested groups.
 */
function generateDetail(tenantId: string, domain: string, seed: number): CustomerDetail {
  const rng = prng(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(rng() * items.length)]!;
  const userCount = 3 + Math.floor(rng() * 38);
  const users: DirectoryUser[] = [];
  for (let i = 0; i < userCount; i++) {
    const name = `${pick(givenNames)} ${String.fromCharCode(65 + Math.floor(rng() * 26))}.`;
    const upn = `user${i + 1}@${domain}`;
    const id = stableGuid(tenantId, upn);
    users.push({
      id,
      upn,
      displayName: name,
      licenses: [],
      mailbox: 'none',
      mailboxCreatedDaysAgo: createdDaysAgo(id),
    });
  }
  const skuCount = 1 + Math.floor(rng() * 4);
  const chosen = new Set<string>();
  while (chosen.size < skuCount) chosen.add(pick(commonSkus));
  const subscriptions: Subscription[] = [];
  let subIndex = 0;
  const created = new Date(Date.UTC(2024, Math.floor(rng() * 12), 1 + Math.floor(rng() * 28)));
  // Terms, commerce and the statuses that are not billed come from their own sequence, so the
  // users, groups and quantities stay those of the main one.
  const terms = prng(seed ^ 0x5eed);
  [...chosen].forEach((part, skuIndex) => {
    const sku = skuByPartNumber(part);
    const assigned = skuIndex === 0 ? userCount : Math.floor(rng() * (userCount + 1));
    const bought = assigned + Math.floor(rng() * 4);
    const splitTerms = skuIndex === 0 && rng() < 0.4 && bought > 1;
    const yearly = splitTerms ? Math.ceil(bought / 2) : 0;
    const newSub = (
      quantity: number,
      termDuration: TermDuration,
      status: SubscriptionStatus,
      commerce: Subscription['commerce'] = 'nce',
    ) =>
      subscriptions.push({
        id: stableGuid(tenantId, 'subscription', subIndex++),
        sku,
        quantity,
        commerce,
        termDuration,
        billingCycle:
          termDuration === 'P1M'
            ? 'monthly'
            : termDuration === 'P1Y'
              ? terms() < 0.5
                ? 'annual'
                : 'monthly'
              : terms() < 0.5
                ? 'triennial'
                : 'annual',
        status,
        autoRenewEnabled: terms() < 0.85,
        isTrial: false,
        creationDate: new Date(
          created.getTime() + Math.floor(terms() * 60) * 86_400_000,
        ).toISOString(),
      });
    if (yearly > 0) {
      // Sometimes part of the yearly seats is on a three-year term: P1M + P1Y + P3Y of one SKU.
      const triennial = yearly > 1 && terms() < 0.35 ? Math.floor(yearly / 2) : 0;
      newSub(yearly - triennial, 'P1Y', 'active');
      if (triennial > 0) newSub(triennial, 'P3Y', 'active');
    }
    const term = splitTerms || rng() < 0.7 ? 'P1M' : terms() < 0.3 ? 'P3Y' : 'P1Y';
    // A few customers still hold legacy license-based subscriptions (monthly or yearly terms).
    const commerce = term !== 'P3Y' && terms() < 0.12 ? 'legacy' : 'nce';
    newSub(bought - yearly, term, 'active', commerce);
    if (rng() < 0.1) {
      const lapsed: SubscriptionStatus[] = ['suspended', 'disabled', 'expired'];
      newSub(1 + Math.floor(rng() * 3), 'P1M', lapsed[Math.floor(terms() * lapsed.length)]!);
    }
    const other = terms();
    if (other < 0.06) newSub(1 + Math.floor(terms() * 5), 'P1Y', 'deleted');
    else if (other < 0.1) newSub(1 + Math.floor(terms() * 5), 'P1M', 'pending');
    for (let u = 0; u < assigned; u++) {
      users[u]!.licenses.push(sku.skuId);
      if (sku.includesExchangeMailbox) users[u]!.mailbox = 'user';
    }
  });
  const sharedCount = Math.floor(rng() * 4);
  for (let i = 0; i < sharedCount; i++) {
    const upn = `shared${i + 1}@${domain}`;
    const id = stableGuid(tenantId, upn);
    users.push({
      id,
      upn,
      displayName: `Shared ${i + 1}`,
      licenses: [],
      mailbox: 'shared',
      mailboxCreatedDaysAgo: createdDaysAgo(id),
    });
  }
  const people = users.filter((u) => u.mailbox !== 'shared');
  const support: Group = {
    id: stableGuid(tenantId, 'group', 'Support Team'),
    displayName: 'Support Team',
    memberUserIds: people.filter((_, i) => i % 3 === 0).map((u) => u.id),
    memberGroupIds: [],
  };
  const managed: Group = {
    id: stableGuid(tenantId, 'group', 'Managed Users'),
    displayName: 'Managed Users',
    memberUserIds: people.filter((_, i) => i % 2 === 1).map((u) => u.id),
    memberGroupIds: [support.id],
  };
  const all: Group = {
    id: stableGuid(tenantId, 'group', 'All Staff'),
    displayName: 'All Staff',
    memberUserIds: people.map((u) => u.id),
    memberGroupIds: [],
  };
  return { subscriptions, users, deletedUsers: [], groups: [all, managed, support] };
}

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

function explicitCustomer(partner: PartnerSpec, spec: ExplicitCustomerSpec): Customer {
  let cached: CustomerDetail | undefined;
  return {
    tenantId: spec.tenantId,
    name: spec.name,
    domain: spec.domain,
    delegatedAccess: spec.delegatedAccess,
    appConsent: spec.appConsent,
    relationshipToPartner: spec.relationshipToPartner,
    concealedNamesInReports: spec.concealedNamesInReports,
    partnerTenantId: partner.tenantId,
    guests: spec.guests,
    withoutGdapGroup: spec.withoutGdapGroup,
    blockedByConditionalAccess: spec.blockedByConditionalAccess,
    delegatedAdminBlocked: spec.delegatedAdminBlocked,
    detail: () => (cached ??= explicitDetail(spec)),
  };
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
export class Directory {
  readonly partners: Partner[];
  private readonly customersByTenant = new Map<string, Customer>();
  private readonly usersByUpn = new Map<string, PartnerUser>();
  private readonly details = new Map<string, CustomerDetail>();

  constructor(scenario: Scenario) {
    this.partners = scenario.partners.map((spec) => {
      const customers = Array.isArray(spec.customers)
        ? spec.customers.map((c) => explicitCustomer(spec, c))
        : Array.from({ length: spec.customers.generate.count }, (_, i) =>
            generatedCustomer(
              spec,
              (spec.customers as { generate: { seed: number } }).generate.seed,
              i,
              (spec.customers as { generate: { withoutDelegatedAccess: number } }).generate
                .withoutDelegatedAccess,
            ),
          );
      const partner: Partner = {
        tenantId: spec.tenantId,
        name: spec.name,
        domain: spec.domain,
        rateLimits: spec.rateLimits,
        customers,
        groups: partnerGroups(spec),
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
