import type { CloudEndpoints } from '../../config/index.js';

/** Hosts MSAL knows by heart (no discovery); any other host must be listed as known. */
const msalBuiltInHosts = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.partner.microsoftonline.cn',
]);

/** The authority URL for a tenant (GUID, domain, or organizations) in the configured cloud. */
export function authorityFor(endpoints: CloudEndpoints, tenant: string): string {
  return `${endpoints.authorityHost}/${tenant}`;
}

/**
 * MSAL's knownAuthorities for the configured cloud: the authority's host:port when MSAL does
 * not know it, so MSAL reads its OpenID configuration instead of asking Microsoft's instance
 * discovery (which a custom cloud cannot answer).
 */
export function knownAuthoritiesFor(endpoints: CloudEndpoints): string[] {
  const host = new URL(endpoints.authorityHost).host;
  return msalBuiltInHosts.has(host) ? [] : [host];
}
