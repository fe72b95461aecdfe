import { AuthError, ConfidentialClientApplication, type ICachePlugin } from '@azure/msal-node';
import type { MicrosoftHttp } from './http.js';
import type { Config } from '../../config/index.js';
import { customLicensePermissions } from '../domain/custom-licenses.js';
import type { CachePartition, TokenCacheStore } from '../store/token-cache.js';
import { authorityFor, knownAuthoritiesFor } from './authority.js';
import { CustomerTenantSignIn, MsalNoTokens } from './customer-tenant-sign-in.js';
import { identityRule, type IdentityScope } from './error-table.js';
import { msalNetworkModule } from './msal-network.js';
import { withoutCustomerTenantTokens } from './token-cache-pruning.js';
import { TokenMemory, type IssuedToken } from './token-memory.js';

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

const partitionKeyOf = (p: CachePartition) => `${p.delegatedAdminId}:${p.purpose}`;

/** A partition's MSAL app; `reload` makes its next cache access read the stored partition. */
interface PartitionApp {
  app: ConfidentialClientApplication;
  reload: () => void;
}

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
    this.customerTenants = new CustomerTenantSignIn(cache, this.createApp().app, (tenant) =>
      this.authority(tenant),
    );
  }

  /** Customer-tenant sign-ins: outside the partition, so neither locked nor saved. */
  private readonly customerTenants: CustomerTenantSignIn;

  authority(tenant: string): string {
    return authorityFor(this.config.microsoft.endpoints, tenant);
  }

  /** Apps per partition, kept so MSAL's authority metadata is fetched once, not per call. */
  private readonly apps = new Map<string, PartitionApp>();

  /** An MSAL app for one consent's partition, or (no partition) with an in-memory cache. */
  app(partition?: CachePartition): ConfidentialClientApplication {
    return partition ? this.partitionApp(partition).app : this.createApp().app;
  }

  private partitionApp(partition: CachePartition): PartitionApp {
    const key = partitionKeyOf(partition);
    let app = this.apps.get(key);
    if (!app) {
      if (this.apps.size >= 1_000) this.apps.delete(this.apps.keys().next().value!);
      app = this.createApp(partition);
      this.apps.set(key, app);
    }
    return app;
  }

  private createApp(partition?: CachePartition): PartitionApp {
    // The version read before MSAL's work, which a save must still find (calls on one
    // partition run one at a time, under its lock).
    let loaded: number | 'new' = 'new';
    // Whether MSAL's memory holds the stored cache: from the first access of a locked call
    // on, so its second access (acquireTokenSilent after getAllAccounts) reads nothing again.
    let current = false;
    const cachePlugin: ICachePlugin | undefined = partition && {
      beforeCacheAccess: async (context) => {
        if (current) return;
        const stored = await this.cache.load(partition);
        loaded = stored?.version ?? 'new';
        if (stored) context.tokenCache.deserialize(stored.serialized);
        current = true;
      },
      afterCacheAccess: async (context) => {
        if (context.cacheHasChanged) {
          const serialized = withoutCustomerTenantTokens(context.tokenCache.serialize());
          current = false; // until saved: a failed save leaves MSAL's memory unsaved
          loaded = await this.cache.save(partition, serialized, loaded);
          current = true;
        }
      },
    };
    const app = new ConfidentialClientApplication({
      auth: {
        clientId: this.config.microsoft.clientId,
        clientSecret: this.config.microsoft.clientSecret,
        authority: this.authority('organizations'),
        knownAuthorities: knownAuthoritiesFor(this.config.microsoft.endpoints),
      },
      ...(cachePlugin ? { cache: { cachePlugin } } : {}),
      system: { networkClient: msalNetworkModule(this.http) },
    });
    // Another process may have rotated the refresh token since this one last held the lock.
    return { app, reload: () => (current = false) };
  }

  /**
   * An access token from a consent's partition, for its home tenant or a customer tenant,
   * from memory while one this process obtained is valid for more than the renewal margin.
   * Otherwise, home tenant: the partition is locked meanwhile, as a refresh rotates the
   * refresh token, which is saved before the lock is let go, and the next worker must read
   * the rotated one. Customer tenant: the stored refresh token is read and redeemed there
   * without the lock (CustomerTenantSignIn). Failures are MSAL errors, for
   * classifyMicrosoftError; one that says the consent is no longer accepted also drops
   * everything this process kept of the partition.
   * `forceRefresh` redeems the refresh token even when an access token is kept: a use that
   * restarts the token's 90-day inactivity clock, and a check that the consent still holds.
   */
  async accessToken(
    partition: CachePartition,
    scopes: string[],
    tenantId?: string,
    options: { forceRefresh?: boolean } = {},
  ): Promise<IssuedToken> {
    const partitionKey = partitionKeyOf(partition);
    const key = TokenMemory.key(partitionKey, scopes, tenantId);
    const kept = options.forceRefresh ? undefined : this.memory.token(key);
    if (kept) return { ...kept, result: { ...kept.result, fromCache: true } };
    const result = await this.forgettingRefused(
      partitionKey,
      tenantId ? 'customer' : 'partner',
      tenantId
        ? this.customerTenants.signIn(partition, scopes, tenantId)
        : this.lock(`tokens:${partitionKey}`, async () => {
            const { app, reload } = this.partitionApp(partition);
            reload();
            const [account] = await app.getTokenCache().getAllAccounts();
            if (!account) throw new MsalNoTokens();
            return app.acquireTokenSilent({
              account,
              scopes,
              ...(options.forceRefresh ? { forceRefresh: true } : {}),
            });
          }),
    );
    const token = { accessToken: result.accessToken, result };
    this.memory.remember(key, result.expiresOn, token);
    return token;
  }

  /**
   * Signs in to `tenantId` with the partition's refresh token, for what the answer says (GDAP,
   * the app's consent there). Only the sign-in's expiry is kept, not its token: until then a
   * sign-in with the same partition and scopes is known to succeed and is not made again
   * (nor the partition read). Failures are MSAL errors.
   */
  async trySignIn(partition: CachePartition, scopes: string[], tenantId: string): Promise<void> {
    const partitionKey = partitionKeyOf(partition);
    const key = TokenMemory.key(partitionKey, scopes, tenantId);
    if (this.memory.signedIn(key)) return;
    const result = await this.forgettingRefused(
      partitionKey,
      'customer',
      this.customerTenants.signIn(partition, scopes, tenantId),
    );
    this.memory.remember(key, result.expiresOn);
  }

  /** `call`'s result; a failure that needs a new consent first drops the partition's tokens. */
  private async forgettingRefused<T>(
    partitionKey: string,
    scope: IdentityScope,
    call: Promise<T>,
  ): Promise<T> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof AuthError && identityRule(error, scope).kind === 'needs_reconsent') {
        this.memory.forget(partitionKey);
      }
      throw error;
    }
  }

  /** Tokens this process obtained: the only place a customer tenant's token is kept. */
  private readonly memory = new TokenMemory(renewalMarginMs);

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
