import type { GraphLimits } from './scenario.js';
import type { EmulatorState } from './state.js';
import { TokenBucket } from './throttle.js';

// Microsoft Graph's limits as microsoftgraph/microsoft-graph-docs-contrib documents them:
// concepts/throttling-limits.md, and for the identity and access service
// includes/throttling-identity-and-access.md (limits, request costs, headers).

/**
 * Base resource-unit costs of identity and access requests ("Any requests not listed have a
 * base cost of 1"), matched against the lower-cased path after /v1.0/. A path starting with
 * `me/` costs the same as `users/{id | userPrincipalName}/`.
 */
const baseCosts: { method: string; path: RegExp; cost: number }[] = [
  { method: 'GET', path: /^applications$/, cost: 2 },
  { method: 'GET', path: /^applications\/[^/]+\/extensionproperties$/, cost: 2 },
  { method: 'GET', path: /^contracts$/, cost: 3 },
  { method: 'POST', path: /^directoryobjects\/getbyids$/, cost: 5 },
  { method: 'GET', path: /^domains\/[^/]+\/domainnamereferences$/, cost: 4 },
  { method: 'POST', path: /^getobjectsbyid$/, cost: 5 },
  { method: 'GET', path: /^groups\/[^/]+\/members$/, cost: 3 },
  { method: 'GET', path: /^groups\/[^/]+\/transitivemembers$/, cost: 5 },
  { method: 'POST', path: /^ismemberof$/, cost: 4 },
  { method: 'POST', path: /^(me|users\/[^/]+)\/checkmembergroups$/, cost: 4 },
  { method: 'POST', path: /^(me|users\/[^/]+)\/checkmemberobjects$/, cost: 4 },
  { method: 'POST', path: /^(me|users\/[^/]+)\/getmembergroups$/, cost: 2 },
  { method: 'POST', path: /^(me|users\/[^/]+)\/getmemberobjects$/, cost: 2 },
  { method: 'GET', path: /^(me|users\/[^/]+)\/licensedetails$/, cost: 2 },
  { method: 'GET', path: /^(me|users\/[^/]+)\/memberof$/, cost: 2 },
  { method: 'GET', path: /^(me|users\/[^/]+)\/ownedobjects$/, cost: 2 },
  { method: 'GET', path: /^(me|users\/[^/]+)\/transitivememberof$/, cost: 2 },
  { method: 'GET', path: /^oauth2permissiongrants(\/[^/]+)?$/, cost: 2 },
  { method: 'GET', path: /^serviceprincipals\/[^/]+\/approleassignments$/, cost: 2 },
  { method: 'GET', path: /^subscribedskus$/, cost: 3 },
  { method: 'GET', path: /^users$/, cost: 2 },
];

/**
 * Resources of the identity and access service (the include's list), by first segment; role
 * management of the directory counted with them (cost 1). The partner's GDAP APIs
 * (tenantRelationships) are not among them: only the app's requests per second apply.
 */
const identityRoots = new Set([
  'applications',
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
  'oauth2permissiongrants',
  'organization',
  'contacts',
  'policies',
  'rolemanagement',
  'serviceprincipals',
  'subscribedskus',
  'users',
  'me',
]);

/** Under a user, the relationships of the directory; the rest (mailbox, mail...) is Outlook's. */
const userDirectoryParts = new Set([
  'memberof',
  'transitivememberof',
  'licensedetails',
  'ownedobjects',
  'owneddevices',
  'registereddevices',
  'manager',
  'directreports',
  'approleassignments',
  'oauth2permissiongrants',
  'checkmembergroups',
  'checkmemberobjects',
  'getmembergroups',
  'getmemberobjects',
]);

