// What a Graph request costs against Microsoft's identity and access limits, which are
// counted in resource units per app and tenant (and per app across all tenants), not in
// requests. Source: microsoft-graph-docs-contrib includes/throttling-identity-and-access.md.
// The emulator keeps its own copy (emulator/graph-limits.ts) on purpose: it plays Microsoft, so
// a cost wrong here shows up as 429s in the tests instead of being agreed with.

/** Base costs of the listed requests; any other identity and access request costs 1. */
const baseCosts: readonly { method: string; path: RegExp; units: number }[] = [
  { method: 'GET', path: /^applications$/, units: 2 },
  { method: 'GET', path: /^applications\/[^/]+\/extensionproperties$/, units: 2 },
  { method: 'GET', path: /^contracts$/, units: 3 },
  { method: 'POST', path: /^directoryobjects\/getbyids$/, units: 5 },
  { method: 'GET', path: /^domains\/[^/]+\/domainnamereferences$/, units: 4 },
  { method: 'POST', path: /^getobjectsbyid$/, units: 5 },
  { method: 'GET', path: /^groups\/[^/]+\/members$/, units: 3 },
  { method: 'GET', path: /^groups\/[^/]+\/transitivemembers$/, units: 5 },
  { method: 'POST', path: /^ismemberof$/, units: 4 },
  { method: 'POST', path: /^(me|users\/[^/]+)\/(checkmembergroups|checkmemberobjects)$/, units: 4 },
  { method: 'POST', path: /^(me|users\/[^/]+)\/(getmembergroups|getmemberobjects)$/, units: 2 },
  {
    method: 'GET',
    path: /^(me|users\/[^/]+)\/(licensedetails|memberof|ownedobjects|transitivememberof)$/,
    units: 2,
  },
  { method: 'GET', path: /^oauth2permissiongrants(\/[^/]+)?$/, units: 2 },
  { method: 'GET', path: /^serviceprincipals\/[^/]+\/approleassignments$/, units: 2 },
  { method: 'GET', path: /^subscribedskus$/, units: 3 },
  { method: 'GET', path: /^users$/, units: 2 },
];

/** First path segments served by the identity and access service. */
const directoryRoots = new Set([
  'applications',
  'contacts',
  'contracts',
  'devices',
  'directoryobjects',
  'directoryroles',
  'directoryroletemplates',
  'domains',
  'getobjectsbyid',
  'groups',
  'groupsettings',
  'groupsettingtemplates',
  'ismemberof',
  'me',
  'oauth2permissiongrants',
  'organization',
  'policies',
  'serviceprincipals',
  'subscribedskus',
  'users',
]);

/** A user's parts that are directory data; the others (mailboxSettings, mail) are Outlook's. */
const userDirectoryParts = new Set([
  'approleassignments',
  'checkmembergroups',
  'checkmemberobjects',
  'directreports',
  'getmembergroups',
  'getmemberobjects',
  'licensedetails',
  'manager',
  'memberof',
  'oauth2permissiongrants',
  'owneddevices',
  'ownedobjects',
  'registereddevices',
  'transitivememberof',
]);

/**
 * The resource units a Graph request costs, from its URL (`/v1.0/...` with its query, or an
 * absolute next link): the documented base cost, 1 off for `$select`, 1 more for `$expand`,
 * 1 off for `$top` under 20, never below 1. A trailing `$count` segment or type cast reads the
 * same relationship as the path without it. 0 for requests outside identity and access
 * (usage reports, mailbox settings): they are limited otherwise.
 */
export function graphResourceUnits(method: string, url: string): number {
  const parsed = new URL(url, 'https://graph.invalid');
  let path = decodeURIComponent(parsed.pathname)
    .toLowerCase()
    .replace(/^\/(v1\.0|beta)\//, '')
    .replace(/\/+$/, '');
  for (let shorter = ''; shorter !== path;) {
    shorter = path;
    path = path.replace(/\/(\$count|microsoft\.graph\.[a-z]+)$/, '');
  }
  const segments = path.split('/');
  if (!directoryRoots.has(segments[0]!)) return 0;
  const userPart = segments[0] === 'me' ? segments[1] : segments[0] === 'users' ? segments[2] : '';
  if (userPart && !userDirectoryParts.has(userPart)) return 0;

  const m = method.toUpperCase();
  let units = baseCosts.find((c) => c.method === m && c.path.test(path))?.units ?? 1;
  const query = parsed.searchParams;
  if (query.has('$select')) units -= 1;
  if (query.has('$expand')) units += 1;
  const top = Number(query.get('$top'));
  if (query.has('$top') && Number.isFinite(top) && top < 20) units -= 1;
  return Math.max(1, units);
}
