import { stableGuid } from './ids.js';

// GDAP: the partner's delegated admin relationships with each customer, the roles they grant
// the partner's security groups there, and the app's consent in each customer tenant.

/**
 * Microsoft Entra built-in roles by name, with their template ids (roleDefinitionId), as
 * MicrosoftDocs/entra-docs identity/role-based-access-control/permissions-reference.md lists them.
 */
export const directoryRoles = {
  'Global Administrator': '62e90394-69f5-4237-9190-012177145e10',
  'Global Reader': 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
  'Directory Readers': '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
  'License Administrator': '4d6ac14f-3453-41d0-bef9-a3e0c569773a',
  'User Administrator': 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  'Exchange Administrator': '29232cdf-9323-42fd-ade2-1d097af3e4de',
  'Reports Reader': '4a5d8f65-41da-4de4-8968-e035b65339cf',
} as const;
export type DirectoryRole = keyof typeof directoryRoles;
export const directoryRoleNames = Object.keys(directoryRoles) as [
  DirectoryRole,
  ...DirectoryRole[],
];

/** delegatedAdminRelationshipStatus (resources/delegatedadminrelationship.md). */
export const relationshipStatuses = [
  'created',
  'approvalPending',
  'approved',
  'activating',
  'active',
  'expiring',
  'expired',
  'terminationRequested',
  'terminating',
  'terminated',
] as const;
export type RelationshipStatus = (typeof relationshipStatuses)[number];

/** What each kind of read needs in the customer tenant (any one role; Global Administrator too). */
const rolesFor = {
  /** Partner Center subscribedskus: dap-api-impact, GetSubscribedSkus. */
  licenses: ['Directory Readers', 'Global Reader', 'User Administrator', 'License Administrator'],
  /** Usage reports: concepts/reportroot-authorization.md. */
  reports: ['Reports Reader', 'Global Reader', 'Exchange Administrator'],
  /** Graph users, groups, subscribedSkus, role assignments: a role that reads the directory. */
  directory: ['Directory Readers', 'Global Reader', 'User Administrator'],
} satisfies Record<string, DirectoryRole[]>;
export type RoleNeed = keyof typeof rolesFor;

interface AccessAssignment {
  id: string;
  /** The partner security group (its id in the partner tenant). */
  groupId: string;
  roles: DirectoryRole[];
  createdDateTime: string;
}

export interface Relationship {
  id: string;
  displayName: string;
  /** As set; an `active` one past its end reads as `expired` (effectiveStatus). */
  status: RelationshipStatus;
  /** Epoch ms. */
  endDateTime: number;
  autoExtendDuration: 'PT0S' | 'P180D';
  createdDateTime: string;
  activatedDateTime: string;
  lastModifiedDateTime: string;
  /** Bumped by each change: the etag follows it. */
  version: number;
  accessAssignments: AccessAssignment[];
}

/**
 * The app's consent in a customer tenant: none (AADSTS90099 there), every scope the app asks
 * for, or only these (full scope URIs; anything else AADSTS65001).
 */
export type AppConsent = false | 'all' | { scopes: string[] };

const dayMs = 86_400_000;
const extendMs = 180 * dayMs;

/** The implicit group of every partner user, which `delegatedAccess: true` assigns. */
export const allPartnerUsersGroup = 'All partner users';

export const groupIdFor = (partnerTenantId: string, displayName: string) =>
  stableGuid(partnerTenantId, 'group', displayName);

export const holdsGlobalAdministrator = (r: Relationship) =>
  r.accessAssignments.some((a) => a.roles.includes('Global Administrator'));

/** Microsoft-led transition relationships (MLT_…) are read-only. */
export const isMicrosoftLed = (r: Relationship) => r.displayName.startsWith('MLT_');

/**
 * The end date as it stands at `now`: an auto-extending relationship (P180D, never one holding
 * Global Administrator) has moved on by 180 days each time it reached its end.
 */
export function currentEnd(r: Relationship, now: number): number {
  if (r.status !== 'active' || r.autoExtendDuration !== 'P180D' || holdsGlobalAdministrator(r))
    return r.endDateTime;
  let end = r.endDateTime;
  while (end <= now) end += extendMs;
  return end;
}

/** The status at `now`: an active relationship past its end has expired. */
export function effectiveStatus(r: Relationship, now: number): RelationshipStatus {
  if (r.status === 'active' && currentEnd(r, now) <= now) return 'expired';
  return r.status;
}

/** Roles of a relationship: the union of its assignments' (accessDetails.unifiedRoles). */
export function relationshipRoles(r: Relationship): DirectoryRole[] {
  return directoryRoleNames.filter((role) =>
    r.accessAssignments.some((a) => a.roles.includes(role)),
  );
}

/** A weak etag in Graph's shape (W/"base64 of a quoted version"), new with each change. */
export function etagOf(id: string, version: number): string {
  const inner = `"${stableGuid(id, 'etag', version)}"`;
  return `W/"${Buffer.from(`'${inner}'`).toString('base64')}"`;
}

export interface RelationshipInput {
  id?: string | undefined;
  displayName: string;
  status: RelationshipStatus;
  /** Epoch ms. */
  endDateTime: number;
  autoExtendDuration?: 'PT0S' | 'P180D' | undefined;
  accessAssignments: { groupId: string; roles: DirectoryRole[] }[];
}

