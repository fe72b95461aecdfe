import {
  ConfidentialClientApplication,
  type AuthenticationResult,
  type ICachePlugin,
} from '@azure/msal-node';
import type { MicrosoftHttp } from './http.js';
import type { Config } from '../../config/index.js';
import { customLicensePermissions } from '../domain/custom-licenses.js';
import type { CachePartition, TokenCacheStore } from '../store/token-cache.js';
import { authorityFor, knownAuthoritiesFor } from './authority.js';
import { CustomerTenantSignIn, MsalNoTokens } from './customer-tenant-sign-in.js';
import { msalNetworkModule } from './msal-network.js';
import { withoutCustomerTenantTokens } from './token-cache-pruning.js';

/** Resource URIs are the real ones in every cloud we talk to, the emulator included. */
const partnerCenterResource = 'https://api.partnercenter.microsoft.com';
export const partnerCenterScope = `${partnerCenterResource}/user_impersonation`;
/**
 * Graph permissions the Partner Center consent asks for beside it: "Read your profile";
 * "Read group memberships", the least privileged permission under which Graph returns the
 * names of the user's groups (with User.Read alone it returns ids only), to check the
 * AdminAgents membership and which GDAP groups the account is in; and "Manage Delegated Admin
 * relationships", to read each customer's GDAP relationships and turn on their auto-extend
 * (Read.All cannot change a relationship, and nothing less reads them).
 */
const partnerConsentGraphPermissions = [
  'User.Read',
  'GroupMember.Read.All',
  'DelegatedAdminRelationship.ReadWrite.All',
] as const;

/** amr values that prove MFA: mfa, and ngcmfa (Windows Hello for Business: "equivalent to mfa"). */
export function signedInWithMfa(amr: readonly string[] | undefined): boolean {
  return amr?.includes('mfa') === true || amr?.includes('ngcmfa') === true;
}

/** An access token this close to expiry is renewed, as MSAL does. Default: 5 minutes */
const renewalMarginMs = 5 * 60_000;

/** Runs `fn` holding a lock shared by every process; rejects if the lock was lost meanwhile. */
export type PartitionLock = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

export interface AuthorizeRequest {
  /** What the consent is for. Default: partner_center */
  kind?: 'partner_center' | 'custom_license';
  /** The partner's tenant, the only one whose accounts may sign in. Default: organizations */
  tenantId?: string | null | undefined;
  state: string;
  nonce: string;
  codeChallenge: string;
  loginHint?: string | undefined;
}

/**
 * MSAL for this service: one ConfidentialClientApplication per consent, each with its own
 * encrypted cache partition in PostgreSQL, so partners' tokens never mix and every refresh
 * token rotated in the home tenant is written back as soon as MSAL changes the cache.
 */
export class MicrosoftIdentity {
  readonly redirectUri: string;
  /** The app (client) id: what Partner Center consents in customer tenants. */
  readonly clientId: string;

  /** Every Graph permission the custom-license token holds, in one request (this cloud's Graph). */
  readonly graphDefaultScope: string;
  /** What the custom-license consent asks for. */
  readonly customLicenseScopes: string[];
  /** What the Partner Center consent asks for in Graph, beside Partner Center (this cloud's Graph). */
  readonly partnerConsentGraphScopes: string[];

  constructor(
    private readonly config: Config,
    private readonly http: MicrosoftHttp,
    private readonly cache: TokenCacheStore,
    /** Serializes token refreshes of one partition across every worker process. */
    private readonly lock: PartitionLock,
  ) {
    this.redirectUri = `${config.publicUrl}/auth/callback`;
    this.clientId = config.microsoft.clientId;
    const graph = config.microsoft.endpoints.graphResource;
    this.graphDefaultScope = `${graph}/.default`;
    this.customLicenseScopes = customLicensePermissions.map((p) => `${graph}/${p}`);
    this.partnerConsentGraphScopes = partnerConsentGraphPermissions.map((p) => `${graph}/${p}`);
    this.customerTenants = new CustomerTenantSignIn(cache, this.createApp(), (tenant) =>
      this.authority(tenant),
    );
  }

  /** Customer-tenant sign-ins: outside the partition, so neither locked nor saved. */
  private readonly customerTenants: CustomerTenantSignIn;

  authority(tenant: string): string {
    return authorityFor(this.config.microsoft.endpoints, tenant);
  }

  /** Apps per partition, kept so MSAL's authority metadata is fetched once, not per call. */
  private readonly apps = new Map<string, ConfidentialClientApplication>();

  /** An MSAL app for one consent's partition, or (no partition) with an in-memory cache. */
  app(partition?: CachePartition): ConfidentialClientApplication {
    if (!partition) return this.createApp();
    const key = `${partition.delegatedAdminId}:${partition.purpose}`;
    let app = this.apps.get(key);
    if (!app) {
      if (this.apps.size >= 1_000) this.apps.delete(this.apps.keys().next().value!);
      app = this.createApp(partition);
      this.apps.set(key, app);
    }
    return app;
  }

