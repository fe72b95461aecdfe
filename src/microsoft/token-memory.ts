import type { AuthenticationResult } from '@azure/msal-node';

/** An access token as MicrosoftIdentity hands it out. */
export interface IssuedToken {
  accessToken: string;
  result: AuthenticationResult;
}

interface Remembered {
  /** Absent for a customer-tenant sign-in made only to check access: nothing of it is kept. */
  token: IssuedToken | undefined;
  expiresAt: number;
}

/**
 * What this process obtained from Microsoft, per consent partition, tenant and scopes, until
 * the token's expiry minus a margin: the shortcut past loading and decrypting the partition
 * (and its lock) on every call. Entries are keyed under their partition, so a new consent (a
 * new partition) never meets its predecessor's, and a partition whose consent Microsoft no
 * longer accepts is forgotten whole.
 */
export class TokenMemory {
  /** Least recently used first. */
  private readonly entries = new Map<string, Remembered>();

  constructor(
    /** An access token this close to expiry is renewed, as MSAL does. Default: 5 minutes */
    private readonly marginMs = 5 * 60_000,
    /**
     * Entries kept, the least recently used going first: a customer tenant's sign-in is kept
     * as its expiry alone, and its token only when a caller asked for it. Default: 20,000
     */
    private readonly capacity = 20_000,
    private readonly now: () => number = Date.now,
  ) {}

  static key(partitionKey: string, scopes: readonly string[], tenantId?: string): string {
    return `${partitionKey}|${tenantId ?? ''}|${scopes.join(' ')}`;
  }

  /** The token under `key` while it has more than the margin left. */
  token(key: string): IssuedToken | undefined {
    return this.valid(key)?.token;
  }

  /** Whether a sign-in under `key` is remembered and valid, whether or not its token is kept. */
  signedIn(key: string): boolean {
    return this.valid(key) !== undefined;
  }

  remember(key: string, expiresOn: Date | null, token?: IssuedToken): void {
    if (!expiresOn) return;
    this.entries.delete(key);
    this.entries.set(key, { token, expiresAt: expiresOn.getTime() });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Drops every entry of a partition: its consent is gone or refused. */
  forget(partitionKey: string): void {
    const prefix = `${partitionKey}|`;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  private valid(key: string): Remembered | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt - this.now() <= this.marginMs) return undefined;
    this.entries.set(key, entry); // most recently used now
    return entry;
  }
}
