import express, { type Request, type Response, type Router } from 'express';
import { sendGraphError } from './errors.js';
import {
  allPartnerUsersGroup,
  currentEnd,
  directoryRoles,
  effectiveStatus,
  etagOf,
  gdapAllows,
  gdapRolesOf,
  holdsGlobalAdministrator,
  isMicrosoftLed,
  relationshipRoles,
  type DirectoryRole,
  type Relationship,
} from './gdap.js';
import { graphNextLink } from './graph-paging.js';
import type { EmulatorState } from './state.js';
import type { Customer, Partner } from './tenants.js';
import type { AccessTokenClaims } from './tokens.js';

// Graph's GDAP APIs for the partner tenant (microsoft-graph-docs-contrib api-reference/v1.0:
// tenantrelationship-list-delegatedadminrelationships, delegatedadminrelationship-get,
// -update, -list-accessassignments, tenantrelationship-list-delegatedadmincustomers), and the
// role assignments a customer tenant shows for them (unifiedroleassignment list).

const relationshipsMetadata = 'https://graph.microsoft.com/v1.0/tenantRelationships/$metadata';
const readPermissions = [
  'DelegatedAdminRelationship.Read.All',
  'DelegatedAdminRelationship.ReadWrite.All',
];
const writePermissions = ['DelegatedAdminRelationship.ReadWrite.All'];
const roleAssignmentPermissions = [
  'RoleManagement.Read.Directory',
  'RoleManagement.Read.All',
  'Directory.Read.All',
  'RoleManagement.ReadWrite.Directory',
];
/** `$top` supports up to 300 objects; without it, pages of 100 (a choice: the docs name none). */
const maxPageSize = 300;
const defaultPageSize = 100;

interface GraphCaller {
  claims: AccessTokenClaims;
  customer: Customer | undefined;
}

const dayMs = 86_400_000;

function relationshipResource(customer: Customer, r: Relationship, now: number) {
  const end = currentEnd(r, now);
  return {
    '@odata.type': '#microsoft.graph.delegatedAdminRelationship',
    '@odata.etag': etagOf(r.id, r.version),
    id: r.id,
    displayName: r.displayName,
    duration: `P${Math.round((end - Date.parse(r.activatedDateTime)) / dayMs)}D`,
    customer: { tenantId: customer.tenantId, displayName: customer.name },
    accessDetails: {
      unifiedRoles: relationshipRoles(r).map((role) => ({
        roleDefinitionId: directoryRoles[role],
      })),
    },
    status: effectiveStatus(r, now),
    autoExtendDuration: r.autoExtendDuration,
    createdDateTime: r.createdDateTime,
    lastModifiedDateTime: r.lastModifiedDateTime,
    activatedDateTime: r.activatedDateTime,
    endDateTime: new Date(end).toISOString(),
  };
}

function accessAssignmentResource(r: Relationship, a: Relationship['accessAssignments'][number]) {
  return {
    '@odata.type': '#microsoft.graph.delegatedAdminAccessAssignment',
    '@odata.etag': etagOf(a.id, r.version),
    id: a.id,
    status: 'active',
    createdDateTime: a.createdDateTime,
    lastModifiedDateTime: a.createdDateTime,
    accessContainer: { accessContainerId: a.groupId, accessContainerType: 'securityGroup' },
    accessDetails: {
      unifiedRoles: a.roles.map((role) => ({ roleDefinitionId: directoryRoles[role] })),
    },
  };
}

/** `$top`, `$skiptoken` paging over items; answers 400 for a `$top` out of range. */
function page<T>(req: Request, res: Response, items: T[], context: string): void {
  const top = req.query.$top === undefined ? defaultPageSize : Number(req.query.$top);
  if (!Number.isInteger(top) || top < 1 || top > maxPageSize)
    return sendGraphError(
      res,
      400,
      'BadRequest',
      `The value of $top must be an integer from 1 to ${maxPageSize}.`,
    );
  const token = typeof req.query.$skiptoken === 'string' ? req.query.$skiptoken : undefined;
  const skip = token ? Number(Buffer.from(token, 'base64url').toString()) : 0;
  if (!Number.isInteger(skip) || skip < 0)
    return sendGraphError(res, 400, 'BadRequest', 'The $skiptoken is not valid.');
  const body: Record<string, unknown> = {
    '@odata.context': context,
    value: items.slice(skip, skip + top),
  };
  if (skip + top < items.length) {
    body['@odata.nextLink'] = graphNextLink(req, req.path, skip + top);
  }
  res.json(body);
}

