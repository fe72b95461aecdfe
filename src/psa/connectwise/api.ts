import type { AxiosInstance, AxiosResponse } from 'axios';
import { z } from 'zod';
import { TransportError } from '../../http-client.js';
import type { PsaRequestHooks } from '../client.js';
import { PsaError } from '../errors.js';
import { apiOrigin, type ConnectwiseConnection } from './connection.js';
import { connectwiseError } from './errors.js';

// One ConnectWise site over HTTP: the codebase read from /login/companyinfo (and read again
// once when a call answers 404, as an upgrade moves it), the headers every call carries,
// and list paging.

const companyInfoSchema = z.object({
  CompanyName: z.string().optional(),
  Codebase: z.string().regex(/\/$/),
  VersionCode: z.string().optional(),
});
export type CompanyInfo = z.infer<typeof companyInfoSchema>;

interface Call {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  query?: Record<string, string>;
  body?: unknown;
  /** The API object, for the pacing hooks. */
  entity: string;
}

export class ConnectwiseApi {
  private readonly origin: string;
  private codebase: Promise<CompanyInfo> | undefined;

  constructor(
    private readonly connection: ConnectwiseConnection,
    private readonly http: AxiosInstance,
    private readonly hooks: PsaRequestHooks = {},
  ) {
    this.origin = apiOrigin(connection.siteUrl);
  }

  /** GET /login/companyinfo/{companyId}: the site's codebase; no credentials are sent. */
  companyInfo(): Promise<CompanyInfo> {
    this.codebase ??= this.readCompanyInfo().catch((error: unknown) => {
      this.codebase = undefined;
      throw error;
    });
    return this.codebase;
  }

  private async readCompanyInfo(): Promise<CompanyInfo> {
    const url = `${this.origin}/login/companyinfo/${encodeURIComponent(this.connection.companyId)}`;
    const res = await this.send('companyinfo', () => this.http.get<string>(url));
    let body: unknown;
    try {
      body = JSON.parse(res.data);
    } catch {
      body = undefined;
    }
    if (res.status === 200 && body === null)
      throw new PsaError(
        'credentials',
        `The company id "${this.connection.companyId}" is not known at ${this.origin}.`,
        res.status,
      );
    const info = companyInfoSchema.safeParse(body);
    if (res.status !== 200 || !info.success) {
      if (res.status === 429 || res.status >= 500)
        throw connectwiseError(
          res.status,
          res.data,
          res.headers['retry-after'] as string | undefined,
        );
      throw new PsaError(
        'not_found',
        `${this.origin} does not answer as a ConnectWise PSA site (HTTP ${res.status} from /login/companyinfo).`,
        res.status,
      );
    }
    return info.data;
  }

  /** One API call; parses the JSON answer, throws a PsaError for any status >= 400. */
  async call<T = unknown>(
    path: string,
    call: Call,
  ): Promise<{ data: T; headers: AxiosResponse['headers'] }> {
    let info = await this.companyInfo();
    let res = await this.once(info.Codebase, path, call);
    if (res.status === 404) {
      // An upgrade moves the codebase: read it again, once, and retry only if it moved.
      this.codebase = undefined;
      const fresh = await this.companyInfo();
      if (fresh.Codebase !== info.Codebase) {
        info = fresh;
        res = await this.once(info.Codebase, path, call);
      }
    }
    if (res.status >= 400)
      throw connectwiseError(
        res.status,
        res.data,
        res.headers['retry-after'] as string | undefined,
      );
    let data: unknown;
    try {
      data = res.data === '' ? undefined : JSON.parse(res.data);
    } catch {
      throw new PsaError(
        'transient',
        `ConnectWise answered ${path} with a body that is not JSON.`,
        res.status,
      );
    }
    return { data: data as T, headers: res.headers };
  }

  /** Every record of a list, page after page (page numbers, ordered by id). */
  async listAll(path: string, query: Record<string, string>, entity: string): Promise<unknown[]> {
    const rows: unknown[] = [];
    const pageSize = this.connection.pageSize;
    for (let page = 1; ; page += 1) {
      const { data, headers } = await this.call<unknown>(path, {
        entity,
        query: { ...query, orderBy: 'id asc', pageSize: String(pageSize), page: String(page) },
      });
      if (!Array.isArray(data))
        throw new PsaError(
          'transient',
          `ConnectWise answered ${path} with something other than a list.`,
        );
      rows.push(...(data as unknown[]));
      const link = typeof headers.link === 'string' ? headers.link : '';
      // The Link header says when more follow; a full page without one is read on, to be safe.
      if (data.length === 0 || (!/rel="next"/.test(link) && data.length < pageSize)) return rows;
    }
  }

  private once(codebase: string, path: string, call: Call) {
    const { companyId, publicKey, privateKey, clientId, apiVersion } = this.connection;
    const url = new URL(`${this.origin}/${codebase}apis/3.0${path}`);
    for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v);
    return this.send(call.entity, () =>
      this.http.request<string>({
        method: call.method ?? 'GET',
        url: url.toString(),
        headers: {
          Authorization: `Basic ${Buffer.from(`${companyId}+${publicKey}:${privateKey}`).toString('base64')}`,
          clientId,
          Accept: `application/vnd.connectwise.com+json; version=${apiVersion}`,
          ...(call.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(call.body === undefined ? {} : { data: JSON.stringify(call.body) }),
      }),
    );
  }

  /** Runs a request inside the pacing hooks; a request that got no answer is transient. */
  private async send(entity: string, request: () => Promise<AxiosResponse<string>>) {
    const release = await this.hooks.acquire?.(entity);
    try {
      return await request();
    } catch (error) {
      if (error instanceof TransportError)
        throw new PsaError('transient', `${error.message} (ConnectWise ${entity})`);
      throw error;
    } finally {
      release?.();
    }
  }
}
