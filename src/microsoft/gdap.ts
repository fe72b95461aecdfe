import type { GraphClient, GraphRequestOptions } from './graph.js';

// The partner's GDAP relationships in Microsoft Graph, read and changed with the partner's
// own token (DelegatedAdminRelationship.ReadWrite.All; microsoft-graph-docs-contrib
// api-reference/v1.0 tenantrelationship-list-delegatedadminrelationships,
// delegatedadminrelationship-list-accessassignments, delegatedadminrelationship-update).

export interface DelegatedAdminRelationship {
  '@odata.etag'?: string;
  id: string;
  displayName: string;
  /** activating, active, approvalPending, approved, created, expired, expiring, terminated... */
  status: string;
  endDateTime?: string | null;
  /** ISO 8601 duration: PT0S (none) or P180D. */
  autoExtendDuration?: string;
  customer?: { tenantId?: string; displayName?: string };
  accessDetails?: { unifiedRoles?: { roleDefinitionId: string }[] };
}

export interface DelegatedAdminAccessAssignment {
  status?: string;
  accessContainer?: { accessContainerId?: string; accessContainerType?: string };
  accessDetails?: { unifiedRoles?: { roleDefinitionId: string }[] };
}

const relationshipsPath = '/tenantRelationships/delegatedAdminRelationships';

/** Every relationship of the partner, all pages (300 a page, Graph's most). */
export async function delegatedAdminRelationships(
  graph: GraphClient,
  accessToken: string,
  options: GraphRequestOptions = {},
): Promise<DelegatedAdminRelationship[]> {
  return (
    await graph.all<DelegatedAdminRelationship>(
      `${relationshipsPath}?$top=300`,
      accessToken,
      'partner',
      options,
    )
  ).items;
}

/** One relationship, with its current etag. */
export function delegatedAdminRelationship(
  graph: GraphClient,
  accessToken: string,
  relationshipId: string,
  options: GraphRequestOptions = {},
): Promise<DelegatedAdminRelationship> {
  return graph.get<DelegatedAdminRelationship>(
    `${relationshipsPath}/${encodeURIComponent(relationshipId)}`,
    accessToken,
    'partner',
    options,
  );
}

/** A relationship's access assignments: which security group holds which roles. */
export async function accessAssignments(
  graph: GraphClient,
  accessToken: string,
  relationshipId: string,
  options: GraphRequestOptions = {},
): Promise<DelegatedAdminAccessAssignment[]> {
  return (
    await graph.all<DelegatedAdminAccessAssignment>(
      `${relationshipsPath}/${encodeURIComponent(relationshipId)}/accessAssignments`,
      accessToken,
      'partner',
      options,
    )
  ).items;
}

/** Sets a relationship's auto-extend; `etag` must be the one last read (If-Match). */
export function setAutoExtend(
  graph: GraphClient,
  accessToken: string,
  relationshipId: string,
  etag: string,
  duration: 'P180D' | 'PT0S',
  options: GraphRequestOptions = {},
): Promise<DelegatedAdminRelationship> {
  return graph.patch<DelegatedAdminRelationship>(
    `${relationshipsPath}/${encodeURIComponent(relationshipId)}`,
    accessToken,
    { autoExtendDuration: duration },
    { 'If-Match': etag },
    'partner',
    options,
  );
}
