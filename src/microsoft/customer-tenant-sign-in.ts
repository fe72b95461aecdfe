import {
  InteractionRequiredAuthError,
  type AuthenticationResult,
  type ConfidentialClientApplication,
} from '@azure/msal-node';
import type { CachePartition, TokenCacheStore } from '../store/token-cache.js';

/** The partition holds no account: MSAL's own code for it, so the table classifies it. */
export class MsalNoTokens extends InteractionRequiredAuthError {
  constructor() {
    super('no_tokens_found', "No account is stored in this consent's token cache.");
  }
}

/** A refresh token this close to its stated expiry is not redeemed, as MSAL does. */
const refreshTokenMarginSeconds = 300;

/**
 * Sign-ins to customer tenants with a consent's stored refresh token, none of which touches
 * the consent's partition: the cache is read once and never written, so no lock is needed,
 * and the partition does not grow by a token per customer tenant. The refresh token Microsoft
 * rotates at the customer tenant is dropped; the stored one stays valid (rotation revokes
 * nothing), and the home-tenant calls keep rotating and saving it under the partition's lock.
 */
export class CustomerTenantSignIn {
  constructor(
    private readonly cache: TokenCacheStore,
    /** One app for every sign-in, so MSAL fetches the authority's metadata once, not per call. */
    private readonly app: ConfidentialClientApplication,
    private readonly authority: (tenant: string) => string,
  ) {}

  /** Redeems the partition's refresh token at `tenantId`. Failures are MSAL errors. */
  async signIn(
    partition: CachePartition,
    scopes: string[],
    tenantId: string,
  ): Promise<AuthenticationResult> {
    const stored = await this.cache.load(partition);
    const refreshToken = stored && storedRefreshToken(stored.serialized);
    if (!refreshToken) throw new MsalNoTokens();
    try {
      const result = await this.app.acquireTokenByRefreshToken({
        refreshToken,
        scopes,
        authority: this.authority(tenantId),
      });
      // Typed as possibly null; MSAL answers a redeemed refresh token with a result.
      if (!result) throw new MsalNoTokens();
      return result;
    } finally {
      // The app holds no account, so MSAL stores none of the tokens it redeems here; what it
      // keeps besides (failed-request telemetry) is cleared too, its authority metadata kept.
      this.app.clearCache();
    }
  }
}

interface SerializedRefreshToken {
  secret?: string;
  expires_on?: string;
}

/** The refresh token in a serialized MSAL cache; refused as MSAL refuses an expired one. */
function storedRefreshToken(serialized: string): string | undefined {
  const { RefreshToken: tokens } = JSON.parse(serialized) as {
    RefreshToken?: Record<string, SerializedRefreshToken>;
  };
  const token = Object.values(tokens ?? {}).find((t) => t.secret);
  if (!token) return undefined;
  const expiresOn = Number(token.expires_on);
  if (expiresOn && expiresOn - refreshTokenMarginSeconds <= Date.now() / 1000) {
    throw new InteractionRequiredAuthError(
      'refresh_token_expired',
      "The refresh token in this consent's token cache has expired.",
    );
  }
  return token.secret;
}
