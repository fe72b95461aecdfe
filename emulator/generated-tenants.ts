import {
  allPartnerUsersGroup,
  buildRelationship,
  groupIdFor,
  withDelegatedAccessShorthand,
  type AppConsent,
  type DirectoryRole,
  type Relationship,
} from './gdap.js';
import type { PartnerSpec } from './scenario.js';
import { commonSkus, skuByPartNumber } from './skus.js';
import {
  stableGuid,
  type Customer,
  type CustomerDetail,
  type DirectoryUser,
  type Group,
  type Subscription,
  type SubscriptionStatus,
  type TermDuration,
} from './tenants.js';

// Generated customers: many varied small-business tenants from a seed, the same run after run.

/** mulberry32: a small seeded PRNG, enough for varied but repeatable test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generated mailbox's age: 30 to 929 days, from its id (no draw from the tenant's PRNG). */
const createdDaysAgo = (id: string) => 30 + (parseInt(id.slice(0, 6), 16) % 900);

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

const dayMs = 86_400_000;

/** Why a generated customer the partner cannot read is out of reach, with its share. */
const gaps = [
  ['no relationship', 0.3],
  ['expired', 0.2],
  ['terminated', 0.1],
  ['no license role', 0.2],
  ['no app consent', 0.2],
] as const;
type Gap = (typeof gaps)[number][0] | 'none';

/**
 * A generated customer's GDAP: readable ones have an active relationship granting Global
 * Reader (sometimes more) to every partner user, about one in eight ending within 30 days
 * without auto-extend, some with an earlier one that ended; the others lack access for one of
 * `gaps`. Drawn from its own sequence, so names and contents stay those of the seed.
 */
function generatedGdap(
  partnerTenantId: string,
  tenantId: string,
  gap: Gap,
  draw: () => number,
  now: number,
): { gdap: Relationship[]; appConsent: AppConsent } {
  const group = groupIdFor(partnerTenantId, allPartnerUsersGroup);
  const days = (min: number, max: number) => (min + Math.floor(draw() * (max - min))) * dayMs;
  const gdap: Relationship[] = [];
  const add = (
    displayName: string,
    status: Relationship['status'],
    endDateTime: number,
    roles: DirectoryRole[],
    autoExtend = false,
  ) =>
    gdap.push(
      buildRelationship(tenantId, gdap.length, {
        displayName,
        status,
        endDateTime,
        autoExtendDuration: autoExtend ? 'P180D' : 'PT0S',
        accessAssignments: [{ groupId: group, roles }],
      }),
    );
  if (draw() < 0.15) add('Onboarding 2023', 'terminated', now - days(200, 600), ['Global Reader']);
  const roles: DirectoryRole[] = ['Global Reader'];
  if (draw() < 0.4) roles.push('Exchange Administrator');
  if (draw() < 0.2) roles.push('User Administrator');
  if (gap === 'no relationship') return { gdap, appConsent: 'all' };
  if (gap === 'expired' || gap === 'terminated')
    add('Managed services', gap, now - days(1, 200), roles);
  else if (gap === 'no license role')
    add('Managed services', 'active', now + days(60, 700), ['Exchange Administrator'], true);
  else if (draw() < 0.12) add('Managed services', 'active', now + days(1, 30), roles);
  else add('Managed services', 'active', now + days(60, 700), roles, draw() < 0.6);
  return { gdap, appConsent: gap === 'no app consent' ? false : 'all' };
}

export function generatedCustomer(
  partner: PartnerSpec,
  generate: { seed: number; withoutDelegatedAccess: number; withoutAppConsent: number },
  index: number,
  now: () => number,
): Customer {
  const { seed, withoutDelegatedAccess, withoutAppConsent } = generate;
  const rng = prng(seed * 1_000_003 + index);
  const first = firstWords[Math.floor(rng() * firstWords.length)]!;
  const second = secondWords[Math.floor(rng() * secondWords.length)]!;
  const slug = `${first}${second}`.toLowerCase().replace(/[^a-z]/g, '');
  const tenantId = stableGuid('customer', partner.tenantId, seed, index);
  const access = rng();
  const draw = prng((seed * 1_000_003 + index) ^ 0x6da9);
  let gap: Gap = 'none';
  if (access < withoutDelegatedAccess) {
    let pick = draw();
    gap = gaps.find(([, share]) => (pick -= share) < 0)?.[0] ?? 'no relationship';
  } else if (access < withoutDelegatedAccess + withoutAppConsent) gap = 'no app consent';
  const { gdap, appConsent } = generatedGdap(partner.tenantId, tenantId, gap, draw, now());
  return withDelegatedAccessShorthand(
    {
      tenantId,
      name: `${first} ${second} ${index + 1}`,
      domain: `${slug}${index + 1}.onmicrosoft.com`,
      gdap,
      appConsent,
      relationshipToPartner: 'reseller' as const,
      concealedNamesInReports: true,
      partnerTenantId: partner.tenantId,
      guests: [],
      withoutGdapGroup: [],
      blockedByConditionalAccess: false,
      delegatedAdminBlocked: false,
      detail: () =>
        generateDetail(tenantId, `${slug}${index + 1}.onmicrosoft.com`, seed * 7919 + index),
    },
    now,
  );
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
