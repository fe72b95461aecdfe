import type { AxiosInstance, AxiosResponse } from 'axios';
import type { PsaRequestHooks } from '../client.js';
import { PsaError } from '../errors.js';
import { apiUrlOf, type HaloConnection } from './connection.js';
import { haloApiError, haloTransportError } from './errors.js';
import { HaloTokenSource } from './token.js';

// Requests to Halo's resource server: the bearer token, the pacing hook around each request,
// one renewal of a token the server refused, error classification, and full paging of lists.

export type HaloQuery = Record<string, string | number | boolean | undefined>;

export interface HaloApiOptions {
  http: AxiosInstance;
  hooks?: PsaRequestHooks | undefined;
  /** The clock tokens are timed on. Default: Date.now */
  now?: (() => number) | undefined;
}

const noPacing = () => Promise.resolve(() => undefined);

export class HaloApi {
  readonly tokens: HaloTokenSource;
  private readonly http: AxiosInstance;
  private readonly acquire: (entity: string) => Promise<() => void>;
  private readonly now: () => number;

  constructor(
    readonly connection: HaloConnection,
    options: HaloApiOptions,
  ) {
    this.http = options.http;
    this.now = options.now ?? Date.now;
    const hooks = options.hooks;
    this.acquire = hooks?.acquire ? (entity) => hooks.acquire!(entity) : noPacing;
    this.tokens = new HaloTokenSource(connection, this.http, this.now, this.acquire);
  }

  get<T>(path: string, query: HaloQuery = {}): Promise<T> {
    return this.send<T>('GET', path, query, undefined);
  }

  /** Halo writes: an array POSTed to the collection (or a line endpoint). */
  post<T>(path: string, body: unknown[]): Promise<T> {
    return this.send<T>('POST', path, {}, body);
  }

  /** Every record of a paged list: page_no from 1 until record_count is reached. */
  async list<T>(path: string, key: string, query: HaloQuery = {}): Promise<T[]> {
    const pageSize = this.connection.pageSize;
    const all: T[] = [];
    for (let page = 1; ; page += 1) {
      const body = await this.get<Record<string, unknown>>(path, {
        ...query,
        pageinate: true,
        page_size: pageSize,
        page_no: page,
      });
      const records = body[key];
      const total = body.record_count;
      if (!Array.isArray(records) || typeof total !== 'number')
        throw new PsaError('transient', `Halo answered ${path} without record_count and ${key}.`);
      all.push(...(records as T[]));
      if (records.length === 0 || page >= Math.ceil(total / pageSize)) return all;
    }
  }

  private async send<T>(method: 'GET' | 'POST', path: string, query: HaloQuery, body: unknown) {
    const token = await this.tokens.get();
    let response = await this.once(method, path, query, body, token);
    if (response.status === 401) {
      // A token Halo no longer takes (revoked, or expired early): renew it once.
      this.tokens.drop(token);
      response = await this.once(method, path, query, body, await this.tokens.get(true));
    }
    if (response.status >= 400)
      throw haloApiError(response, this.connection.rateLimitBackoffMs, this.now());
    try {
      return JSON.parse(String(response.data)) as T;
    } catch {
      throw new PsaError('transient', `Halo answered ${path} with a body that is not JSON.`);
    }
  }

  private async once(
    method: 'GET' | 'POST',
    path: string,
    query: HaloQuery,
    body: unknown,
    token: string,
  ): Promise<AxiosResponse> {
    const params = Object.fromEntries(
      Object.entries(query).filter(([, v]) => v !== undefined),
    ) as Record<string, string | number | boolean>;
    const release = await this.acquire(path.split('/')[1] ?? path);
    try {
      return await this.http.request({
        method,
        url: `${apiUrlOf(this.connection)}${path}`,
        params,
        data: body,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      });
    } catch (error) {
      throw haloTransportError(error);
    } finally {
      release();
    }
  }
}
