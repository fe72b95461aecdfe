// The Companies view's rules: when a company's counts are stale, what each filter keeps, how
// the list sorts. Pure: no store, no I/O.
import type { AccessState } from './access.js';

/** What the list can be narrowed to; several filters keep the companies matching all of them. */
export const companyFilters = ['has_failures', 'stale', 'no_access', 'unassigned_seats'] as const;
export type CompanyFilter = (typeof companyFilters)[number];

/** Orders of the list; each sorts ties by name. */
export const companySorts = ['name', 'billed', 'unassigned', 'refreshed'] as const;
export type CompanySort = (typeof companySorts)[number];

/** A company's result in the partner's latest run. */
export interface LatestResult {
  status: 'pending' | 'succeeded' | 'failed' | 'no_access';
  errorMessage: string | null;
}

export interface Staleness {
  stale: boolean;
  /** Why the counts are stale, in a sentence; null when they are not. */
  reason: string | null;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Whether a company's counts can be trusted: stale when the company's result in the latest run
 * failed, or when they were read before the partner's last completed run started (that run did
 * not read them again). A company with no counts yet is not stale: there is nothing to mark.
 */
export function staleness(input: {
  countsAt: Date | null;
  lastCompletedRunStartedAt: Date | null;
  latestResult: LatestResult | null;
}): Staleness {
  const { countsAt, lastCompletedRunStartedAt, latestResult } = input;
  if (!countsAt) return { stale: false, reason: null };
  if (latestResult?.status === 'failed') {
    const why = latestResult.errorMessage
      ? ` ${latestResult.errorMessage.trim().replace(/\.?$/, '.')}`
      : '';
    return {
      stale: true,
      reason: `The latest refresh failed for this company.${why} These counts are from ${day(countsAt)}.`,
    };
  }
  if (lastCompletedRunStartedAt && countsAt < lastCompletedRunStartedAt)
    return {
      stale: true,
      reason: `These counts are from ${day(countsAt)}, before the last completed refresh (${day(
        lastCompletedRunStartedAt,
      )}), which did not read them again.`,
    };
  return { stale: false, reason: null };
}

/** What the filters and sorts look at in a company. */
export interface CompanyFacts {
  name: string;
  domain: string | null;
  customerTenantId: string | null;
  stale: boolean;
  latestResult: LatestResult | null;
  /** GDAP access as last read; null when never read. */
  accessState: AccessState | null;
  /** Custom licenses whose latest count failed. */
  customLicensesFailed: number;
  /** Seats of the licenses in billed totals. */
  billed: number;
  /** Purchased but not assigned seats of the licenses in billed totals. */
  unassigned: number;
  refreshedAt: Date | null;
}

/** Access states in which the refresh cannot read the customer. */
const noAccessStates = new Set<AccessState>([
  'expired',
  'no_relationship',
  'missing_role',
  'app_not_consented',
]);

/** Whether a company shows what `filter` asks for. */
export function matchesFilter(filter: CompanyFilter, c: CompanyFacts): boolean {
  switch (filter) {
    case 'has_failures':
      return c.latestResult?.status === 'failed' || c.customLicensesFailed > 0;
    case 'stale':
      return c.stale;
    case 'no_access':
      return (
        c.latestResult?.status === 'no_access' ||
        (c.accessState !== null && noAccessStates.has(c.accessState))
      );
    case 'unassigned_seats':
      return c.unassigned > 0;
  }
}

/** Whether the search text is in the company's name, domain or tenant id (any case). */
function matchesSearch(search: string, c: CompanyFacts): boolean {
  const needle = search.trim().toLowerCase();
  if (needle === '') return true;
  return [c.name, c.domain, c.customerTenantId].some((v) => v?.toLowerCase().includes(needle));
}

const byName = (a: CompanyFacts, b: CompanyFacts) =>
  a.name.localeCompare(b.name, 'en', { sensitivity: 'base' });

/**
 * The companies matching the search and every filter, in the order asked: by name, by billed
 * or unassigned seats (most first), or by last refresh (oldest first, never refreshed first).
 */
export function selectCompanies<T extends CompanyFacts>(
  companies: T[],
  query: { search: string; filters: CompanyFilter[]; sort: CompanySort },
): T[] {
  const kept = companies.filter(
    (c) => matchesSearch(query.search, c) && query.filters.every((f) => matchesFilter(f, c)),
  );
  const order: Record<CompanySort, (a: T, b: T) => number> = {
    name: byName,
    billed: (a, b) => b.billed - a.billed || byName(a, b),
    unassigned: (a, b) => b.unassigned - a.unassigned || byName(a, b),
    refreshed: (a, b) =>
      (a.refreshedAt?.getTime() ?? -Infinity) - (b.refreshedAt?.getTime() ?? -Infinity) ||
      byName(a, b),
  };
  return [...kept].sort(order[query.sort]);
}

export interface CompanyQuery {
  search: string;
  filters: CompanyFilter[];
  sort: CompanySort;
  /** Values given that are no filter or sort (the API refuses them, the page ignores them). */
  unknown: string[];
}

const asList = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .filter((x): x is string => typeof x === 'string')
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter((x) => x !== '');

/**
 * Reads `search`, `filter` (repeated or comma-separated) and `sort` from a query string.
 * Unknown filters and sorts are named in `unknown`; the sort then stays by name.
 */
export function parseCompanyQuery(query: Record<string, unknown>): CompanyQuery {
  const unknown: string[] = [];
  const filters: CompanyFilter[] = [];
  for (const f of asList(query.filter)) {
    if ((companyFilters as readonly string[]).includes(f)) {
      if (!filters.includes(f as CompanyFilter)) filters.push(f as CompanyFilter);
    } else unknown.push(`filter=${f}`);
  }
  const [sortGiven, ...moreSorts] = asList(query.sort);
  let sort: CompanySort = 'name';
  if (sortGiven !== undefined) {
    if ((companySorts as readonly string[]).includes(sortGiven)) sort = sortGiven as CompanySort;
    else unknown.push(`sort=${sortGiven}`);
  }
  for (const s of moreSorts) unknown.push(`sort=${s}`);
  const search = typeof query.search === 'string' ? query.search.slice(0, 200) : '';
  return { search, filters, sort, unknown };
}
