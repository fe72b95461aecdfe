import type { AxiosInstance } from 'axios';
import type { PsaRequestHooks } from '../client.js';
import { PsaError } from '../errors.js';
import type { AutotaskConnection } from './connection.js';
import { autotaskMessages, classifyAutotaskAnswer, classifyAutotaskFailure } from './errors.js';

// One Autotask database over REST: the zone lookup (cached; looked up again once when a call
// is refused with 401, as the database may have moved), the three credential headers on every
// call, queries followed to their last page, and creates.

export type Row = Record<string, unknown>;
export interface Condition {
  op: string;
  field?: string;
  value?: unknown;
  items?: Condition[];
}
export interface Zone {
  zoneName: string;
  /** Base of the zone's REST API, ending in a slash: https://webservices5.autotask.net/atservicesrest/ */
  url: string;
}
interface QueryPage {
  items: Row[];
  pageDetails?: { nextPageUrl?: string | null };
}

export class AutotaskApi {
  private zone: Promise<Zone> | undefined;

  constructor(
    private readonly connection: AutotaskConnection,
    private readonly http: AxiosInstance,
    private readonly hooks: PsaRequestHooks = {},
  ) {}

  /** The user's zone, looked up once and then reused. */
  currentZone(): Promise<Zone> {
    this.zone ??= this.lookUpZone().catch((error: unknown) => {
      this.zone = undefined;
      throw error;
    });
    return this.zone;
  }

  private async lookUpZone(): Promise<Zone> {
    const url = `${this.connection.zoneLookupUrl}v1.0/zoneInformation?user=${encodeURIComponent(this.connection.userName)}`;
    const res = await this.paced('ZoneInformation', () => this.http.get<string>(url));
    const body = parseJson(res.data);
    if (res.status === 200 && isZone(body))
      return { zoneName: body.zoneName, url: withSlash(body.url) };
    if (res.status === 500 && autotaskMessages(res.data).length > 0)
      throw new PsaError(
        'credentials',
        `Autotask found no zone for the API user (${autotaskMessages(res.data).join(' ')})`,
        500,
      );
    throw new PsaError(
      res.status >= 500 ? 'transient' : 'credentials',
      `The zone lookup at ${this.connection.zoneLookupUrl} did not answer as Autotask does (HTTP ${res.status}).`,
      res.status,
    );
  }

  /** One call on the zone: `path` under …/v1.0/, or an absolute URL the zone gave (a next page). */
  async call<T>(method: 'GET' | 'POST', path: string, entity: string, body?: unknown): Promise<T> {
    const zone = await this.currentZone();
    const first = await this.send(method, this.resolve(zone, path), entity, body);
    if (first.status !== 401) return this.answer<T>(first, method, path);
    // The database may have moved to another zone: look it up again, once.
    this.zone = undefined;
    const moved = await this.currentZone();
    if (moved.url === zone.url) return this.answer<T>(first, method, path);
    const rebased = path.startsWith(zone.url) ? moved.url + path.slice(zone.url.length) : path;
    return this.answer<T>(
      await this.send(method, this.resolve(moved, rebased), entity, body),
      method,
      path,
    );
  }

  /** Every record the query matches, following nextPageUrl with the same method and body. */
  async query(entity: string, filter: Condition[], includeFields?: string[]): Promise<Row[]> {
    const body = {
      MaxRecords: this.connection.pageSize,
      ...(includeFields ? { IncludeFields: includeFields } : {}),
      filter,
    };
    const zone = await this.currentZone();
    const rows: Row[] = [];
    let path: string | null | undefined = `${entity}/query`;
    while (path) {
      const page: QueryPage = await this.call<QueryPage>('POST', path, entity, body);
      if (!Array.isArray(page.items))
        throw new PsaError('transient', `Autotask answered a ${entity} query without items.`);
      rows.push(...page.items);
      path = page.pageDetails?.nextPageUrl;
      // The next page carries our credentials: it must be on the zone we looked up.
      if (path && new URL(path).origin !== new URL(zone.url).origin)
        throw new PsaError(
          'transient',
          `Autotask gave a next page on another host (${new URL(path).host}).`,
        );
    }
    return rows;
  }

  /** Creates a record; answers the id Autotask gave it. */
  async create(path: string, entity: string, record: Row): Promise<string> {
    const answer = await this.call<{ itemId?: unknown }>('POST', path, entity, record);
    if (typeof answer.itemId !== 'number' && typeof answer.itemId !== 'string')
      throw new PsaError('transient', `Autotask answered the ${entity} create without an itemId.`);
    return String(answer.itemId);
  }

  private resolve(zone: Zone, path: string): string {
    return /^https?:\/\//.test(path) ? path : `${zone.url}v1.0/${path}`;
  }

  private send(method: 'GET' | 'POST', url: string, entity: string, body: unknown) {
    const headers: Record<string, string> = {
      ApiIntegrationCode: this.connection.integrationCode,
      UserName: this.connection.userName,
      Secret: this.connection.secret,
      'Content-Type': 'application/json',
    };
    if (this.connection.impersonationResourceId !== undefined)
      headers.ImpersonationResourceId = String(this.connection.impersonationResourceId);
    return this.paced(entity, () =>
      this.http.request<string>({
        method,
        url,
        headers,
        ...(body === undefined ? {} : { data: JSON.stringify(body) }),
      }),
    );
  }

  private answer<T>(
    res: { status: number; data: string; headers: Row },
    method: string,
    path: string,
  ): T {
    if (res.status >= 200 && res.status < 300) {
      const body = parseJson(res.data);
      if (body === undefined)
        throw new PsaError('transient', 'Autotask answered with something other than JSON.');
      return body as T;
    }
    const retryAfter = res.headers['retry-after'];
    throw classifyAutotaskAnswer({
      status: res.status,
      body: res.data,
      retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
      write: method === 'POST' && !/\/query(\/|$|\?)/i.test(path),
    });
  }

  private async paced<T>(entity: string, request: () => Promise<T>): Promise<T> {
    const release = await this.hooks.acquire?.(entity);
    try {
      return await request();
    } catch (error) {
      throw classifyAutotaskFailure(error);
    } finally {
      release?.();
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isZone(v: unknown): v is Zone {
  return typeof v === 'object' && v !== null && typeof (v as Zone).url === 'string';
}

const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);