/** A relationship from its description; ids stable from the customer and its position. */
export function buildRelationship(
  customerTenantId: string,
  index: number,
  input: RelationshipInput,
): Relationship {
  const created = new Date(input.endDateTime - 730 * dayMs).toISOString();
  const id = input.id ?? `${stableGuid('gdap', customerTenantId, index)}-${customerTenantId}`;
  return {
    id,
    displayName: input.displayName,
    status: input.status,
    endDateTime: input.endDateTime,
    autoExtendDuration: input.autoExtendDuration ?? 'PT0S',
    createdDateTime: created,
    activatedDateTime: created,
    lastModifiedDateTime: created,
    version: 1,
    accessAssignments: input.accessAssignments.map((a, i) => ({
      id: stableGuid(id, 'assignment', i),
      groupId: a.groupId,
      roles: [...a.roles],
      createdDateTime: created,
    })),
  };
}

/** `delegatedAccess: true`: one active relationship, Global Reader for every partner user. */
export function delegatedAccessRelationship(
  partnerTenantId: string,
  customerTenantId: string,
  now: number,
): Relationship {
  return buildRelationship(customerTenantId, 0, {
    displayName: 'Default admin relationship',
    status: 'active',
    endDateTime: now + 365 * dayMs,
    autoExtendDuration: 'P180D',
    accessAssignments: [
      {
        groupId: groupIdFor(partnerTenantId, allPartnerUsersGroup),
        roles: ['Global Reader'],
      },
    ],
  });
}

/** The parts of a partner user and a customer the GDAP rules read. */
interface GdapUser {
  upn: string;
  partnerTenantId: string;
}
interface GdapCustomer {
  partnerTenantId: string;
  gdap: Relationship[];
}

/** Membership of partner groups, nesting followed (the directory's view of the user). */
export interface GroupLookup {
  groupIdsOf(user: GdapUser): Set<string>;
}

/** The assignments that reach the user through active relationships with the customer. */
function reachingAssignments(
  groups: GroupLookup,
  user: GdapUser,
  customer: GdapCustomer,
  now: number,
): AccessAssignment[] {
  if (user.partnerTenantId !== customer.partnerTenantId) return [];
  const mine = groups.groupIdsOf(user);
  return customer.gdap
    .filter((r) => effectiveStatus(r, now) === 'active')
    .flatMap((r) => r.accessAssignments.filter((a) => mine.has(a.groupId)));
}

/** The user's roles in the customer tenant through its groups in active relationships. */
export function gdapRolesOf(
  groups: GroupLookup,
  user: GdapUser,
  customer: GdapCustomer,
  now: number,
): Set<DirectoryRole> {
  return new Set(reachingAssignments(groups, user, customer, now).flatMap((a) => a.roles));
}

/**
 * Why the user cannot sign in to the customer tenant through GDAP, or undefined when a group of
 * theirs is in an active relationship: no active relationship at all, or none with their groups.
 */
export function gdapSignInGap(
  groups: GroupLookup,
  user: GdapUser,
  customer: GdapCustomer,
  now: number,
): 'no-active-relationship' | 'not-in-assigned-group' | undefined {
  if (!customer.gdap.some((r) => effectiveStatus(r, now) === 'active'))
    return 'no-active-relationship';
  const reaching = reachingAssignments(groups, user, customer, now);
  return reaching.length > 0 ? undefined : 'not-in-assigned-group';
}

/** Whether the user's roles there allow this kind of read (Global Administrator allows all). */
export function gdapAllows(roles: Set<DirectoryRole>, need: RoleNeed): boolean {
  return roles.has('Global Administrator') || rolesFor[need].some((r) => roles.has(r));
}

/** Whether the app's consent in the tenant covers a full scope URI. */
export function consentCovers(consent: AppConsent, scope: string): boolean {
  if (consent === false) return false;
  if (consent === 'all') return true;
  return consent.scopes.includes(scope);
}

/**
 * Gives a customer its `delegatedAccess` shorthand over `gdap`: reading it says whether a
 * relationship is active; setting it replaces the relationships (true: the default one).
 */
export function withDelegatedAccessShorthand<T extends GdapCustomer & { tenantId: string }>(
  customer: T,
  now: () => number,
): T & { delegatedAccess: boolean } {
  return Object.defineProperty(customer, 'delegatedAccess', {
    enumerable: true,
    get: () => customer.gdap.some((r) => effectiveStatus(r, now()) === 'active'),
    set: (on: boolean) => {
      customer.gdap = on
        ? [delegatedAccessRelationship(customer.partnerTenantId, customer.tenantId, now())]
        : [];
    },
  }) as T & { delegatedAccess: boolean };
}

/** An end date from the scenario: ISO 8601, or days from `now` ("+P20D", "-P10D"). */
export function endDateFrom(value: string, now: number): number {
  const days = /^([+-])P(\d+)D$/.exec(value);
  if (!days) return Date.parse(value);
  return now + (days[1] === '-' ? -1 : 1) * Number(days[2]) * dayMs;
}
