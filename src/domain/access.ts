// GDAP access per customer: from the partner's delegated admin relationships with a customer,
// the roles the consenting account holds there through its groups, and the app's consent in
// the customer tenant, whether the partner can reach it, for what, until when, and the one
// thing to do when it cannot. Pure rules; the sentences are in `accessSentences`.

import type { CustomLicenseKind } from './custom-licenses.js';

/** Entra built-in roles GDAP grants that the product's reads depend on, by template id. */
export const gdapRoles = {
  'Global Administrator': '62e90394-69f5-4237-9190-012177145e10',
  'Global Reader': 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
  'Directory Readers': '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
  'License Administrator': '4d6ac14f-3453-41d0-bef9-a3e0c569773a',
  'User Administrator': 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  'Exchange Administrator': '29232cdf-9323-42fd-ade2-1d097af3e4de',
  'Reports Reader': '4a5d8f65-41da-4de4-8968-e035b65339cf',
} as const;
type GdapRole = keyof typeof gdapRoles;

/** A role's name from its template id; the id itself for roles the product does not use. */
function roleName(roleDefinitionId: string): string {
  const id = roleDefinitionId.toLowerCase();
  return Object.entries(gdapRoles).find(([, v]) => v === id)?.[0] ?? roleDefinitionId;
}

/**
 * What the product reads in a customer tenant, and the roles that allow it (any one; Global
 * Administrator allows all). The first role is the least privileged one to ask for.
 */
const featureRoles = {
  /** Partner Center subscribedskus (dap-api-impact, GetSubscribedSkus). */
  licenses: ['Directory Readers', 'Global Reader', 'User Administrator', 'License Administrator'],
  /** The mailbox usage report (reportroot-authorization). */
  mailboxes: ['Reports Reader', 'Global Reader', 'Exchange Administrator'],
  /** Graph users, groups and subscribed SKUs: custom licenses counted from the directory. */
  directory: ['Directory Readers', 'Global Reader', 'User Administrator'],
} satisfies Record<string, GdapRole[]>;
export type AccessFeature = keyof typeof featureRoles;
const accessFeatures = Object.keys(featureRoles) as AccessFeature[];

export type AccessState =
  'ok' | 'expiring' | 'expired' | 'no_relationship' | 'missing_role' | 'app_not_consented';
export const accessStates: [AccessState, ...AccessState[]] = [
  'ok',
  'expiring',
  'expired',
  'no_relationship',
  'missing_role',
  'app_not_consented',
];

/** The app's consent in the customer tenant, as its last customer-tenant sign-in showed it. */
export type AppConsentState = 'consented' | 'not_consented' | 'unknown';

/** One relationship as the access view shows it. */
export interface RelationshipAccess {
  id: string;
  displayName: string;
  status: string;
  endDateTime: string | null;
  autoExtendDuration: string;
  /** Role names the consenting account holds in it through its groups. */
  roles: string[];
  /** The consenting account's groups that the relationship's access assignments name. */
  groups: string[];
}

export interface FeatureAccess {
  ok: boolean;
  reason?: string;
}

export interface CustomerAccess {
  state: AccessState;
  features: Record<AccessFeature, FeatureAccess>;
  /** What to do, when the state is not ok. */
  reason?: string;
}

/** A relationship ending this soon without auto-extend is expiring. */
const expiringWithinDays = 30;
const dayMs = 86_400_000;

const isActive = (r: RelationshipAccess, now: Date) =>
  r.status === 'active' && (r.endDateTime === null || Date.parse(r.endDateTime) > now.getTime());
/** Whether a relationship auto-extends (any duration but none). */
export const autoExtends = (r: RelationshipAccess) =>
  r.autoExtendDuration !== 'PT0S' && r.autoExtendDuration !== 'P0D' && r.autoExtendDuration !== '';
const day = (iso: string | null) => (iso ? iso.slice(0, 10) : 'an unknown date');

