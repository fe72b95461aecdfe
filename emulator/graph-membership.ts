import type { Request, Response, Router } from 'express';
import type { PartnerGroup } from './tenants.js';
import { sendGraphError } from './errors.js';
import { graphNextLink } from './graph-paging.js';
import type { EmulatorState } from './state.js';
import type { AccessTokenClaims } from './tokens.js';

const metadata = 'https://graph.microsoft.com/v1.0/$metadata';

/** Listing one's own memberships: User.Read is enough (user-list-transitivememberof). */
const listPermissions = [
  'User.Read',
  'User.Read.All',
  'GroupMember.Read.All',
  'Group.Read.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];
/**
 * Reading the groups themselves. Without one of these, groups come back with limited
 * information: @odata.type and id, every other property null (permissions-overview,
 * "Limited information returned for inaccessible member objects").
 */
const groupReadPermissions = [
  'GroupMember.Read.All',
  'Group.Read.All',
  'Directory.Read.All',
  'GroupMember.ReadWrite.All',
  'Group.ReadWrite.All',
  'Directory.ReadWrite.All',
];

const defaultPageSize = 100;
const maxPageSize = 999;

function groupResource(group: PartnerGroup, readable: boolean): Record<string, unknown> {
  const full: Record<string, unknown> = {
    id: group.id,
    deletedDateTime: null,
    classification: null,
    createdDateTime: '2024-01-01T00:00:00Z',
    description: null,
    displayName: group.displayName,
    groupTypes: [],
    isAssignableToRole: null,
    mail: null,
    mailEnabled: false,
    mailNickname: group.displayName.replace(/[^A-Za-z0-9]/g, ''),
    securityEnabled: true,
    visibility: null,
  };
  if (!readable) {
    for (const key of Object.keys(full)) {
      if (key === 'id') continue;
      full[key] = Array.isArray(full[key]) ? [] : null;
    }
  }
  return full;
}

/**
 * GET /me/memberOf and /me/transitiveMemberOf (optionally cast to /microsoft.graph.group):
 * the signed-in partner user's groups in the partner's own tenant, paged, with $select.
 */
export function membershipRoutes(router: Router, state: EmulatorState): void {
  router.get(/^\/me\/(memberOf|transitiveMemberOf)(\/microsoft\.graph\.group)?$/, (req, res) =>
    listMemberships(state, req, res),
  );
}

function listMemberships(state: EmulatorState, req: Request, res: Response): void {
  const { claims, customer } = res.locals.caller as {
    claims: AccessTokenClaims;
    customer: unknown;
  };
  const scopes = claims.scp.split(' ');
  if (!listPermissions.some((p) => scopes.includes(p))) {
    sendGraphError(
      res,
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
    );
    return;
  }
  const [, relation, cast] = /^\/me\/(\w+)(\/microsoft\.graph\.group)?$/.exec(req.path)!;
  const eventual = req.get('ConsistencyLevel')?.toLowerCase() === 'eventual';
  // An OData cast is an advanced query: it needs $count=true and ConsistencyLevel: eventual.
  if (cast && (!eventual || req.query.$count !== 'true')) {
    sendGraphError(
      res,
      400,
      'Request_UnsupportedQuery',
      'Unsupported Query. This query is an advanced query: try adding $count=true query parameter and ConsistencyLevel:eventual header.',
    );
    return;
  }
  const user = state.directory.userByOid(claims.oid);
  // A token for a customer tenant: the partner user holds no groups there.
  const groups =
    !user || customer
      ? []
      : relation === 'memberOf'
        ? state.directory.directGroupsOf(user)
        : state.directory.groupsOf(user);
  const top = Number(req.query.$top ?? defaultPageSize);
  if (!Number.isInteger(top) || top < 1 || top > maxPageSize) {
    sendGraphError(
      res,
      400,
      'Request_BadRequest',
      `Invalid page size specified: '${String(top)}'. Must be between 1 and ${maxPageSize} inclusive.`,
    );
    return;
  }
  const skip =
    typeof req.query.$skiptoken === 'string'
      ? Number(Buffer.from(req.query.$skiptoken, 'base64url').toString())
      : 0;
  const select =
    typeof req.query.$select === 'string'
      ? req.query.$select.split(',').map((s) => s.trim())
      : undefined;
  const readable = groupReadPermissions.some((p) => scopes.includes(p));
  const page = groups.slice(skip, skip + top).map((g) => {
    const full = groupResource(g, readable);
    const keys = select ?? Object.keys(full);
    return {
      ...(cast ? {} : { '@odata.type': '#microsoft.graph.group' }),
      ...Object.fromEntries(keys.filter((k) => k in full).map((k) => [k, full[k]])),
    };
  });
  const body: Record<string, unknown> = {
    '@odata.context': cast ? `${metadata}#groups` : `${metadata}#directoryObjects`,
  };
  if (req.query.$count === 'true' && eventual && skip === 0) body['@odata.count'] = groups.length;
  body.value = page;
  if (skip + top < groups.length) {
    body['@odata.nextLink'] = graphNextLink(req, req.path, skip + top);
  }
  res.json(body);
}
