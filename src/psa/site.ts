import type { PsaKind } from './client.js';
import { apiOrigin } from './connectwise/connection.js';

// Which PSA instance a connection's settings reach. Company, agreement, contract and product
// ids are an instance's own: links and mappings made on one mean nothing on another.

const text = (value: unknown) => (typeof value === 'string' ? value.trim().toLowerCase() : '');

/** An address without the differences that reach the same place (case, trailing slash). */
function address(value: unknown): string {
  if (typeof value !== 'string') return '';
  try {
    const url = new URL(value.trim());
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`.toLowerCase();
  } catch {
    return text(value);
  }
}

/**
 * The instance, as one string: equal for two connections to the same PSA instance whatever
 * their credentials. ConnectWise: its site (UI or API address) and the company logged in to;
 * Autotask: the API user, which belongs to one database and whose zone is looked up (Autotask
 * names no database otherwise); Halo: its API's address and hosted tenant.
 */
export function psaSite(kind: PsaKind, settings: Record<string, unknown>): string {
  switch (kind) {
    case 'connectwise': {
      let site = address(settings.siteUrl);
      try {
        site = apiOrigin(String(settings.siteUrl)).toLowerCase();
      } catch {
        // Not an address: compared as typed.
      }
      return JSON.stringify([kind, site, text(settings.companyId)]);
    }
    case 'autotask':
      return JSON.stringify([kind, text(settings.userName), address(settings.zoneLookupUrl)]);
    case 'halo': {
      const api = settings.apiUrl ?? `${String(settings.url).replace(/\/+$/, '')}/api`;
      return JSON.stringify([kind, address(api), text(settings.tenant)]);
    }
  }
}
