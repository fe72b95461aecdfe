import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { cloudNames, cloudPresets, type CloudEndpoints, type CloudName } from './clouds.js';
import { ensureLocalSecrets, generatableSecrets, type GeneratableSecret } from './local-secrets.js';

export type { CloudEndpoints, CloudName } from './clouds.js';

/** One key of the encryption key ring. */
export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** How the queues run: concurrency, the reconciler's interval, crash detection. */
export interface QueueTuning {
  /** Refresh jobs one worker process runs at once. Default: 10 */
  refreshConcurrency: number;
  /** Refresh jobs running at once across every worker process. Default: 40 */
  refreshGlobalConcurrency: number;
  /** Seconds between reconciler runs; a divisor of 60. Default: 60 */
  reconcileIntervalSeconds: number;
  /**
   * Seconds a running job's lock lasts unrenewed: a crashed worker's jobs are picked up again
   * after one to two of these. Default: 30
   */
  jobLockSeconds: number;
}

export const defaultQueueTuning: QueueTuning = {
  refreshConcurrency: 10,
  refreshGlobalConcurrency: 40,
  reconcileIntervalSeconds: 60,
  jobLockSeconds: 30,
};

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

const trustProxy = z.string().transform((value, ctx): TrustProxy => {
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

/** The whole configuration, parsed once at start-up. */
export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  /** PostgreSQL URL; undefined means the embedded PGlite database. */
  databaseUrl: string | undefined;
  /** PGlite data directory when DATABASE_URL is unset; `memory://` keeps nothing. Default: .data/pglite */
  pgliteDataDir: string;
  redisUrl: string;
  /** BullMQ key prefix, a Redis Cluster hash tag. Default: {ls} */
  queuePrefix: string;
  port: number;
  /**
   * Port of a listener serving /metrics alone, unauthenticated (the main port then has none).
   * Default: unset (/metrics on PORT, behind ADMIN_API_TOKEN as a Bearer token)
   */
  metricsPort: number | undefined;
  /** Origin users reach the service at; redirect URIs and return URLs are built on it. */
  publicUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  microsoft: {
    clientId: string;
    clientSecret: string;
    cloud: CloudName;
    endpoints: CloudEndpoints;
    /** PEM file of extra CAs trusted for Microsoft calls (the emulator's). */
    extraCaFile: string | undefined;
    /** Partner Center requests per second per partner, paced across workers. Default: 10 */
    partnerCenterRps: number;
    /** Microsoft Graph requests per second per partner, its share of the app's budget. Default: 20 */
    graphRps: number;
    /** Graph resource units per customer tenant per 10 s, Microsoft's smallest quota. Default: 3500 */
    graphTenantResourceUnitsPer10s: number;
    /** Graph resource units per 20 s across all tenants, Microsoft's quota per app. Default: 150000 */
    graphAppResourceUnitsPer20s: number;
    /** A Microsoft call not answered within this many seconds fails (and is retried). Default: 30 */
    httpTimeoutSeconds: number;
  };
  /** First key encrypts; every key decrypts. */
  encryptionKeys: EncryptionKey[];
  adminApiToken: string;
  /** Signs the session cookie of the pages. */
  sessionSecret: string;
  /**
   * Which proxies in front of the service are believed about the client's address and
   * protocol (X-Forwarded-For/-Proto): false, a hop count, or addresses/CIDRs. Default: false
   */
  trustProxy: TrustProxy;
  /** Seconds given to running jobs and requests on SIGTERM before they are cancelled. Default: 25 */
  shutdownGraceSeconds: number;
  queues: QueueTuning;
}

export interface LoadedConfig {
  config: Config;
  /** Things start-up should log, e.g. secrets generated into the local file. */
  notices: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

const secretNames = Object.keys(generatableSecrets) as GeneratableSecret[];
/** Where secrets generated outside production are kept (git-ignored). */
export const defaultLocalSecretsFile = '.local/secrets.json';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

function urlWithProtocols(protocols: string[], what: string) {
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
const origin = (what: string) =>
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

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const encryptionKeys = z.string().transform((value, ctx) => {
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

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    DATABASE_URL: optionalString.pipe(
      urlWithProtocols(['postgres:', 'postgresql:'], 'a postgres:// URL').optional(),
    ),
    PGLITE_DATA_DIR: z.string().min(1).default('.data/pglite'),
    REDIS_URL: z
      .string()
      .default('redis://127.0.0.1:6379')
      .pipe(urlWithProtocols(['redis:', 'rediss:'], 'a redis:// or rediss:// URL')),
    QUEUE_PREFIX: z
      .string()
      .default('{ls}')
      .pipe(
        z
          .string()
          .regex(
            /^\{[A-Za-z0-9_.-]{1,64}\}$/,
            'expected a Redis Cluster hash tag such as {ls}: braces around letters, digits, _ . -',
          ),
      ),
    PORT: z.coerce
      .number({ message: 'expected a TCP port number' })
      .int('expected a TCP port number')
      .min(0, 'expected a TCP port number')
      .max(65535, 'expected a TCP port number')
      .default(3000),
    METRICS_PORT: optionalString.pipe(
      z.coerce
        .number<string | undefined>({ message: 'expected a TCP port number' })
        .int('expected a TCP port number')
        .min(0, 'expected a TCP port number')
        .max(65535, 'expected a TCP port number')
        .optional(),
    ),
    PUBLIC_URL: optionalString.pipe(origin('the public URL').optional()),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    MICROSOFT_CLIENT_ID: optionalString.pipe(
      z.string().regex(guid, 'expected the app registration id, a GUID').optional(),
    ),
    MICROSOFT_CLIENT_SECRET: optionalString,
    MICROSOFT_CLOUD: z.enum(cloudNames).default('global'),
    MICROSOFT_AUTHORITY_HOST: optionalString.pipe(origin('the authority host').optional()),
    PARTNER_CENTER_URL: optionalString.pipe(origin('the Partner Center origin').optional()),
    GRAPH_URL: optionalString.pipe(origin('the Microsoft Graph origin').optional()),
    HTTP_EXTRA_CA_FILE: optionalString.pipe(
      z
        .string()
        .refine(
          (file) => {
            try {
              accessSync(file, constants.R_OK);
              return true;
            } catch {
              return false;
            }
          },
          { message: 'expected a readable PEM file' },
        )
        .optional(),
    ),
    ENCRYPTION_KEYS: optionalString.pipe(encryptionKeys.optional()),
    SESSION_SECRET: optionalString.pipe(
      z.string().min(32, 'expected at least 32 characters').optional(),
    ),
    ADMIN_API_TOKEN: optionalString.pipe(
      z.string().min(32, 'expected at least 32 characters').optional(),
    ),
    PARTNER_CENTER_REQUESTS_PER_SECOND: z.coerce
      .number({ message: 'expected requests per second' })
      .positive('expected a positive number of requests per second')
      .max(1000, 'expected at most 1000 requests per second')
      .default(10),
    REFRESH_CONCURRENCY: z.coerce
      .number({ message: 'expected a number of jobs' })
      .int('expected a whole number of jobs')
      .min(1, 'expected at least 1 job')
      .max(500, 'expected at most 500 jobs')
      .default(defaultQueueTuning.refreshConcurrency),
    REFRESH_GLOBAL_CONCURRENCY: z.coerce
      .number({ message: 'expected a number of jobs' })
      .int('expected a whole number of jobs')
      .min(1, 'expected at least 1 job')
      .max(10_000, 'expected at most 10000 jobs')
      .default(defaultQueueTuning.refreshGlobalConcurrency),
    RECONCILE_INTERVAL_SECONDS: z.coerce
      .number({ message: 'expected a number of seconds' })
      .int('expected a whole number of seconds')
      .refine((n) => n > 0 && 60 % n === 0, 'expected a divisor of 60 (1, 2, 3, 5, ..., 30, 60)')
      .default(defaultQueueTuning.reconcileIntervalSeconds),
    JOB_LOCK_SECONDS: z.coerce
      .number({ message: 'expected a number of seconds' })
      .int('expected a whole number of seconds')
      .min(1, 'expected at least 1 second')
      .max(600, 'expected at most 600 seconds')
      .default(defaultQueueTuning.jobLockSeconds),
    MICROSOFT_HTTP_TIMEOUT_SECONDS: z.coerce
      .number({ message: 'expected a number of seconds' })
      .positive('expected a positive number of seconds')
      .max(300, 'expected at most 300 seconds')
      .default(30),
    GRAPH_REQUESTS_PER_SECOND: z.coerce
      .number({ message: 'expected requests per second' })
      .positive('expected a positive number of requests per second')
      .max(1000, 'expected at most 1000 requests per second')
      .default(20),
    GRAPH_TENANT_RESOURCE_UNITS_PER_10_SECONDS: z.coerce
      .number({ message: 'expected resource units' })
      .positive('expected a positive number of resource units')
      .max(8000, 'expected at most 8000 resource units (the largest tenant quota)')
      .default(3500),
    GRAPH_APP_RESOURCE_UNITS_PER_20_SECONDS: z.coerce
      .number({ message: 'expected resource units' })
      .positive('expected a positive number of resource units')
      .max(150_000, 'expected at most 150000 resource units (the quota per app)')
      .default(150_000),
    TRUST_PROXY: optionalString.pipe(trustProxy.optional()),
    SHUTDOWN_GRACE_SECONDS: z.coerce
      .number({ message: 'expected a number of seconds' })
      .positive('expected a positive number of seconds')
      .max(600, 'expected at most 600 seconds')
      .default(25),
  })
  .superRefine((env, ctx) => {
    if (env.MICROSOFT_CLOUD === 'custom') {
      for (const name of ['MICROSOFT_AUTHORITY_HOST', 'PARTNER_CENTER_URL', 'GRAPH_URL'] as const) {
        if (!env[name]) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'required when MICROSOFT_CLOUD=custom',
          });
        }
      }
    }
    if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
      ctx.addIssue({
        code: 'custom',
        path: ['METRICS_PORT'],
        message: 'must differ from PORT (unset it to serve /metrics on PORT)',
      });
    }
    if (env.NODE_ENV === 'production') {
      for (const name of [...secretNames, 'MICROSOFT_CLIENT_ID', 'PUBLIC_URL'] as const) {
        if (!env[name]) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'required when NODE_ENV=production',
          });
        }
      }
      if (env.PUBLIC_URL && !env.PUBLIC_URL.startsWith('https:')) {
        ctx.addIssue({
          code: 'custom',
          path: ['PUBLIC_URL'],
          message: 'must be https in production',
        });
      }
    }
  });

