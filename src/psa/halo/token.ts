import type { AxiosInstance } from 'axios';
import { PsaError } from '../errors.js';
import { authUrlOf, type HaloConnection } from './connection.js';
import { haloTokenError, haloTransportError } from './errors.js';

// The bearer token of a connection: asked for with the client-credentials grant, cached, and
// renewed before its expires_in runs out, so no request goes out with a token about to expire.

interface CachedToken {
  value: string;
  /** On the client's clock. */
  renewAt: number;
}

export class HaloTokenSource {
  private cached: CachedToken | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly connection: HaloConnection,
    private readonly http: AxiosInstance,
    private readonly now: () => number,
    private readonly acquire: (entity: string) => Promise<() => void>,
  ) {}

  get tokenUrl(): string {
    const tenant = this.connection.tenant;
    return `${authUrlOf(this.connection)}/token${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ''}`;
  }

  /** A live token; `fresh`: never the cached one (after the API refused it). */
  async get(fresh = false): Promise<string> {
    if (fresh) this.cached = undefined;
    if (this.cached && this.now() < this.cached.renewAt) return this.cached.value;
    this.pending ??= this.request().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets a token the resource server refused. */
  drop(value: string): void {
    if (this.cached?.value === value) this.cached = undefined;
  }

  private async request(): Promise<string> {
    const { clientId, clientSecret, scope, rateLimitBackoffMs } = this.connection;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope,
    });
    const release = await this.acquire('token');
    const asked = this.now();
    let response;
    try {
      response = await this.http.post(this.tokenUrl, form.toString(), {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
      });
    } catch (error) {
      throw haloTransportError(error);
    } finally {
      release();
    }
    if (response.status !== 200) throw haloTokenError(response, this.tokenUrl, rateLimitBackoffMs);
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(String(response.data)) as typeof body;
    } catch {
      body = {};
    }
    if (typeof body.access_token !== 'string' || !body.access_token)
      throw new PsaError(
        'credentials',
        `No Halo token came from ${this.tokenUrl}: check the address.`,
      );
    const lifetimeMs = (typeof body.expires_in === 'number' ? body.expires_in : 3600) * 1000;
    // Renew a margin before expiry, but never sooner than halfway through a short lifetime.
    const marginMs = Math.min(this.connection.tokenRenewalMarginSeconds * 1000, lifetimeMs / 2);
    this.cached = { value: body.access_token, renewAt: asked + lifetimeMs - marginMs };
    return body.access_token;
  }
}
