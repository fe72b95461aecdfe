import { z } from 'zod';
import { singleLineText } from './text.js';

// Custom licenses: billing items counted in each customer tenant through Microsoft Graph with
// the partner's custom-license token. Pure rules: what a definition is, which permissions its
// count needs, and what state the token is in.

/** Graph delegated permissions custom-license counting can use, by short name. */
export const customLicensePermissions = [
  'User.Read.All',
  'GroupMember.Read.All',
  'Organization.Read.All',
  'Reports.Read.All',
] as const;
export type CustomLicensePermission = (typeof customLicensePermissions)[number];

const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'expected a DNS domain such as contoso.com');

const wholeQuantity = 'expected a whole number, 0 or more, such as 3';

/** The kinds and their parameters; `kind` picks the count. */
export const customLicenseKindSchema = z.discriminatedUnion('kind', [
  /** Users with at least one license; optionally only UPNs in the given domains. */
  z.object({
    kind: z.literal('licensed_users'),
    domains: z.array(domainName).min(1).max(50).optional(),
  }),
  /** Users in a group, nested groups included; the group by display name or object id. */
  z.object({ kind: z.literal('group_members'), group: singleLineText({ min: 1, max: 256 }) }),
  /** User mailboxes, from the mailbox usage report (recipient type User), as of its date. */
  z.object({ kind: z.literal('user_mailboxes') }),
  /** Shared mailboxes, from the same report (recipient type Shared). */
  z.object({ kind: z.literal('shared_mailboxes') }),
  /** The quantity of a Microsoft license: purchased (enabled) or assigned (consumed) units. */
  z.object({
    kind: z.literal('sku_quantity'),
    skuPartNumber: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_+.-]{1,100}$/, 'expected a SKU part number such as SPE_E3'),
    measure: z.enum(['purchased', 'assigned']).default('purchased'),
  }),
  /** The same quantity for every company it applies to. */
  z.object({
    kind: z.literal('fixed'),
    quantity: z
      .number({ error: wholeQuantity })
      .int(wholeQuantity)
      .min(0, wholeQuantity)
      .max(10_000_000, 'expected at most 10000000'),
  }),
]);
export type CustomLicenseSpec = z.infer<typeof customLicenseKindSchema>;
export type CustomLicenseKind = CustomLicenseSpec['kind'];

/** The Graph permissions each kind's count needs. */
const permissionsFor: Record<CustomLicenseKind, CustomLicensePermission[]> = {
  licensed_users: ['User.Read.All'],
  group_members: ['GroupMember.Read.All'],
  user_mailboxes: ['Reports.Read.All'],
  shared_mailboxes: ['Reports.Read.All'],
  sku_quantity: ['Organization.Read.All'],
  fixed: [],
};

/** Directory.Read.All reads users, groups and the organization alike; not usage reports. */
const directoryReadCovers = new Set<CustomLicensePermission>([
  'User.Read.All',
  'GroupMember.Read.All',
  'Organization.Read.All',
]);

/** Permissions the definitions need that `granted` lacks (granted: short names, as in `scp`). */
export function missingPermissions(
  kinds: CustomLicenseKind[],
  granted: string[],
): CustomLicensePermission[] {
  const have = new Set(granted.map((g) => g.toLowerCase()));
  const needed = new Set(kinds.flatMap((k) => permissionsFor[k]));
  const directory = have.has('directory.read.all');
  return [...needed].filter(
    (p) => !have.has(p.toLowerCase()) && !(directory && directoryReadCovers.has(p)),
  );
}

/** Users whose UPN is in one of the domains (subdomains excluded, as in billing). */
export function inDomains(upn: string, domains: string[]): boolean {
  const at = upn.lastIndexOf('@');
  return at > 0 && domains.includes(upn.slice(at + 1).toLowerCase());
}

/** Refresh tokens lapse after 90 days without use; we warn this long before. */
const inactivityLimitDays = 90;
const expiryWarningDays = 14;
const dayMs = 24 * 3600 * 1000;

/** When a refresh token last redeemed at `lastUsedAt` stops working: 90 days without use. */
export const tokenExpiresAt = (lastUsedAt: Date) =>
  new Date(lastUsedAt.getTime() + inactivityLimitDays * dayMs);

/** A token not valid, or about to stop being: why, and what the partner should do. */
interface FlaggedTokenState<Status extends string> {
  status: Status;
  reason: string;
  nextAction: string;
}
type CountingTokenState =
  { status: 'valid'; reason: null; nextAction: null } | FlaggedTokenState<'expiring'>;

export type CustomLicenseTokenState = CountingTokenState | FlaggedTokenState<'missing' | 'invalid'>;

const generate = 'Generate the custom-license token with an account that uses MFA.';

/** The token's state from its last validation and last use. */
export function customLicenseTokenState(
  token:
    | {
        status: string;
        validation: 'valid' | 'invalid' | null;
        validationReason: string | null;
        lastUsedAt: Date | null;
      }
    | undefined,
  now: Date,
): CustomLicenseTokenState {
  if (!token) {
    return {
      status: 'missing',
      reason: 'No custom-license token has been generated: custom licenses will fail to update.',
      nextAction: generate,
    };
  }
  if (token.validation === null && token.status === 'active') {
    return {
      status: 'invalid',
      reason: 'The custom-license token has not been validated yet; its validation is queued.',
      nextAction: 'Wait for the validation, or validate the token now.',
    };
  }
  if (token.validation !== 'valid' || token.status !== 'active') {
    const reason = token.validationReason ?? 'The custom-license token is not usable.';
    return { status: 'invalid', reason, nextAction: generate };
  }
  if (token.lastUsedAt) {
    const expiresAt = tokenExpiresAt(token.lastUsedAt);
    if (expiresAt <= now) {
      return {
        status: 'invalid',
        reason: `The custom-license token expired on ${expiresAt.toISOString().slice(0, 10)} after 90 days without use.`,
        nextAction: generate,
      };
    }
    if (expiresAt.getTime() - now.getTime() <= expiryWarningDays * dayMs) {
      return {
        status: 'expiring',
        reason: `The custom-license token has not been used since ${token.lastUsedAt.toISOString().slice(0, 10)} and expires on ${expiresAt.toISOString().slice(0, 10)} (90 days without use).`,
        nextAction: 'Validate the token now: using it keeps it alive.',
      };
    }
  }
  return { status: 'valid', reason: null, nextAction: null };
}

/** Whether a token in this state can count (an expiring token still works). */
export const canCount = (state: CustomLicenseTokenState): state is CountingTokenState =>
  state.status === 'valid' || state.status === 'expiring';
