/**
 * A partition's serialized MSAL cache without the access and ID tokens of tenants other than
 * the account's home tenant. A custom-license run takes a token in every customer tenant:
 * kept, they would grow the cache by one entry per customer, and every later token call would
 * load, decrypt, encrypt and save all of them under the partition's lock. The refresh token
 * and the home tenant's tokens stay; a customer tenant's token is served from memory for the
 * rest of its life (MicrosoftIdentity's recent tokens) and redeemed again after that.
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
