import { cloudPresets, type CloudEndpoints, type CloudName } from './clouds.js';
import { envDefaults, envSchema, secretNames, type Env } from './env.js';
import { ensureLocalSecrets, type GeneratableSecret } from './local-secrets.js';
import { encryptionKeys, type EncryptionKey, type RedisNode, type TrustProxy } from './values.js';

export type { CloudEndpoints } from './clouds.js';
export type { EncryptionKey, RedisNode } from './values.js';

/** The outbound proxy settings, as curl and axios read them from the environment. */
export interface OutboundProxy {
  /** HTTPS_PROXY: for https URLs. */
  httpsProxy?: string | undefined;
  /** HTTP_PROXY: for http URLs. */
  httpProxy?: string | undefined;
  /** ALL_PROXY: for either, when its own is unset. */
  allProxy?: string | undefined;
  /** NO_PROXY: hosts (`host`, `host:port`, `.suffix`, `*.suffix`, `*`) reached directly. */
  noProxy?: string | undefined;
}

/** A Redis Cluster the service runs on instead of one node. */
export interface RedisCluster {
  /** Seed nodes; the client discovers the others. REDIS_CLUSTER_NODES */
  nodes: RedisNode[];
  /** AUTH password of every node; undefined: none. REDIS_CLUSTER_PASSWORD */
  password: string | undefined;
}

/**
 * How the queues run: concurrency, the reconciler's interval, crash detection. Each field is set
 * by the variable it names; defaults are in config/env.ts.
 */
export interface QueueTuning {
  /** Refresh jobs one worker process runs at once. REFRESH_CONCURRENCY */
  refreshConcurrency: number;
  /** Refresh jobs running at once across every worker process. REFRESH_GLOBAL_CONCURRENCY */
  refreshGlobalConcurrency: number;
  /** Seconds between reconciler runs; a divisor of 60. RECONCILE_INTERVAL_SECONDS */
  reconcileIntervalSeconds: number;
  /**
   * Seconds a running job's lock lasts unrenewed: a crashed worker's jobs are picked up again
   * after one to two of these. JOB_LOCK_SECONDS
   */
  jobLockSeconds: number;
  /** The hour (UTC) the daily alert digest is sent. ALERT_DIGEST_HOUR_UTC */
  alertDigestHourUtc: number;
}

function queueTuningOf(env: Env): QueueTuning {
  return {
    refreshConcurrency: env.REFRESH_CONCURRENCY,
    refreshGlobalConcurrency: env.REFRESH_GLOBAL_CONCURRENCY,
    reconcileIntervalSeconds: env.RECONCILE_INTERVAL_SECONDS,
    jobLockSeconds: env.JOB_LOCK_SECONDS,
    alertDigestHourUtc: env.ALERT_DIGEST_HOUR_UTC,
  };
}

/** The queue tuning of an environment that sets none of its variables. */
export const defaultQueueTuning: QueueTuning = queueTuningOf(envDefaults);

/**
 * The whole configuration, parsed once at start-up. A field's comment names the variable that
 * sets it; the variable's default and meaning are written once, in config/env.ts.
 */