  private createApp(partition?: CachePartition): ConfidentialClientApplication {
    // The version read before MSAL's work, which a save must still find (calls on one
    // partition run one at a time, under its lock).
    let loaded: number | 'new' = 'new';
    const cachePlugin: ICachePlugin | undefined = partition && {
      beforeCacheAccess: async (context) => {
        const stored = await this.cache.load(partition);
        loaded = stored?.version ?? 'new';
        if (stored) context.tokenCache.deserialize(stored.serialized);
      },
      afterCacheAccess: async (context) => {
        if (context.cacheHasChanged) {
          const serialized = withoutCustomerTenantTokens(context.tokenCache.serialize());
          loaded = await this.cache.save(partition, serialized, loaded);
        }
      },
    };
    return new ConfidentialClientApplication({
      auth: {
        clientId: this.config.microsoft.clientId,
        clientSecret: this.config.microsoft.clientSecret,
        authority: this.authority('organizations'),
        knownAuthorities: knownAuthoritiesFor(this.config.microsoft.endpoints),
      },
      ...(cachePlugin ? { cache: { cachePlugin } } : {}),
      system: { networkClient: msalNetworkModule(this.http) },
    });
  }

  /**
   * An access token from a consent's partition, for its home tenant or a customer tenant.
   * Home tenant: the partition is locked meanwhile, as a refresh rotates the refresh token and
   * the next worker must read the rotated one. Customer tenant: the stored refresh token is
   * read and redeemed there without the lock, keeping nothing but the access token in memory
   * (CustomerTenantSignIn). Failures are MSAL errors, for classifyMicrosoftError.
   * `forceRefresh` redeems the refresh token even when an access token is cached: a use that
   * restarts the token's 90-day inactivity clock.
   */
  async accessToken(
    partition: CachePartition,
    scopes: string[],
    tenantId?: string,
    options: { forceRefresh?: boolean } = {},
  ): Promise<{ accessToken: string; result: AuthenticationResult }> {
    const partitionKey = `${partition.delegatedAdminId}:${partition.purpose}`;
    const memoKey = `${partitionKey}|${tenantId ?? ''}|${scopes.join(' ')}`;
    const memo = this.recentTokens.get(memoKey);
    if (memo && !options.forceRefresh && memo.expiresAt - Date.now() > renewalMarginMs) {
      return { ...memo.token, result: { ...memo.token.result, fromCache: true } };
    }
    const result = tenantId
      ? await this.customerTenants.signIn(partition, scopes, tenantId)
      : await this.lock(`tokens:${partitionKey}`, async () => {
          const app = this.app(partition);
          const [account] = await app.getTokenCache().getAllAccounts();
          if (!account) throw new MsalNoTokens();
          return app.acquireTokenSilent({
            account,
            scopes,
            ...(options.forceRefresh ? { forceRefresh: true } : {}),
          });
        });
    const token = { accessToken: result.accessToken, result };
    if (result.expiresOn) {
      if (this.recentTokens.size >= 1_000) {
        this.recentTokens.delete(this.recentTokens.keys().next().value!);
      }
      this.recentTokens.set(memoKey, { token, expiresAt: result.expiresOn.getTime() });
    }
    return token;
  }

  /**
   * Signs in to `tenantId` with the partition's refresh token, for what the answer says (GDAP,
   * the app's consent there), keeping nothing, not even the access token. Failures are MSAL
   * errors.
   */
  async trySignIn(partition: CachePartition, scopes: string[], tenantId: string): Promise<void> {
    await this.customerTenants.signIn(partition, scopes, tenantId);
  }

  /**
   * Access tokens this process obtained, by partition, tenant and scopes: the only place a
   * customer tenant's token is kept, and for the home tenant a shortcut past loading and
   * decrypting the partition under its lock.
   */
  private readonly recentTokens = new Map<
    string,
    { token: { accessToken: string; result: AuthenticationResult }; expiresAt: number }
  >();

  /**
   * The URL the partner's admin is sent to. prompt=select_account: the account that consents
   * decides the domain match and must be an Admin Agent with MFA, so the admin chooses it
   * deliberately instead of MSAL reusing whatever session the browser has; `consent` would
   * force the consent screen on every re-grant, and `login` would discard a fresh MFA session.
   * When the caller names the account (loginHint) the choice is made already: no prompt, and
   * MSAL then sends the hint (it drops login_hint under select_account).
   */
  authorizeUrl(request: AuthorizeRequest): Promise<string> {
    const custom = request.kind === 'custom_license';
    return this.app().getAuthCodeUrl({
      ...(request.tenantId ? { authority: this.authority(request.tenantId) } : {}),
      scopes: custom ? this.customLicenseScopes : [partnerCenterScope],
      ...(custom ? {} : { extraScopesToConsent: this.partnerConsentGraphScopes }),
      redirectUri: this.redirectUri,
      state: request.state,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
      codeChallengeMethod: 'S256',
      responseMode: 'query',
      ...(request.loginHint ? { loginHint: request.loginHint } : { prompt: 'select_account' }),
    });
  }
}
