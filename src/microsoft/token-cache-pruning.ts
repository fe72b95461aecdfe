/**
 * A partition's serialized MSAL cache without the access and ID tokens of tenants other than
 * the account's home tenant. Customer-tenant tokens are no longer taken through the partition,
 * but caches saved while they were may still hold one per customer: kept, every token call would
 * load, decrypt, encrypt and save all of them under the partition's lock. The refresh token
 * and the home tenant's tokens stay; a customer tenant's token lives in memory only
 * (MicrosoftIdentity's recent tokens).
 */
export function withoutCustomerTenantTokens(serialized: string): string {
  const cache = JSON.parse(serialized) as Record<string, unknown>;
  let pruned = false;
  for (const section of ['AccessToken', 'IdToken', 'Account']) {
    const entries = cache[section] as Record<string, CacheEntry> | undefined;
    if (!entries) continue;
    for (const [key, entry] of Object.entries(entries)) {
      if (isForeign(entry)) {
        delete entries[key];
        pruned = true;
      }
    }
  }
  return pruned ? JSON.stringify(cache) : serialized;
}

interface CacheEntry {
  home_account_id?: string;
  realm?: string;
}

/** An entry of a tenant other than its account's home tenant (`{oid}.{tid}`). */
function isForeign({ home_account_id: home, realm }: CacheEntry): boolean {
  const homeTenant = home?.split('.')[1];
  return Boolean(homeTenant && realm && realm.toLowerCase() !== homeTenant.toLowerCase());
}