export interface Config {
  /** NODE_ENV */
  nodeEnv: 'development' | 'test' | 'production';
  /** PostgreSQL URL; undefined means the embedded PGlite database. DATABASE_URL */
  databaseUrl: string | undefined;
  /**
   * PGlite data directory when DATABASE_URL is unset; `memory://` keeps nothing.
   * PGLITE_DATA_DIR
   */
  pgliteDataDir: string;
  /** The one Redis node, when `redisCluster` is undefined. REDIS_URL */
  redisUrl: string;
  /**
   * The Redis Cluster every Redis user speaks to; undefined: the one node at `redisUrl`.
   * REDIS_CLUSTER_NODES, REDIS_CLUSTER_PASSWORD
   */
  redisCluster: RedisCluster | undefined;
  /**
   * Prefix of every Redis key of the deployment (BullMQ's and ours), a hash tag: on a cluster
   * they all live in one slot, so scripts and pipelines over several keys work. QUEUE_PREFIX
   */
  queuePrefix: string;
  /** PORT */
  port: number;
  /** Address the HTTP listeners bind to; undefined binds every interface. HOST */
  host: string | undefined;
  /**
   * Port of a listener serving /metrics alone, unauthenticated (the main port then has none);
   * undefined serves /metrics on PORT, behind ADMIN_API_TOKEN as a Bearer token. METRICS_PORT
   */
  metricsPort: number | undefined;
  /**
   * Origin users reach the service at; redirect URIs and return URLs are built on it.
   * PUBLIC_URL
   */
  publicUrl: string;
  /** LOG_LEVEL */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  microsoft: {
    /** MICROSOFT_CLIENT_ID */
    clientId: string;
    /** MICROSOFT_CLIENT_SECRET */
    clientSecret: string;
    /** MICROSOFT_CLOUD */
    cloud: CloudName;
    /** The cloud's preset, or MICROSOFT_AUTHORITY_HOST, PARTNER_CENTER_URL and GRAPH_URL. */
    endpoints: CloudEndpoints;
    /** PEM file of extra CAs trusted for Microsoft calls (the emulator's). HTTP_EXTRA_CA_FILE */
    extraCaFile: string | undefined;
    /**
     * Partner Center requests per second per partner, paced across workers.
     * PARTNER_CENTER_REQUESTS_PER_SECOND
     */
    partnerCenterRps: number;
    /**
     * Microsoft Graph requests per second per partner, its share of the app's budget.
     * GRAPH_REQUESTS_PER_SECOND
     */
    graphRps: number;
    /**
     * Graph resource units per customer tenant per 10 s.
     * GRAPH_TENANT_RESOURCE_UNITS_PER_10_SECONDS
     */
    graphTenantResourceUnitsPer10s: number;
    /** Graph resource units per 20 s across all tenants. GRAPH_APP_RESOURCE_UNITS_PER_20_SECONDS */
    graphAppResourceUnitsPer20s: number;
    /**
     * A Microsoft call not answered within this many seconds fails (and is retried).
     * MICROSOFT_HTTP_TIMEOUT_SECONDS
     */
    httpTimeoutSeconds: number;
  };
  /** HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY (lower-case names first). */
  outboundProxy: OutboundProxy;
  /** First key encrypts; every key decrypts. ENCRYPTION_KEYS */
  encryptionKeys: EncryptionKey[];
  /** ADMIN_API_TOKEN */
  adminApiToken: string;
  /** Signs the session cookie of the pages. SESSION_SECRET */
  sessionSecret: string;
  /**
   * Which proxies in front of the service are believed about the client's address and
   * protocol (X-Forwarded-For/-Proto): false, a hop count, or addresses/CIDRs. TRUST_PROXY
   */
  trustProxy: TrustProxy;
  /**
   * Seconds given to running jobs and requests on SIGTERM before they are cancelled.
   * SHUTDOWN_GRACE_SECONDS
   */
  shutdownGraceSeconds: number;
  queues: QueueTuning;
  /** Days a finished refresh run and its results are kept. Default: 90. RUN_RETENTION_DAYS */
  runRetentionDays: number;
  /** When the reconciler finds a refresh run late. */
  runAlerts: {
    /**
     * Minutes after the daily scheduled refresh before a partner with no run started since is
     * alerted. ALERT_RUN_NOT_STARTED_MINUTES
     */
    notStartedGraceMinutes: number;
    /** Hours a run may stay open before it is alerted. ALERT_RUN_NOT_FINISHED_HOURS */
    notFinishedHours: number;
  };
  /**
   * Whether alert webhooks may reach loopback, private, link-local and other non-public
   * addresses. ALLOW_PRIVATE_WEBHOOKS
   */
  allowPrivateWebhooks: boolean;
  smtp: {
    /**
     * The mail server email alerts go through; undefined: no email channels. It may hold the
     * SMTP password: never logged (pino redacts `smtp.url`). SMTP_URL
     */
    url: string | undefined;
    /** The From of alert emails. SMTP_FROM */
    from: string;
  };
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

/**
 * The proxy variables as curl and the axios client read them: the lower-case name first, an
 * empty one falling through to the upper-case name.
 */
function proxyVariables(env: Record<string, string | undefined>) {
  const read = (name: string) => env[name.toLowerCase()] || env[name] || undefined;
  return {
    HTTPS_PROXY: read('HTTPS_PROXY'),
    HTTP_PROXY: read('HTTP_PROXY'),
    ALL_PROXY: read('ALL_PROXY'),
    NO_PROXY: read('NO_PROXY'),
  };
}

/** Where secrets generated outside production are kept (git-ignored). */
const defaultLocalSecretsFile = '.local/secrets.json';

/** The placeholder app id used outside production until a real one is configured. */
const localClientId = '00000000-0000-0000-0000-000000000000';

/**
 * Parses the environment into a Config. Throws ConfigError naming every bad variable.
 * Outside production, missing secrets are generated once into `localSecretsFile`.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  options: { localSecretsFile?: string } = {},
): LoadedConfig {
  const parsed = envSchema.safeParse({ ...env, ...proxyVariables(env) });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? 'environment'),
      message: issue.message,
    }));
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  // REDIS_URL has a default, so only the raw environment tells whether it was set: a node URL
  // left beside a cluster would otherwise be silently ignored.
  if (e.REDIS_CLUSTER_NODES && env.REDIS_URL?.trim()) {
    throw new ConfigError([
      {
        variable: 'REDIS_URL',
        message:
          'set either REDIS_URL (one Redis node) or REDIS_CLUSTER_NODES (a Redis Cluster), not both',
      },
    ]);
  }
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
      redisCluster: e.REDIS_CLUSTER_NODES
        ? { nodes: e.REDIS_CLUSTER_NODES, password: e.REDIS_CLUSTER_PASSWORD }
        : undefined,
      queuePrefix: e.QUEUE_PREFIX,
      port,
      host: e.HOST,
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
      outboundProxy: {
        httpsProxy: e.HTTPS_PROXY,
        httpProxy: e.HTTP_PROXY,
        allProxy: e.ALL_PROXY,
        noProxy: e.NO_PROXY,
      },
      encryptionKeys: keys,
      adminApiToken: e.ADMIN_API_TOKEN ?? local.ADMIN_API_TOKEN!,
      sessionSecret: e.SESSION_SECRET ?? local.SESSION_SECRET!,
      trustProxy: e.TRUST_PROXY ?? false,
      shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
      queues: queueTuningOf(e),
      runRetentionDays: e.RUN_RETENTION_DAYS,
      runAlerts: {
        notStartedGraceMinutes: e.ALERT_RUN_NOT_STARTED_MINUTES,
        notFinishedHours: e.ALERT_RUN_NOT_FINISHED_HOURS,
      },
      allowPrivateWebhooks: e.ALLOW_PRIVATE_WEBHOOKS,
      smtp: { url: e.SMTP_URL, from: e.SMTP_FROM },
    },
  };
}
