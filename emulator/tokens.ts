import { randomBytes, randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

/** The resources the emulator issues access tokens for, by their real App ID URIs. */
export const resources = {
  partnerCenter: 'https://api.partnercenter.microsoft.com',
  graph: 'https://graph.microsoft.com',
} as const;

/** Graph's well-known app id, also accepted as Graph's audience. */
export const graphAppId = '00000003-0000-0000-c000-000000000000';

export interface SigningKeys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK & { kid: string };
}

export async function createSigningKeys(): Promise<SigningKeys> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, publicKey, jwk: { ...jwk, kid, use: 'sig', alg: 'RS256', x5t: kid } };
}

/** Opaque token material shaped like Entra's (a version prefix, then base64url). */
export function opaqueToken(prefix = '1.A'): string {
  return `${prefix}${randomBytes(48).toString('base64url')}`;
}

export interface TokenSubject {
  oid: string;
  upn: string;
  name: string;
  /** The user's home (partner) tenant. */
  homeTenantId: string;
  /** Whether this sign-in satisfied MFA. */
  mfa: boolean;
  /** The sign-in's authentication methods (the amr claim). */
  amr: string[];
  /** Seconds since epoch of the interactive sign-in behind this token chain. */
  authTime: number;
}

export interface IssueOptions {
  keys: SigningKeys;
  /** Seconds since epoch, on the emulator's clock. */
  now: number;
  lifetimeSec: number;
  clientId: string;
  tenantId: string;
  subject: TokenSubject;
}

/**
 * A v1-shaped access token, as Partner Center and Graph receive them: iss sts.windows.net,
 * aud the resource, amr, scp, upn; idp names the home tenant when the token is for another.
 */
export function signAccessToken(
  options: IssueOptions & { audience: string; scopes: string[] },
): Promise<string> {
  const { subject, now } = options;
  const claims: JWTPayload & Record<string, unknown> = {
    aud: options.audience,
    iss: `https://sts.windows.net/${options.tenantId}/`,
    iat: now,
    nbf: now,
    exp: now + options.lifetimeSec,
    acr: '1',
    amr: subject.amr,
    appid: options.clientId,
    appidacr: '1',
    auth_time: subject.authTime,
    name: subject.name,
    oid: subject.oid,
    scp: options.scopes.join(' '),
    sub: subject.oid,
    tid: options.tenantId,
    unique_name: subject.upn,
    upn: subject.upn,
    uti: randomBytes(16).toString('base64url'),
    ver: '1.0',
  };
  if (options.tenantId !== subject.homeTenantId) {
    claims.idp = `https://sts.windows.net/${subject.homeTenantId}/`;
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: options.keys.jwk.kid })
    .sign(options.keys.privateKey);
}

/** A v2 id token: no amr, nonce only when the authorize request had one. */
export function signIdToken(
  options: IssueOptions & { issuer: string; nonce: string | undefined },
): Promise<string> {
  const { subject, now } = options;
  const claims: JWTPayload & Record<string, unknown> = {
    aud: options.clientId,
    iss: options.issuer,
    iat: now,
    nbf: now,
    exp: now + options.lifetimeSec,
    name: subject.name,
    oid: subject.oid,
    preferred_username: subject.upn,
    sub: subject.oid,
    tid: options.tenantId,
    uti: randomBytes(16).toString('base64url'),
    ver: '2.0',
    sid: randomUUID(),
  };
  if (options.nonce !== undefined) claims.nonce = options.nonce;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: options.keys.jwk.kid })
    .sign(options.keys.privateKey);
}

export interface AccessTokenClaims {
  aud: string;
  tid: string;
  oid: string;
  upn: string;
  scp: string;
  amr: string[];
  appid: string;
  idp?: string;
}

/**
 * Verifies an access token's signature, audience and lifetime on the emulator's clock.
 * Returns undefined when any check fails.
 */
export async function verifyAccessToken(
  keys: SigningKeys,
  token: string,
  audiences: string[],
  nowMs: number,
): Promise<AccessTokenClaims | undefined> {
  try {
    const { payload } = await jwtVerify(token, keys.publicKey, {
      audience: audiences,
      algorithms: ['RS256'],
      currentDate: new Date(nowMs),
    });
    return payload as unknown as AccessTokenClaims;
  } catch {
    return undefined;
  }
}

/** client_info as Entra sends it: base64url JSON of the home account's uid and utid. */
export function clientInfo(oid: string, homeTenantId: string): string {
  return Buffer.from(JSON.stringify({ uid: oid, utid: homeTenantId })).toString('base64url');
}
