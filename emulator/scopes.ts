import { resources } from './tokens.js';

export const oidcScopes = new Set(['openid', 'profile', 'offline_access', 'email']);

/** Full scope URI: bare Graph permissions (User.Read) get Graph's resource prefix. */
function normalizeScope(scope: string): string {
  if (oidcScopes.has(scope.toLowerCase())) return scope.toLowerCase();
  if (scope.includes('://') || scope.startsWith('api://')) return scope;
  return `${resources.graph}/${scope}`;
}

export function parseScopes(value: string | undefined): string[] {
  return [...new Set((value ?? '').split(/\s+/).filter(Boolean).map(normalizeScope))];
}

/** The resource (App ID URI) a scope belongs to, or undefined for OIDC scopes. */
export function resourceOf(scope: string): string | undefined {
  if (oidcScopes.has(scope)) return undefined;
  return scope.slice(0, scope.lastIndexOf('/'));
}

/** The permission name within its resource (user_impersonation, User.Read, .default). */
export function permissionOf(scope: string): string {
  return scope.slice(scope.lastIndexOf('/') + 1);
}

/** What the consent page shows for each scope, in the words Microsoft's page uses. */
export function describeScope(scope: string): string {
  const known: Record<string, string> = {
    openid: 'Sign you in',
    profile: 'View your basic profile',
    offline_access: 'Maintain access to data you have given it access to',
    email: 'View your email address',
    [`${resources.partnerCenter}/user_impersonation`]: 'Access Partner Center',
    [`${resources.graph}/User.Read`]: 'Sign you in and read your profile',
    [`${resources.graph}/User.Read.All`]: "Read all users' full profiles",
    [`${resources.graph}/Directory.Read.All`]: 'Read directory data',
    [`${resources.graph}/Organization.Read.All`]: 'Read organization information',
    [`${resources.graph}/GroupMember.Read.All`]: 'Read group memberships',
    [`${resources.graph}/MailboxSettings.Read`]: "Read users' mailbox settings",
    [`${resources.graph}/Reports.Read.All`]: 'Read all usage reports',
  };
  return known[scope] ?? scope;
}
