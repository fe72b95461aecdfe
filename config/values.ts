// Parsers of single environment values: what each kind of value accepts and the message naming
// what was expected.
import { isIP } from 'node:net';
import { z } from 'zod';

/** One key of the encryption key ring. */
export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** Express's `trust proxy`: none, the number of proxy hops, or the proxies' addresses. */
export type TrustProxy = false | number | string[];

/** The proxy address ranges Express knows by name. */
const namedProxyRanges = ['loopback', 'linklocal', 'uniquelocal'];

/** One TRUST_PROXY entry: an IP address, a CIDR block, or one of the named ranges. */
function isProxyAddress(entry: string): boolean {
  if (namedProxyRanges.includes(entry)) return true;
  const [address, bits, extra] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

export const trustProxy = z.string().transform((value, ctx): TrustProxy => {
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 10) {
      ctx.addIssue({ code: 'custom', message: 'expected at most 10 proxy hops' });
      return z.NEVER;
    }
    return hops === 0 ? false : hops;
  }
  const entries = value.split(',').map((entry) => entry.trim());
  const bad = entries.find((entry) => !isProxyAddress(entry));
  if (bad !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${bad}" is neither a number of proxy hops nor an IP address or CIDR block (examples: 1; 10.0.0.0/8,192.168.1.5; loopback)`,
    });
    return z.NEVER;
  }
  return entries;
});

/** An address to bind a listener to: an IP address (`0.0.0.0`, `::1`) or a host name. */
export const listenHost = z
  .string()
  .refine(
    (value) =>
      isIP(value) !== 0 ||
      /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
        value,
      ),
    { message: 'expected an IP address (0.0.0.0, 127.0.0.1, ::) or a host name' },
  );

/** A string with surrounding blanks removed; blank or missing is undefined. */
export const optionalString = () =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** An outbound proxy: an http(s) URL, or `host:port` (then spoken as the request's scheme). */
export const proxyUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value.includes('://') ? value : `http://${value}`);
      return ['http:', 'https:'].includes(url.protocol) && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'expected a proxy URL such as http://proxy.example:3128' },
);

export function urlWithProtocols(protocols: string[], what: string) {
  return z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected ${what}` },
  );
}

/** A bare origin such as https://host:port (no path, query or credentials). */
export const origin = (what: string) =>
  z
    .string()
    .refine(
      (value) => {
        try {
          const url = new URL(value);
          return (
            (url.protocol === 'https:' || url.protocol === 'http:') &&
            url.pathname === '/' &&
            !url.search &&
            !url.hash &&
            !url.username &&
            !value.endsWith('/')
          );
        } catch {
          return false;
        }
      },
      { message: `expected ${what} as a bare origin such as https://host[:port] (no path)` },
    )
    .transform((value) => new URL(value).origin);

export const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const encryptionKeys = z.string().transform((value, ctx) => {
  const keys: EncryptionKey[] = [];
  const entries = value.split(',').map((entry) => entry.trim());
  for (const [index, entry] of entries.entries()) {
    const match = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/]+={0,2})$/.exec(entry);
    const key = match ? Buffer.from(match[2]!, 'base64') : undefined;
    if (!match || !key || key.length !== 32 || key.toString('base64') !== match[2]) {
      ctx.addIssue({
        code: 'custom',
        message: `entry ${index + 1} is not "kid:base64key" with a 32-byte base64 key (format: kid1:KEY,kid2:KEY; generate a key with: openssl rand -base64 32)`,
      });
      return z.NEVER;
    }
    if (keys.some((k) => k.id === match[1])) {
      ctx.addIssue({ code: 'custom', message: `key id "${match[1]}" is listed twice` });
      return z.NEVER;
    }
    keys.push({ id: match[1]!, key });
  }
  return keys;
});

/** One seed node of a Redis Cluster. */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * REDIS_CLUSTER_NODES: `host:port` seed nodes, comma-separated (`[::1]:7000` for IPv6). Any
 * few masters do: the client learns the rest of the cluster from them.
 */
export const redisNodes = z.string().transform((value, ctx) => {
  const nodes: RedisNode[] = [];
  for (const entry of value.split(',').map((e) => e.trim())) {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[3]);
    if (!match || port < 1 || port > 65535) {
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}" is not host:port (example: redis-1:6379,redis-2:6379,redis-3:6379)`,
      });
      return z.NEVER;
    }
    nodes.push({ host: match[1] ?? match[2]!, port });
  }
  return nodes;
});

export const tcpPort = () =>
  z.coerce
    .number<string | undefined>({ message: 'expected a TCP port number' })
    .int('expected a TCP port number')
    .min(0, 'expected a TCP port number')
    .max(65535, 'expected a TCP port number');

/**
 * The mail server alerts are sent through: smtp:// (STARTTLS when offered) or smtps:// (TLS from
 * the start), a host, an optional port and an optional user:password. The messages never repeat
 * the value: it may carry the password.
 */
export const smtpUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a URL such as smtp://user:password@mail.example.com:587',
    });
    return;
  }
  const problem =
    url.protocol !== 'smtp:' && url.protocol !== 'smtps:'
      ? 'expected smtp:// or smtps://'
      : !url.hostname
        ? 'expected a host, as in smtp://mail.example.com:587'
        : url.password && !url.username
          ? 'a password needs a user name (smtp://user:password@host)'
          : (url.pathname !== '' && url.pathname !== '/') || url.search || url.hash
            ? 'expected no path, query or fragment: smtp[s]://[user:password@]host[:port]'
            : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const emailAddress = z.email();

/**
 * A From address: `alerts@example.com` or `Name <alerts@example.com>`. No line break or quote
 * can reach the header.
 */
export const mailFrom = z.string().superRefine((value, ctx) => {
  const named = /^([^<>"\r\n]{1,100}?)\s*<([^<>\s]+)>$/.exec(value);
  const address = named ? named[2]! : value;
  if (!emailAddress.safeParse(address).success) {
    ctx.addIssue({
      code: 'custom',
      message:
        'expected an address (alerts@example.com) or a name and one (License sync <alerts@example.com>)',
    });
  }
});
