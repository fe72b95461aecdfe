import { randomUUID } from 'node:crypto';
import { parseRetryAfter } from '../http-client.js';
import { type CallScope } from './error-table.js';
import { answerJson, httpFailureError } from './errors.js';
import type { HttpAnswer, MicrosoftHttp } from './http.js';

export interface PartnerCenterCollection<T> {
  totalCount: number;
  items: T[];
  continuationToken?: string;
  links?: { next?: { uri: string; headers?: { key: string; value: string }[] } };
}

export interface PartnerCenterCustomer {
  id: string;
  companyProfile: { tenantId: string; domain: string; companyName: string };
  relationshipToPartner?: string;
  allowDelegatedAccess?: boolean;
}

/** The Subscription fields we keep (learn.microsoft.com partner-center/developer subscription-resources). */
export interface PartnerCenterSubscription {
  id: string;
  offerId: string;
  offerName?: string;
  quantity: number;
  /** active, suspended, disabled, expired, deleted, pending, none */
  status: string;
  termDuration?: string;
  billingCycle?: string;
  commitmentEndDate?: string;
  /** New commerce only. */
  cancellationAllowedUntilDate?: string | null;
  autoRenewEnabled?: boolean;
  productType?: { id: string; displayName?: string };
  isTrial?: boolean;
}

/** get-subscription-provisioning-status: the Entra SKU a subscription provisions. */
export interface SubscriptionProvisioningStatus {
  skuId?: string;
  /** success, pending or failed */
  status?: string;
  quantity?: number;
  endDate?: string;
}

/** Partner Center REST over our HTTP client; failures are thrown classified. */
export class PartnerCenterClient {
  constructor(
    private readonly http: MicrosoftHttp,
    private readonly baseUrl: string,
  ) {}

  /**
   * A subscription's provisioning status; undefined when Partner Center does not know the
   * subscription (404), as when it was removed after the listing.
   */
  async provisioningStatus(
    customerTenantId: string,
    subscriptionId: string,
    accessToken: string,
  ): Promise<SubscriptionProvisioningStatus | undefined> {
    const path = `/customers/${customerTenantId}/subscriptions/${encodeURIComponent(subscriptionId)}/provisioningstatus`;
    const response = await this.send(path, accessToken, {});
    if (response.status === 404) return undefined;
    return this.parse<SubscriptionProvisioningStatus>(response, 'customer', path);
  }

  async get<T>(
    path: string,
    accessToken: string,
    scope: CallScope,
    headers: Record<string, string> = {},
  ): Promise<T> {
    return this.parse<T>(await this.send(path, accessToken, headers), scope, path);
  }

  /**
   * A POST creating a resource: the resource Partner Center answers, or `conflict` when one
   * exists already (409).
   */
  async create<T>(
    path: string,
    accessToken: string,
    body: unknown,
    scope: CallScope,
  ): Promise<{ created: T } | 'conflict'> {
    const response = await this.send(
      path,
      accessToken,
      { 'Content-Type': 'application/json' },
      'POST',
      body,
    );
    if (response.status === 409) return 'conflict';
    return { created: this.parse<T>(response, scope, path) };
  }

  /** A DELETE; true when done, false when Partner Center has nothing there (404). */
  async delete(path: string, accessToken: string, scope: CallScope): Promise<boolean> {
    const response = await this.send(path, accessToken, {}, 'DELETE');
    if (response.status === 404) return false;
    if (response.status >= 200 && response.status < 300) return true;
    this.parse<unknown>(response, scope, path);
    return true;
  }

  private send(
    path: string,
    accessToken: string,
    headers: Record<string, string>,
    method: 'GET' | 'POST' | 'DELETE' = 'GET',
    body?: unknown,
  ): Promise<HttpAnswer> {
    return this.http.request({
      url: `${this.baseUrl}/v1${path}`,
      method,
      headers: {
        Authorization: `Bearer ${accessToken}`,
        Accept: 'application/json',
        'MS-RequestId': randomUUID(),
        'MS-CorrelationId': randomUUID(),
        'MS-Contract-Version': 'v1',
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  private parse<T>(response: HttpAnswer, scope: CallScope, path: string): T {
    if (response.status >= 200 && response.status < 300)
      return answerJson<T>('partnerCenter', response.body, `${this.baseUrl}/v1${path}`);
    let code: string | undefined;
    try {
      const body = JSON.parse(response.body) as { code?: unknown };
      if (typeof body.code === 'number' || typeof body.code === 'string') code = String(body.code);
    } catch {
      // No JSON body: the status alone classifies it.
    }
    const retryAfter = response.headers['retry-after'];
    throw httpFailureError(
      {
        service: 'partnerCenter',
        status: response.status,
        code,
        retryAfterMs: parseRetryAfter(retryAfter),
      },
      scope,
    );
  }

  /** One page of customers (the first, or the one a continuation token names). */
  customersPage(
    accessToken: string,
    options: { size: number; continuationToken?: string },
  ): Promise<PartnerCenterCollection<PartnerCenterCustomer>> {
    return options.continuationToken
      ? this.get(`/customers?size=${options.size}&seekOperation=Next`, accessToken, 'partner', {
          'MS-ContinuationToken': options.continuationToken,
        })
      : this.get(`/customers?size=${options.size}`, accessToken, 'partner');
  }
}