/** Every sentence the access view says, each naming what to change and where. */
export const accessSentences = {
  noRelationship:
    'The partner has no GDAP relationship with this customer: ask the customer to approve a relationship that gives one of your security groups Directory Readers (licenses) and Reports Reader (mailboxes).',
  expired: (relationship: string, ended: string) =>
    `The GDAP relationship '${relationship}' ended on ${ended}: ask the customer to approve a new relationship, and turn on its auto-extend.`,
  expiring: (relationship: string, ends: string) =>
    `The GDAP relationship '${relationship}' ends on ${ends} and does not auto-extend: turn on auto-extend, or ask the customer to approve a new relationship before then.`,
  appNotConsented:
    "The app is not consented in this customer tenant: consent it through Partner Center (the access page's app consent), then refresh the customer.",
  missingRoleOfGroup: (group: string, role: string, relationship: string) =>
    `Give the group '${group}' ${role} in the relationship '${relationship}', or use a relationship that has it.`,
  missingRoleNoGroup: (role: string, relationship: string) =>
    `The consenting account is in no group of the relationship '${relationship}': add it to a group given ${role} there, or use a relationship that has it.`,
} as const;

/** What a missing role for `feature` asks of the partner, in the relationship that lasts longest. */
function missingRole(feature: AccessFeature, active: RelationshipAccess[]): string {
  const role = featureRoles[feature][0]!;
  const longest = [...active].sort(
    (a, b) => Date.parse(b.endDateTime ?? '9999') - Date.parse(a.endDateTime ?? '9999'),
  )[0]!;
  const group = longest.groups[0];
  return group
    ? accessSentences.missingRoleOfGroup(group, role, longest.displayName)
    : accessSentences.missingRoleNoGroup(role, longest.displayName);
}

/** What `blocked` access looks like: every feature refused for the one reason. */
function blocked(state: AccessState, reason: string): CustomerAccess {
  return {
    state,
    reason,
    features: Object.fromEntries(
      accessFeatures.map((f) => [f, { ok: false, reason }]),
    ) as CustomerAccess['features'],
  };
}

/** A customer whose relationships were never read, where the app met 90099 or 65001. */
export const appNotConsentedAccess = () =>
  blocked('app_not_consented', accessSentences.appNotConsented);

/** The features a partner's custom licenses use, besides licenses (always needed). */
export function featuresUsedBy(kinds: CustomLicenseKind[]): AccessFeature[] {
  const used = new Set<AccessFeature>();
  for (const kind of kinds) {
    if (kind === 'user_mailboxes' || kind === 'shared_mailboxes') used.add('mailboxes');
    else if (kind !== 'fixed') used.add('directory');
  }
  return [...used];
}

const allows = (roles: Set<string>, feature: AccessFeature) =>
  roles.has('Global Administrator') || featureRoles[feature].some((r) => roles.has(r));

/**
 * A customer's access. `needs` are the features the partner uses there (licenses always;
 * mailboxes and the directory when its custom licenses count them): a missing role for a
 * feature not needed shows in `features` without changing the state.
 */
export function customerAccess(input: {
  relationships: RelationshipAccess[];
  appConsent: AppConsentState;
  needs: AccessFeature[];
  now: Date;
}): CustomerAccess {
  const { relationships, now } = input;
  const active = relationships.filter((r) => isActive(r, now));
  if (active.length === 0) {
    const lapsed = relationships
      .filter((r) => r.status === 'expired' || r.status === 'active' || r.status === 'expiring')
      .sort((a, b) => Date.parse(b.endDateTime ?? '') - Date.parse(a.endDateTime ?? ''))[0];
    return lapsed
      ? blocked('expired', accessSentences.expired(lapsed.displayName, day(lapsed.endDateTime)))
      : blocked('no_relationship', accessSentences.noRelationship);
  }
  if (input.appConsent === 'not_consented')
    return blocked('app_not_consented', accessSentences.appNotConsented);

  const held = new Set(active.flatMap((r) => r.roles));
  const features = Object.fromEntries(
    accessFeatures.map((f) => [
      f,
      allows(held, f) ? { ok: true } : { ok: false, reason: missingRole(f, active) },
    ]),
  ) as CustomerAccess['features'];
  const needed = ['licenses' as const, ...input.needs.filter((f) => f !== 'licenses')];
  const missing = needed.find((f) => !features[f].ok);
  if (missing) return { state: 'missing_role', features, reason: features[missing].reason! };

  const ending = endingRelationship(active, now);
  if (ending)
    return {
      state: 'expiring',
      features,
      reason: accessSentences.expiring(ending.displayName, day(ending.endDateTime)),
    };
  return { state: 'ok', features };
}

