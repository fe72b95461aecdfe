import type { GraphClient, GraphRequestOptions } from './graph.js';

/** Partner Center's agent roles are the partner tenant's groups of these names. */
const agentRoles = ['AdminAgents', 'SalesAgents', 'HelpdeskAgents'] as const;
type AgentRole = (typeof agentRoles)[number];

const roleNames: Record<AgentRole, string> = {
  AdminAgents: 'an Admin Agent',
  SalesAgents: 'a Sales Agent',
  HelpdeskAgents: 'a Helpdesk Agent',
};

/**
 * What Graph says of the signed-in user's agent roles: the role groups among their groups,
 * or `nameless` when Graph answered with limited information (ids only: the token lacks a
 * permission that reads groups, such as GroupMember.Read.All).
 */
export type AgentRoles = { kind: 'known'; roles: AgentRole[] } | { kind: 'nameless' };

interface DirectoryObject {
  '@odata.type'?: string;
  id?: string;
  displayName?: string | null;
}

/**
 * The user's agent roles from `/me/transitiveMemberOf`, every page, nested groups included,
 * as real partner tools check them (membership of the AdminAgents group, not a Partner Center
 * call that other agents may make too).
 */
export async function agentRolesOfSignedInUser(
  graph: GraphClient,
  accessToken: string,
  options: GraphRequestOptions = {},
): Promise<AgentRoles> {
  const groups = await groupsOfSignedInUser(graph, accessToken, options);
  if (groups.some((g) => typeof g.displayName !== 'string')) return { kind: 'nameless' };
  const names = new Set(groups.map((g) => g.displayName));
  return { kind: 'known', roles: agentRoles.filter((r) => names.has(r)) };
}

/**
 * The signed-in user's groups in the partner tenant from `/me/transitiveMemberOf`, every page,
 * nested groups included; a name is missing when the token cannot read groups' names.
 */
export async function groupsOfSignedInUser(
  graph: GraphClient,
  accessToken: string,
  options: GraphRequestOptions = {},
): Promise<{ id?: string; displayName?: string | null }[]> {
  const { items } = await graph.all<DirectoryObject>(
    '/me/transitiveMemberOf?$select=id,displayName&$top=999',
    accessToken,
    'partner',
    options,
  );
  return items.filter((o) => o['@odata.type'] === '#microsoft.graph.group');
}

/** The refusal for a consent without the Admin Agent role, naming what the account has. */
export function notAnAdminAgent(upn: string, roles: AgentRoles): string {
  const again = 'Grant consent again with an account in the AdminAgents group.';
  if (roles.kind === 'nameless') {
    return `Microsoft Graph returned ${upn}'s groups without their names: the consent lacks the GroupMember.Read.All permission ("Read group memberships"), so the Admin Agent role cannot be checked. Grant consent again and accept every permission asked.`;
  }
  if (roles.roles.length === 0) {
    return `${upn} holds no Partner Center agent role (it is in none of the AdminAgents, SalesAgents and HelpdeskAgents groups), so it is not an Admin Agent. ${again}`;
  }
  const held = roles.roles.map((r) => roleNames[r]).join(' and ');
  return `${upn} is ${held}, not an Admin Agent: Partner Center lets only Admin Agents read customers' licenses. ${again}`;
}