/** The `$filter` forms understood on the relationship list. */
function relationshipFilter(
  filter: string | undefined,
): ((item: { status: string; customer: { tenantId: string } }) => boolean) | 'unsupported' {
  if (!filter) return () => true;
  const status = /^status\s+eq\s+'([a-zA-Z]+)'$/.exec(filter.trim());
  if (status) return (item) => item.status === status[1];
  const tenant = /^customer\/tenantId\s+eq\s+'([0-9a-f-]{36})'$/i.exec(filter.trim());
  if (tenant) return (item) => item.customer.tenantId === tenant[1]!.toLowerCase();
  return 'unsupported';
}

export function gdapRoutes(router: Router, state: EmulatorState): void {
  const callerOf = (res: Response) => res.locals.caller as GraphCaller;

  /** The partner tenant the token is for, with the permission; else an answer saying why not. */
  const partnerCaller = (res: Response, permissions: string[]): Partner | undefined => {
    const { claims, customer } = callerOf(res);
    const scopes = claims.scp.split(' ');
    const partner = customer ? undefined : state.directory.partner(claims.tid);
    const user = state.directory.userByOid(claims.oid);
    // Delegated GDAP calls need the Admin Agent role in the partner tenant (the stricter reading).
    const adminAgent = user !== undefined && state.directory.rolesOf(user).includes('AdminAgents');
    if (!partner || !permissions.some((p) => scopes.includes(p)) || !adminAgent) {
      sendGraphError(
        res,
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
      return undefined;
    }
    return partner;
  };

  const findRelationship = (partner: Partner, id: string) => {
    for (const customer of partner.customers) {
      const relationship = customer.gdap.find((r) => r.id === id);
      if (relationship) return { customer, relationship };
    }
    return undefined;
  };
  const notFound = (res: Response, id: string) =>
    sendGraphError(
      res,
      404,
      'Request_ResourceNotFound',
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    );

  router.get('/tenantRelationships/delegatedAdminRelationships', (req, res) => {
    const partner = partnerCaller(res, readPermissions);
    if (!partner) return;
    const filter = relationshipFilter(
      typeof req.query.$filter === 'string' ? req.query.$filter : undefined,
    );
    if (filter === 'unsupported')
      return sendGraphError(res, 400, 'BadRequest', 'Invalid filter clause.');
    const now = state.now();
    const items = partner.customers
      .flatMap((c) => c.gdap.map((r) => relationshipResource(c, r, now)))
      .filter(filter);
    page(req, res, items, `${relationshipsMetadata}#delegatedAdminRelationships`);
  });

  router.get('/tenantRelationships/delegatedAdminRelationships/:id', (req, res) => {
    const partner = partnerCaller(res, readPermissions);
    if (!partner) return;
    const found = findRelationship(partner, req.params.id);
    if (!found) return notFound(res, req.params.id);
    res.json({
      '@odata.context': `${relationshipsMetadata}#delegatedAdminRelationships/$entity`,
      ...relationshipResource(found.customer, found.relationship, state.now()),
    });
  });

  router.get(
    '/tenantRelationships/delegatedAdminRelationships/:id/accessAssignments',
    (req, res) => {
      const partner = partnerCaller(res, readPermissions);
      if (!partner) return;
      const found = findRelationship(partner, req.params.id);
      if (!found) return notFound(res, req.params.id);
      const { relationship } = found;
      page(
        req,
        res,
        relationship.accessAssignments.map((a) => accessAssignmentResource(relationship, a)),
        `${relationshipsMetadata}#accessAssignments`,
      );
    },
  );

  // Auto-extend: only autoExtendDuration of an active relationship, with the current etag;
  // never for Microsoft-led (MLT_) ones or ones holding Global Administrator.
  router.patch(
    '/tenantRelationships/delegatedAdminRelationships/:id',
    express.text({ type: () => true, limit: '64kb' }),
    (req, res) => {
      const partner = partnerCaller(res, writePermissions);
      if (!partner) return;
      const found = findRelationship(partner, req.params.id);
      if (!found) return notFound(res, req.params.id);
      const { customer, relationship } = found;
      const ifMatch = req.get('If-Match')?.trim();
      if (!ifMatch)
        return sendGraphError(
          res,
          400,
          'BadRequest',
          "The 'If-Match' header is required: the relationship's last known @odata.etag.",
        );
      if (ifMatch !== etagOf(relationship.id, relationship.version) && ifMatch !== '*')
        return sendGraphError(
          res,
          412,
          'PreconditionFailed',
          'The relationship has changed since the ETag in If-Match was read. Get it again and retry.',
        );
      if (isMicrosoftLed(relationship))
        return sendGraphError(
          res,
          403,
          'Forbidden',
          'Microsoft-led transition relationships (MLT_) are read-only.',
        );
      let body: unknown;
      try {
        body = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        return sendGraphError(res, 400, 'BadRequest', 'The request body is not valid JSON.');
      }
      const fields = body && typeof body === 'object' ? Object.keys(body) : [];
      const value = (body as { autoExtendDuration?: unknown } | null)?.autoExtendDuration;
      if (fields.length !== 1 || fields[0] !== 'autoExtendDuration')
        return sendGraphError(
          res,
          400,
          'BadRequest',
          'Only autoExtendDuration can be changed once a relationship is past the created status.',
        );
      if (value !== 'PT0S' && value !== 'P0D' && value !== 'P180D')
        return sendGraphError(
          res,
          400,
          'BadRequest',
          'autoExtendDuration must be PT0S, P0D or P180D.',
        );
      const now = state.now();
      if (effectiveStatus(relationship, now) !== 'active')
        return sendGraphError(
          res,
          400,
          'BadRequest',
          `autoExtendDuration can be changed on an active relationship only; this one is ${effectiveStatus(relationship, now)}.`,
        );
      if (value === 'P180D' && holdsGlobalAdministrator(relationship))
        return sendGraphError(
          res,
          400,
          'BadRequest',
          'A relationship that includes the Global Administrator role cannot be auto-extended.',
        );
      relationship.autoExtendDuration = value === 'P180D' ? 'P180D' : 'PT0S';
      relationship.version += 1;
      relationship.lastModifiedDateTime = new Date(now).toISOString();
      res.json({
        '@odata.context': `${relationshipsMetadata}#delegatedAdminRelationships/$entity`,
        ...relationshipResource(customer, relationship, now),
      });
    },
  );

  router.get('/tenantRelationships/delegatedAdminCustomers', (req, res) => {
    const partner = partnerCaller(res, readPermissions);
    if (!partner) return;
    const items = partner.customers
      .filter((c) => c.gdap.length > 0)
      .map((c) => ({
        '@odata.type': '#microsoft.graph.delegatedAdminCustomer',
        '@odata.etag': etagOf(c.tenantId, 1),
        id: c.tenantId,
        tenantId: c.tenantId,
        displayName: c.name,
      }));
    page(req, res, items, `${relationshipsMetadata}#delegatedAdminCustomers`);
  });

  // In a customer tenant: the role assignments GDAP gives the partner's groups, as tools read
  // them (roleDefinitionId filter, principal expanded, organizationId the partner's tenant).
  router.get('/roleManagement/directory/roleAssignments', (req, res) => {
    const { claims, customer } = callerOf(res);
    const scopes = claims.scp.split(' ');
    if (!roleAssignmentPermissions.some((p) => scopes.includes(p)))
      return sendGraphError(
        res,
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
    const filter = typeof req.query.$filter === 'string' ? req.query.$filter.trim() : undefined;
    const byRole = filter
      ? /^roleDefinitionId\s+eq\s+'([0-9a-f-]{36})'$/i.exec(filter)?.[1]?.toLowerCase()
      : undefined;
    if (filter && !byRole) return sendGraphError(res, 400, 'BadRequest', 'Invalid filter clause.');
    const expand = typeof req.query.$expand === 'string' ? req.query.$expand.trim() : undefined;
    if (expand !== undefined && expand !== 'principal')
      return sendGraphError(res, 400, 'BadRequest', `Could not expand '${expand}'.`);
    const context =
      'https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments';
    if (!customer) return void res.json({ '@odata.context': context, value: [] });
    const user = state.directory.userByOid(claims.oid);
    const now = state.now();
    const roles = user
      ? gdapRolesOf(state.directory, user, customer, now)
      : new Set<DirectoryRole>();
    if (!gdapAllows(roles, 'directory'))
      return sendGraphError(
        res,
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
    const partner = state.directory.partner(customer.partnerTenantId)!;
    const value = customer.gdap
      .filter((r) => effectiveStatus(r, now) === 'active')
      .flatMap((r) => r.accessAssignments)
      .flatMap((a) =>
        a.roles
          .filter((role) => !byRole || directoryRoles[role] === byRole)
          .map((role) => {
            const group = partner.groups.find((g) => g.id === a.groupId);
            return {
              id: `${a.id}-${directoryRoles[role]}`,
              principalId: a.groupId,
              roleDefinitionId: directoryRoles[role],
              directoryScopeId: '/',
              ...(expand
                ? {
                    principal: {
                      '@odata.type': '#microsoft.graph.group',
                      id: a.groupId,
                      displayName: group?.displayName ?? allPartnerUsersGroup,
                      organizationId: partner.tenantId,
                      securityEnabled: true,
                      mailEnabled: false,
                    },
                  }
                : {}),
            };
          }),
      );
    res.json({ '@odata.context': context, value });
  });
}