/** The active relationship giving roles that ends first within 30 days without auto-extend. */
function endingRelationship(
  relationships: RelationshipAccess[],
  now: Date,
): RelationshipAccess | undefined {
  const soon = now.getTime() + expiringWithinDays * dayMs;
  return relationships
    .filter((r) => isActive(r, now) && r.roles.length > 0 && !autoExtends(r))
    .filter((r) => r.endDateTime !== null && Date.parse(r.endDateTime) <= soon)
    .sort((a, b) => Date.parse(a.endDateTime!) - Date.parse(b.endDateTime!))[0];
}

/**
 * The day a customer's access changes, for the words of its state: when the relationship of
 * an expiring customer ends, or when the last one of an expired customer ended.
 */
export function stateDate(
  state: AccessState,
  relationships: RelationshipAccess[],
  now: Date,
): string | null {
  if (state === 'expiring') return endingRelationship(relationships, now)?.endDateTime ?? null;
  if (state !== 'expired') return null;
  const ends = relationships
    .filter((r) => r.endDateTime !== null && r.status !== 'terminated')
    .map((r) => r.endDateTime!)
    .sort();
  return ends.at(-1) ?? null;
}

/**
 * Why auto-extend cannot be turned on for a relationship, by Microsoft's rules, before asking:
 * Microsoft-led transitions (MLT_) cannot be changed, Global Administrator never auto-extends,
 * and only an active relationship can. Undefined when it can (or already does).
 */
export function autoExtendBlock(
  r: RelationshipAccess,
): 'microsoft_led' | 'global_administrator' | 'not_active' | undefined {
  if (r.displayName.startsWith('MLT_')) return 'microsoft_led';
  if (r.roles.includes('Global Administrator')) return 'global_administrator';
  if (r.status !== 'active') return 'not_active';
  return undefined;
}

/** What the partner can filter its customers' access by: a state, or a problem across states. */
export const accessProblems = [
  'attention',
  ...accessStates,
  'expiring_7_days',
  'no_auto_extend',
] as const;
export type AccessProblem = (typeof accessProblems)[number];

/** Whether a customer's access shows `problem`. */
export function hasProblem(
  problem: AccessProblem,
  row: { state: AccessState; relationships: RelationshipAccess[] },
  now: Date,
): boolean {
  if (problem === 'attention') return row.state !== 'ok';
  if (problem === 'expiring_7_days') {
    const ends = row.state === 'expiring' ? stateDate('expiring', row.relationships, now) : null;
    return ends !== null && Date.parse(ends) <= now.getTime() + 7 * dayMs;
  }
  if (problem === 'no_auto_extend')
    return row.relationships.some(
      (r) => isActive(r, now) && !autoExtends(r) && autoExtendBlock(r) !== undefined,
    );
  return row.state === problem;
}

/** How many customers show each problem. */
export function accessSummary(
  rows: { state: AccessState; relationships: RelationshipAccess[] }[],
  now: Date,
): Record<AccessProblem, number> {
  return Object.fromEntries(
    accessProblems.map((p) => [p, rows.filter((row) => hasProblem(p, row, now)).length]),
  ) as Record<AccessProblem, number>;
}

/**
 * The consenting account's roles in one relationship: those of its access assignments whose
 * security group is one of the account's groups (nesting included, as Graph lists them).
 */
export function rolesThroughGroups(
  assignments: { groupId: string; roleDefinitionIds: string[] }[],
  groupNames: ReadonlyMap<string, string>,
): { roles: string[]; groups: string[] } {
  const mine = assignments.filter((a) => groupNames.has(a.groupId.toLowerCase()));
  return {
    roles: [...new Set(mine.flatMap((a) => a.roleDefinitionIds.map(roleName)))].sort(),
    groups: [...new Set(mine.map((a) => groupNames.get(a.groupId.toLowerCase())!))],
  };
}