/** The path after /v1.0/, lower-cased, without a trailing `$count` segment or type cast. */
function normalized(path: string): string {
  let p = path
    .replace(/^\/+/, '')
    .replace(/\/+$/, '')
    .replace(/^v1\.0\//i, '')
    .toLowerCase();
  // `…/$count` and `…/microsoft.graph.user` read the same relationship as `…` itself.
  for (;;) {
    const shorter = p.replace(/\/(\$count|microsoft\.graph\.[a-z]+)$/, '');
    if (shorter === p) return p;
    p = shorter;
  }
}

/** Whether a request goes to the identity and access service. */
function isIdentity(path: string): boolean {
  const segments = path.split('/');
  if (!identityRoots.has(segments[0]!)) return false;
  const userPart = segments[0] === 'me' ? segments[1] : segments[0] === 'users' ? segments[2] : '';
  return !userPart || userDirectoryParts.has(userPart);
}

/**
 * The resource units a request costs, or undefined when it does not go to the identity and
 * access service. `$select` takes 1 off, `$expand` adds 1, `$top` under 20 takes 1 off; never
 * below 1.
 */
function resourceUnits(
  method: string,
  path: string,
  query: Record<string, unknown>,
): number | undefined {
  const p = normalized(path);
  if (!isIdentity(p)) return undefined;
  const m = method.toUpperCase();
  let cost = baseCosts.find((c) => c.method === m && c.path.test(p))?.cost ?? 1;
  if (query.$select !== undefined) cost -= 1;
  if (query.$expand !== undefined) cost += 1;
  const top = Number(query.$top);
  if (query.$top !== undefined && Number.isFinite(top) && top < 20) cost -= 1;
  return Math.max(1, cost);
}

/** A usage report's name (`getMailboxUsageDetail`) when the path is one, else undefined. */
function usageReport(path: string): string | undefined {
  return /^\/?(?:v1\.0\/)?reports\/([a-z0-9]+)/i.exec(path)?.[1]?.toLowerCase();
}

/** The app+tenant resource-unit quota per 10 s for a tenant of this many users. */
function tenantQuota(limits: GraphLimits, users: number): number {
  if (users < 50) return limits.smallTenantResourceUnits;
  if (users <= 500) return limits.mediumTenantResourceUnits;
  return limits.largeTenantResourceUnits;
}

export interface GraphCharge {
  /** 0: the request goes; else the milliseconds until it could. */
  waitMs: number;
  /** Response headers the identity and access service adds. */
  headers: Record<string, string>;
}

/**
 * Charges one Graph request against the app's limits: requests per second across all
 * tenants; for identity and access, resource units per app+tenant (10 s, by tenant size) and
 * per app (20 s); for a usage report, its requests per app+tenant (10 minutes). A request
 * refused by one limit is charged to none.
 */
export function chargeGraphRequest(
  state: EmulatorState,
  request: {
    appId: string;
    tenantId: string;
    tenantUsers: number;
    method: string;
    path: string;
    query: Record<string, unknown>;
  },
): GraphCharge {
  const limits = state.scenario.graphLimits;
  const now = state.now();
  const { appId, tenantId } = request;
  const charges: { bucket: TokenBucket; cost: number; scope?: string }[] = [
    {
      bucket: state.bucket(`graph|app-requests|${appId}`, (t) =>
        TokenBucket.perSecond(limits.appRequestsPerSecond, t),
      ),
      cost: 1,
    },
  ];
  const units = resourceUnits(request.method, request.path, request.query);
  if (units !== undefined) {
    const quota = tenantQuota(limits, request.tenantUsers);
    charges.push(
      {
        bucket: state.bucket(
          `graph|tenant-units|${appId}|${tenantId}|${quota}`,
          (t) => new TokenBucket(quota, 10_000, t),
        ),
        cost: units,
        scope: `Tenant_Application/ReadWrite/${appId}/${tenantId}`,
      },
      {
        bucket: state.bucket(
          `graph|app-units|${appId}`,
          (t) => new TokenBucket(limits.appResourceUnits, 20_000, t),
        ),
        cost: units,
        scope: `Application/ReadWrite/${appId}/${tenantId}`,
      },
    );
  }
  const report = usageReport(request.path);
  if (report) {
    charges.push({
      bucket: state.bucket(
        `graph|report|${appId}|${tenantId}|${report}`,
        (t) => new TokenBucket(limits.reportRequests, 600_000, t),
      ),
      cost: 1,
    });
  }
  const waits = charges.map((c) => c.bucket.wait(c.cost, now));
  const waitMs = Math.max(...waits);
  if (waitMs > 0) {
    const refusedBy = charges[waits.indexOf(waitMs)]!;
    return {
      waitMs,
      headers: refusedBy.scope
        ? {
            'x-ms-throttle-scope': refusedBy.scope,
            'x-ms-throttle-information': 'ResourceUnitLimitExceeded',
          }
        : {},
    };
  }
  for (const c of charges) c.bucket.take(c.cost, now);
  if (units === undefined) return { waitMs: 0, headers: {} };
  const headers: Record<string, string> = { 'x-ms-resource-unit': String(units) };
  // "Returned only when the application consumed more than 0.8 of its limit."
  const used = Math.max(...charges.filter((c) => c.scope).map((c) => c.bucket.used(now)));
  if (used > 0.8) headers['x-ms-throttle-limit-percentage'] = used.toFixed(1);
  return { waitMs: 0, headers };
}
