import { randomUUID } from 'node:crypto';
import { parseRetryAfter } from '../http-client.js';
import { stepSentences, type CallScope } from './error-table.js';
import { httpFailureError, MicrosoftError, answerJson, unexpectedAnswer } from './errors.js';
import { graphResourceUnits } from './graph-costs.js';
import type { HttpAnswer, MicrosoftHttp } from './http.js';

export interface GraphPage<T> {
  value: T[];
  '@odata.count'?: number;
  '@odata.nextLink'?: string;
}

export interface GraphRequestOptions {
  /** Advanced queries ($count, $filter on assignedLicenses, endswith) need it. */
  eventual?: boolean;
  /**
   * Called before each request with its cost in Microsoft's resource units (0 outside the
   * identity and access service), e.g. to wait for its pacing slot.
   */
  beforeRequest?: (resourceUnits: number) => Promise<void>;
}

/** Microsoft Graph v1.0 over our HTTP client; failures are thrown classified. */
export class GraphClient {
  constructor(
    private readonly http: MicrosoftHttp,
    private readonly baseUrl: string,
  ) {}

  private async request(
    url: string,
    accessToken: string,
    scope: CallScope,
    options: GraphRequestOptions,
  ): Promise<string> {
    const response = await this.send(url, accessToken, scope, options);
    return response.body;
  }

  /** One Graph call; a success (or a redirect, when `redirect`) is returned, anything else thrown. */
  private async send(
    url: string,
    accessToken: string,
    scope: CallScope,
    options: GraphRequestOptions,
    redirect = false,
    write?: { method: 'PATCH'; body: unknown; headers: Record<string, string> },
  ): Promise<HttpAnswer> {
    await options.beforeRequest?.(graphResourceUnits(write?.method ?? 'GET', url));
    const response = await this.http.request({
      url,
      method: write?.method ?? 'GET',
      headers: {
        Authorization: `Bearer ${accessToken}`,
        Accept: 'application/json, text/plain',
        'client-request-id': randomUUID(),
        ...(options.eventual ? { ConsistencyLevel: 'eventual' } : {}),
        ...(write ? { 'Content-Type': 'application/json', ...write.headers } : {}),
      },
      body: write ? JSON.stringify(write.body) : undefined,
    });
    if (response.status >= 200 && response.status < 300) return response;
    if (redirect && response.status === 302) return response;
    let code: string | undefined;
    try {
      const body = JSON.parse(response.body) as { error?: { code?: unknown } };
      if (typeof body.error?.code === 'string') code = body.error.code;
    } catch {
      // No JSON body: the status alone classifies it.
    }
    throw httpFailureError(
      {
        service: 'graph',
        status: response.status,
        code,
        retryAfterMs: parseRetryAfter(response.headers['retry-after']),
      },
      scope,
    );
  }

  async get<T>(
    path: string,
    accessToken: string,
    scope: CallScope,
    options: GraphRequestOptions = {},
  ): Promise<T> {
    return answerJson<T>(
      'graph',
      await this.request(`${this.baseUrl}/v1.0${path}`, accessToken, scope, options),
      path,
    );
  }

  /** A PATCH of one resource (`headers` such as If-Match); returns the resource Graph answers. */
  async patch<T>(
    path: string,
    accessToken: string,
    body: unknown,
    headers: Record<string, string>,
    scope: CallScope,
    options: GraphRequestOptions = {},
  ): Promise<T> {
    const response = await this.send(
      `${this.baseUrl}/v1.0${path}`,
      accessToken,
      scope,
      options,
      false,
      {
        method: 'PATCH',
        body,
        headers,
      },
    );
    return answerJson<T>('graph', response.body, path);
  }

  /** A `$count` segment: Graph answers it as text/plain. */
  async count(
    path: string,
    accessToken: string,
    scope: CallScope,
    options: GraphRequestOptions = {},
  ): Promise<number> {
    const text = await this.request(`${this.baseUrl}/v1.0${path}`, accessToken, scope, {
      ...options,
      eventual: true,
    });
    const count = Number(text.trim());
    if (!Number.isInteger(count))
      throw unexpectedAnswer('graph', `Graph answered ${path} with "${text}"`);
    return count;
  }

  /**
   * A usage report (v1.0 answers CSV only): Graph answers 302 to a pre-authenticated, short-
   * lived download, which is fetched over HTTPS only and without the Authorization header:
   * the bearer token never leaves Graph. Returns the file's text.
   */
  async report(
    path: string,
    accessToken: string,
    scope: CallScope,
    options: GraphRequestOptions = {},
  ): Promise<string> {
    const url = `${this.baseUrl}/v1.0${path}`;
    const answer = await this.send(url, accessToken, scope, options, true);
    if (answer.status !== 302) return answer.body;
    const location = answer.headers.location;
    const download = location ? new URL(location, url) : undefined;
    if (download?.protocol !== 'https:') {
      throw unexpectedAnswer(
        'graph',
        `Graph's report download is not an https URL: ${download?.origin ?? 'none'}`,
      );
    }
    const file = await this.http.request({
      method: 'GET',
      url: download.toString(),
      headers: { Accept: 'text/csv, application/octet-stream' },
    });
    if (file.status >= 200 && file.status < 300) return file.body;
    // The link lasts minutes: a new report request gets a new one.
    throw new MicrosoftError({
      kind: 'transient',
      service: 'graph',
      code: `report_download_${file.status}`,
      message: stepSentences.reportDownloadFailed(file.status),
    });
  }

  /**
   * Every page of a collection: follows @odata.nextLink whole, sending the same headers again
   * (Graph does not carry ConsistencyLevel over). Returns the items and the first page's count.
   */
  async all<T>(
    path: string,
    accessToken: string,
    scope: CallScope,
    options: GraphRequestOptions = {},
  ): Promise<{ items: T[]; count: number | undefined }> {
    const items: T[] = [];
    let url: string | undefined = `${this.baseUrl}/v1.0${path}`;
    let count: number | undefined;
    while (url) {
      const page: GraphPage<T> = answerJson<GraphPage<T>>(
        'graph',
        await this.request(url, accessToken, scope, options),
        path,
      );
      count ??= page['@odata.count'];
      items.push(...page.value);
      url = page['@odata.nextLink'];
      // The token goes with the link: only ever to Graph itself.
      if (url && new URL(url).origin !== new URL(this.baseUrl).origin) {
        throw unexpectedAnswer(
          'graph',
          `Graph's next link leaves ${this.baseUrl}: ${new URL(url).origin}`,
        );
      }
    }
    return { items, count };
  }
}
