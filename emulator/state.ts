import { activeFault, takeFault, type Active } from './faults.js';
import { randomUUID } from 'node:crypto';
import { Directory } from './directory.js';
import type { PartnerUser } from './tenants.js';
import type { FaultSpec, Scenario } from './scenario.js';
import { TokenBucket } from './throttle.js';
import type { SigningKeys } from './tokens.js';

export type Surface = 'identity' | 'partnerCenter' | 'graph';

/** An authorization request waiting for the user to sign in and consent (HTML pages). */
export interface PendingAuthorization {
  id: string;
  tenant: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state: string | undefined;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: 'S256' | 'plain' | undefined;
  responseMode: 'query' | 'form_post';
  loginHint: string | undefined;
  prompt: string | undefined;
  upn?: string;
  createdAt: number;
}

export interface AuthorizationCodeRecord {
  code: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  user: PartnerUser;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: 'S256' | 'plain' | undefined;
  issuedAt: number;
  redeemed: boolean;
  mfa: boolean;
  amr: string[];
  authTime: number;
}

export interface RefreshTokenRecord {
  token: string;
  clientId: string;
  user: PartnerUser;
  issuedAt: number;
  mfa: boolean;
  amr: string[];
  authTime: number;
}

export interface RequestLogEntry {
  id: number;
  time: string;
  method: string;
  host: string;
  path: string;
  query: string;
  surface: Surface;
  /** Tenant in the path (identity) or of the token (Partner Center, Graph). */
  tenantId: string | undefined;
  /** The partner whose limits and counters the request counts against. */
  partnerTenantId: string | undefined;
  status: number;
  fault: boolean;
  durationMs: number;
}

export type ActiveFault = Active<FaultSpec>;

interface SurfaceCounters {
  requests: number;
  throttled: number;
}

const maxLogEntries = 200_000;
const maxIssuedPerKind = 20_000;

/** Everything the emulator remembers; replaced wholesale when a new scenario is loaded. */
export class EmulatorState {
  directory: Directory;
  /** Added to the real clock: POST /_emulator/clock ages tokens without waiting. */
  clockOffsetMs = 0;
  readonly pending = new Map<string, PendingAuthorization>();
  readonly codes = new Map<string, AuthorizationCodeRecord>();
  readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  /** Scopes each user granted each client: `${clientId}|${oid}`. */
  readonly grants = new Map<string, Set<string>>();
  readonly issued = {
    codes: [] as string[],
    accessTokens: [] as string[],
    refreshTokens: [] as string[],
    idTokens: [] as string[],
    /** PKCE verifiers clients sent: secrets of theirs, for leak scans. */
    codeVerifiers: [] as string[],
  };
  faults: ActiveFault[] = [];
  readonly log: RequestLogEntry[] = [];
  private logSeq = 0;
  readonly counters = new Map<string, Record<Surface, SurfaceCounters>>();
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    public scenario: Scenario,
    readonly keys: SigningKeys,
  ) {
    this.directory = new Directory(scenario, () => this.now());
    this.faults = scenario.faults.map((f) => activeFault(f));
  }

  /** Milliseconds since epoch on the emulator's clock. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  nowSec(): number {
    return Math.floor(this.now() / 1000);
  }

  remember(kind: keyof EmulatorState['issued'], value: string): void {
    const list = this.issued[kind];
    list.push(value);
    if (list.length > maxIssuedPerKind) list.splice(0, list.length - maxIssuedPerKind);
  }

  grant(clientId: string, oid: string, scopes: string[]): Set<string> {
    const key = `${clientId}|${oid}`;
    const set = this.grants.get(key) ?? new Set<string>();
    for (const s of scopes) set.add(s);
    this.grants.set(key, set);
    return set;
  }

  granted(clientId: string, oid: string): Set<string> {
    return this.grants.get(`${clientId}|${oid}`) ?? new Set();
  }

  addFault(spec: FaultSpec): ActiveFault {
    const fault = activeFault(spec);
    this.faults.push(fault);
    return fault;
  }

  /** The first fault that applies to this request, counted down if it has a count. */
  takeFault(method: string, path: string): ActiveFault | undefined {
    return takeFault(this.faults, method, path);
  }

  /**
   * 0 when the partner's Partner Center bucket has room, else ms until it has. Graph is
   * limited otherwise: by resource units per app and tenant (graph-limits.ts).
   */
  throttle(partnerTenantId: string, surface: 'partnerCenter'): number {
    const rate = this.directory.partner(partnerTenantId)?.rateLimits.partnerCenterRps ?? 10;
    return this.bucket(`${surface}|${partnerTenantId}`, (now) =>
      TokenBucket.perSecond(rate, now),
    ).take(1, this.now());
  }

  /** A partner's Partner Center limit from now on, its bucket full (benchmarks change it). */
  setPartnerCenterLimit(partnerTenantId: string, rps: number): void {
    const partner = this.directory.partner(partnerTenantId);
    if (!partner) throw new Error(`no partner ${partnerTenantId} in the scenario`);
    partner.rateLimits.partnerCenterRps = rps;
    this.buckets.delete(`partnerCenter|${partnerTenantId}`);
  }

  /**
   * The bucket kept under `key`, made on first use. Buckets run on the emulator's clock, like
   * every other age here: a clock shift refills them too.
   */
  bucket(key: string, make: (now: number) => TokenBucket): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = make(this.now());
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  count(partnerTenantId: string | undefined, surface: Surface, throttled: boolean): void {
    if (!partnerTenantId) return;
    let entry = this.counters.get(partnerTenantId);
    if (!entry) {
      entry = {
        identity: { requests: 0, throttled: 0 },
        partnerCenter: { requests: 0, throttled: 0 },
        graph: { requests: 0, throttled: 0 },
      };
      this.counters.set(partnerTenantId, entry);
    }
    entry[surface].requests += 1;
    if (throttled) entry[surface].throttled += 1;
  }

  record(entry: Omit<RequestLogEntry, 'id'>): void {
    this.log.push({ id: ++this.logSeq, ...entry });
    if (this.log.length > maxLogEntries) this.log.splice(0, this.log.length - maxLogEntries);
  }

  newPending(request: Omit<PendingAuthorization, 'id' | 'createdAt'>): PendingAuthorization {
    const pending = { ...request, id: randomUUID(), createdAt: this.now() };
    this.pending.set(pending.id, pending);
    return pending;
  }
}