/** The placeholder app id used outside production until a real one is configured. */
export const localClientId = '00000000-0000-0000-0000-000000000000';

/**
 * Parses the environment into a Config. Throws ConfigError naming every bad variable.
 * Outside production, missing secrets are generated once into `localSecretsFile`.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  options: { localSecretsFile?: string } = {},
): LoadedConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? 'environment'),
      message: issue.message,
    }));
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const notices: string[] = [];

  const missing = secretNames.filter((name) => !e[name]);
  let local: Partial<Record<GeneratableSecret, string>> = {};
  if (missing.length > 0) {
    const file = options.localSecretsFile ?? defaultLocalSecretsFile;
    const ensured = ensureLocalSecrets(file, missing);
    local = ensured.values;
    if (ensured.generated.length > 0) {
      notices.push(
        `generated ${ensured.generated.join(', ')} for local use into ${file} (set them in the environment for production)`,
      );
    }
    notices.push(`using ${missing.join(', ')} from ${file}`);
  }
  // Values from the local file went through no schema yet: parse them the same way.
  const keys = e.ENCRYPTION_KEYS ?? encryptionKeys.safeParse(local.ENCRYPTION_KEYS).data;
  if (!keys) {
    throw new ConfigError([
      { variable: 'ENCRYPTION_KEYS', message: 'the local secrets file holds a malformed value' },
    ]);
  }

  const port = e.PORT;
  const endpoints: CloudEndpoints =
    e.MICROSOFT_CLOUD === 'custom'
      ? {
          authorityHost: e.MICROSOFT_AUTHORITY_HOST!,
          partnerCenterUrl: e.PARTNER_CENTER_URL!,
          graphUrl: e.GRAPH_URL!,
          // A custom cloud (the emulator) speaks of the global resource URIs.
          graphResource: cloudPresets.global.graphResource,
        }
      : cloudPresets[e.MICROSOFT_CLOUD];

  return {
    notices,
    config: {
      nodeEnv: e.NODE_ENV,
      databaseUrl: e.DATABASE_URL,
      pgliteDataDir: e.PGLITE_DATA_DIR,
      redisUrl: e.REDIS_URL,
      queuePrefix: e.QUEUE_PREFIX,
      port,
      metricsPort: e.METRICS_PORT,
      publicUrl: e.PUBLIC_URL ?? `http://localhost:${port}`,
      logLevel: e.LOG_LEVEL,
      microsoft: {
        clientId: e.MICROSOFT_CLIENT_ID ?? localClientId,
        clientSecret: e.MICROSOFT_CLIENT_SECRET ?? local.MICROSOFT_CLIENT_SECRET!,
        cloud: e.MICROSOFT_CLOUD,
        endpoints,
        extraCaFile: e.HTTP_EXTRA_CA_FILE,
        partnerCenterRps: e.PARTNER_CENTER_REQUESTS_PER_SECOND,
        graphRps: e.GRAPH_REQUESTS_PER_SECOND,
        graphTenantResourceUnitsPer10s: e.GRAPH_TENANT_RESOURCE_UNITS_PER_10_SECONDS,
        graphAppResourceUnitsPer20s: e.GRAPH_APP_RESOURCE_UNITS_PER_20_SECONDS,
        httpTimeoutSeconds: e.MICROSOFT_HTTP_TIMEOUT_SECONDS,
      },
      encryptionKeys: keys,
      adminApiToken: e.ADMIN_API_TOKEN ?? local.ADMIN_API_TOKEN!,
      sessionSecret: e.SESSION_SECRET ?? local.SESSION_SECRET!,
      trustProxy: e.TRUST_PROXY ?? false,
      shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
      queues: {
        refreshConcurrency: e.REFRESH_CONCURRENCY,
        refreshGlobalConcurrency: e.REFRESH_GLOBAL_CONCURRENCY,
        reconcileIntervalSeconds: e.RECONCILE_INTERVAL_SECONDS,
        jobLockSeconds: e.JOB_LOCK_SECONDS,
      },
    },
  };
}
