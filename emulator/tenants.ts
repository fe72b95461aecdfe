import type { AppConsent, Relationship } from './gdap.js';
import type { UserPolicy } from './scenario.js';
import type { SkuInfo } from './skus.js';

export { stableGuid } from './ids.js';

// The emulator's tenants: partners with their users and groups, customers with their
// subscriptions, users and groups, and the rules read off them.

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
  /**
   * Shorthand over `gdap`: reads whether any relationship is active; set true, one active
   * relationship granting Global Reader to every partner user; set false, none.
   */
  delegatedAccess: boolean;
  /** Delegated admin relationships with the partner, in any status. */
  gdap: Relationship[];
  /** The app's consent in this tenant. */
  appConsent: AppConsent;
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

type MailboxKind = 'user' | 'shared' | 'room' | 'equipment' | 'none';

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
