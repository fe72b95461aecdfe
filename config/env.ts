import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import { cloudNames } from './clouds.js';
import { generatableSecrets, type GeneratableSecret } from './local-secrets.js';
import {
  encryptionKeys,
  guid,
  listenHost,
  mailFrom,
  optionalString,
  redisNodes,
  origin,
  proxyUrl,
  smtpUrl,
  tcpPort,
  trustProxy,
  urlWithProtocols,
} from './values.js';

/**
 * What the README's configuration table says of a variable. Its default is the schema's own
 * (`.default()`); `unset` says what happens without one, for a variable that has none.
 */
interface VariableDoc {
  /** One sentence: what the variable sets, in the reader's words. */
  meaning: string;
  /** The Default column of a variable without a schema default. Default: unset */
  unset?: string;
}

/** The documentation of every environment variable, keyed by its schema. */
export const variableDocs = z.registry<VariableDoc>();

function variable<S extends z.ZodType>(doc: VariableDoc, schema: S): S {
  variableDocs.add(schema, doc);
  return schema;
}

/** The sender outside production when SMTP_FROM is unset; mail servers refuse it. */
const defaultMailFrom = 'alerts@localhost';

export const secretNames = Object.keys(generatableSecrets) as GeneratableSecret[];

/**
 * Every environment variable the service reads, each with its default and its meaning: the one
 * place both are written (`npm run config:docs` writes the README's table from here).
 */
export const envVariables = {
  NODE_ENV: variable(
    {
      meaning:
        '`production` requires every secret, `MICROSOFT_CLIENT_ID` and an https `PUBLIC_URL`.',
    },
    z.enum(['development', 'test', 'production']).default('development'),
  ),
  DATABASE_URL: variable(
    { meaning: '`postgres://user@host:port/db`.', unset: 'unset: PGlite' },
    optionalString().pipe(
      urlWithProtocols(['postgres:', 'postgresql:'], 'a postgres:// URL').optional(),
    ),
  ),
  PGLITE_DATA_DIR: variable(
    {
      meaning:
        'Where PGlite keeps its data when `DATABASE_URL` is unset; `memory://` keeps nothing.',
    },
    z.string().min(1).default('.data/pglite'),
  ),
  REDIS_URL: variable(
    { meaning: 'One Redis node: `redis://` or `rediss://`. Not with `REDIS_CLUSTER_NODES`.' },
    z
      .string()
      .default('redis://127.0.0.1:6379')
      .pipe(urlWithProtocols(['redis:', 'rediss:'], 'a redis:// or rediss:// URL')),
  ),
  REDIS_CLUSTER_NODES: variable(
    {
      meaning:
        'Redis Cluster seed nodes, `host:port,host:port`: every Redis user then speaks to the cluster. Not with `REDIS_URL`.',
      unset: 'unset: one node, `REDIS_URL`',
    },
    optionalString().pipe(redisNodes.optional()),
  ),
  REDIS_CLUSTER_PASSWORD: variable(
    {
      meaning: "The cluster nodes' password (`requirepass`); read only with `REDIS_CLUSTER_NODES`.",
      unset: 'unset: none',
    },
    optionalString(),
  ),
  QUEUE_PREFIX: variable(
    { meaning: 'BullMQ key prefix; a Redis Cluster hash tag so one slot holds a deployment.' },
    z
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
  ),
  PORT: variable({ meaning: 'HTTP port.' }, tcpPort().default(3000)),
  HOST: variable(
    {
      meaning:
        'Address the HTTP listeners (`PORT`, `METRICS_PORT`) bind to; `npm run demo` takes `127.0.0.1` when unset.',
      unset: 'unset: all',
    },
    optionalString().pipe(listenHost.optional()),
  ),
  METRICS_PORT: variable(
    {
      meaning:
        'Serves `/metrics` alone, no token, on this port (not on `PORT`). Unset: on `PORT`, admin token as Bearer.',
    },
    optionalString().pipe(tcpPort().optional()),
  ),
  PUBLIC_URL: variable(
    {
      meaning: 'Origin users reach the service at (redirect URI, return URLs).',
      unset: '`http://localhost:$PORT`',
    },
    optionalString().pipe(origin('the public URL').optional()),
  ),
  TRUST_PROXY: variable(
    {
      meaning:
        'Proxies believed about the client address and https: a hop count (`1`), or addresses/CIDRs (`10.0.0.0/8,::1`).',
      unset: 'unset: none',
    },
    optionalString().pipe(trustProxy.optional()),
  ),
  LOG_LEVEL: variable(
    { meaning: 'pino level.' },
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  MICROSOFT_CLIENT_ID: variable(
    { meaning: "The app registration's id.", unset: 'a placeholder GUID' },
    optionalString().pipe(
      z.string().regex(guid, 'expected the app registration id, a GUID').optional(),
    ),
  ),
  MICROSOFT_CLIENT_SECRET: variable(
    { meaning: "The app registration's secret.", unset: 'generated locally' },
    optionalString(),
  ),
  MICROSOFT_CLOUD: variable(
    { meaning: '`global`, `usgov`, `china` (presets) or `custom`.' },
    z.enum(cloudNames).default('global'),
  ),
  MICROSOFT_AUTHORITY_HOST: variable(
    {
      meaning: 'Sign-in authority, a bare origin; read and required when `MICROSOFT_CLOUD=custom`.',
      unset: 'from the preset',
    },
    optionalString().pipe(origin('the authority host').optional()),
  ),
  PARTNER_CENTER_URL: variable(
    {
      meaning: 'Partner Center, a bare origin; read and required when `MICROSOFT_CLOUD=custom`.',
      unset: 'from the preset',
    },
    optionalString().pipe(origin('the Partner Center origin').optional()),
  ),
  GRAPH_URL: variable(
    {
      meaning: 'Microsoft Graph, a bare origin; read and required when `MICROSOFT_CLOUD=custom`.',
      unset: 'from the preset',
    },
    optionalString().pipe(origin('the Microsoft Graph origin').optional()),
  ),
  HTTP_EXTRA_CA_FILE: variable(
    { meaning: 'PEM file of extra CAs trusted for Microsoft calls.' },
    optionalString().pipe(
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
  ),
  ENCRYPTION_KEYS: variable(
    {
      meaning:
        '`kid:base64key,...` (32-byte keys); the first encrypts, all decrypt. `openssl rand -base64 32` makes a key.',
      unset: 'generated locally',
    },
    optionalString().pipe(encryptionKeys.optional()),
  ),
  ADMIN_API_TOKEN: variable(
    {
      meaning:
        'Bearer token for `/api/v1` and the dashboard (never a Basic-auth password); at least 32 characters.',
      unset: 'generated locally',
    },
    optionalString().pipe(z.string().min(32, 'expected at least 32 characters').optional()),
  ),
  SESSION_SECRET: variable(
    {
      meaning: "Signs the pages' session cookie; at least 32 characters.",
      unset: 'generated locally',
    },
    optionalString().pipe(z.string().min(32, 'expected at least 32 characters').optional()),
  ),
  PARTNER_CENTER_REQUESTS_PER_SECOND: variable(
    {
      meaning:
        "Partner Center requests per second per partner, paced across all workers; a partner's own pace (PATCH /partners/:id) replaces it.",
    },
    z.coerce
      .number({ message: 'expected requests per second' })
      .positive('expected a positive number of requests per second')
      .max(1000, 'expected at most 1000 requests per second')
      .default(10),
  ),
  GRAPH_REQUESTS_PER_SECOND: variable(
    {
      meaning:
        "Microsoft Graph requests per second per partner (custom-license counts): its share of the app's budget.",
    },
    z.coerce
      .number({ message: 'expected requests per second' })
      .positive('expected a positive number of requests per second')
      .max(1000, 'expected at most 1000 requests per second')
      .default(20),
  ),
  GRAPH_TENANT_RESOURCE_UNITS_PER_10_SECONDS: variable(
    {
      meaning:
        "Graph resource units per customer tenant per 10 s (Microsoft's quota for the smallest tenants).",
    },
    z.coerce
      .number({ message: 'expected resource units' })
      .positive('expected a positive number of resource units')
      .max(8000, 'expected at most 8000 resource units (the largest tenant quota)')
      .default(3500),
  ),
  GRAPH_APP_RESOURCE_UNITS_PER_20_SECONDS: variable(
    {
      meaning:
        "Graph resource units per 20 s across all tenants and partners (Microsoft's quota per app).",
    },
    z.coerce
      .number({ message: 'expected resource units' })
      .positive('expected a positive number of resource units')
      .max(150_000, 'expected at most 150000 resource units (the quota per app)')
      .default(150_000),
  ),
  HTTPS_PROXY: variable(
    {
      meaning:
        'Proxy for https calls (Microsoft, PSAs), `http://host:port`; `https_proxy` is read first, as curl does.',
      unset: 'unset: direct',
    },
    optionalString().pipe(proxyUrl.optional()),
  ),
  HTTP_PROXY: variable(
    {
      meaning: 'Proxy for plain http calls; `http_proxy` is read first.',
      unset: 'unset: direct',
    },
    optionalString().pipe(proxyUrl.optional()),
  ),
  ALL_PROXY: variable(
    {
      meaning: 'Proxy for calls whose own proxy variable is unset; `all_proxy` is read first.',
      unset: 'unset: direct',
    },
    optionalString().pipe(proxyUrl.optional()),
  ),
  NO_PROXY: variable(
    {
      meaning:
        'Hosts reached without the proxy, comma-separated: `host`, `host:port`, `.suffix`, `*`; `no_proxy` is read first.',
      unset: 'unset: none',
    },
    optionalString(),
  ),
  MICROSOFT_HTTP_TIMEOUT_SECONDS: variable(
    { meaning: 'A Microsoft call not answered within this many seconds fails and is retried.' },
    z.coerce
      .number({ message: 'expected a number of seconds' })
      .positive('expected a positive number of seconds')
      .max(300, 'expected at most 300 seconds')
      .default(30),
  ),
  SHUTDOWN_GRACE_SECONDS: variable(
    { meaning: 'On SIGTERM, how long running jobs and requests get before they are cancelled.' },
    z.coerce
      .number({ message: 'expected a number of seconds' })
      .positive('expected a positive number of seconds')
      .max(600, 'expected at most 600 seconds')
      .default(25),
  ),
  REFRESH_CONCURRENCY: variable(
    {
      meaning:
        'Customer refresh jobs one worker process runs at once. They mostly wait on Microsoft, and jobs running together share their database statements.',
    },
    z.coerce
      .number({ message: 'expected a number of jobs' })
      .int('expected a whole number of jobs')
      .min(1, 'expected at least 1 job')
      .max(500, 'expected at most 500 jobs')
      .default(50),
  ),
  REFRESH_GLOBAL_CONCURRENCY: variable(
    { meaning: 'Customer refresh jobs running at once across every worker process.' },
    z.coerce
      .number({ message: 'expected a number of jobs' })
      .int('expected a whole number of jobs')
      .min(1, 'expected at least 1 job')
      .max(10_000, 'expected at most 10000 jobs')
      .default(400),
  ),
  RECONCILE_INTERVAL_SECONDS: variable(
    {
      meaning: 'How often queue work lost by Redis is rebuilt from PostgreSQL (a divisor of 60).',
    },
    z.coerce
      .number({ message: 'expected a number of seconds' })
      .int('expected a whole number of seconds')
      .refine((n) => n > 0 && 60 % n === 0, 'expected a divisor of 60 (1, 2, 3, 5, ..., 30, 60)')
      .default(60),
  ),
  RUN_RETENTION_DAYS: variable(
    {
      meaning:
        "Days a finished refresh run and its per-customer results are kept; the reconciler deletes older ones in batches, never a partner's latest run or latest completed run.",
    },
    z.coerce
      .number({ message: 'expected a number of days' })
      .int('expected a whole number of days')
      .min(
        3,
        'expected at least 3 days (a completed run waits up to 2 days for its billing reconciliation)',
      )
      .max(3650, 'expected at most 3650 days')
      .default(90),
  ),
  ALERT_DIGEST_HOUR_UTC: variable(
    {
      meaning:
        'The hour (UTC, 0-23) at which channels with the daily digest on receive the alerts collected since the last one.',
    },
    z.coerce
      .number({ message: 'expected an hour' })
      .int('expected a whole hour')
      .min(0, 'expected an hour from 0 to 23')
      .max(23, 'expected an hour from 0 to 23')
      .default(7),
  ),
  ALERT_RUN_NOT_STARTED_MINUTES: variable(
    {
      meaning:
        'Minutes after the daily refresh (03:00 UTC) before a partner with no run started since it is alerted (`runNotStarted`).',
    },
    z.coerce
      .number({ message: 'expected a number of minutes' })
      .int('expected a whole number of minutes')
      .min(1, 'expected at least 1 minute')
      .max(1380, "expected at most 1380 minutes (23 hours, before the next day's refresh)")
      .default(60),
  ),
  ALERT_RUN_NOT_FINISHED_HOURS: variable(
    {
      meaning:
        'Hours a refresh run may stay open (since it started, or was reopened to retry failures) before it is alerted (`runNotFinished`).',
    },
    z.coerce
      .number({ message: 'expected a number of hours' })
      .positive('expected a positive number of hours')
      .max(168, 'expected at most 168 hours (a week)')
      .default(6),
  ),
  JOB_LOCK_SECONDS: variable(
    {
      meaning:
        "Seconds a running job's lock lasts unrenewed: a crashed worker's jobs are taken up again after one to two of these.",
    },
    z.coerce
      .number({ message: 'expected a number of seconds' })
      .int('expected a whole number of seconds')
      .min(1, 'expected at least 1 second')
      .max(600, 'expected at most 600 seconds')
      .default(30),
  ),
  ALLOW_PRIVATE_WEBHOOKS: variable(
    {
      meaning:
        '`true` lets alert webhooks reach loopback, private and link-local addresses (tests, a receiver on the same network); otherwise refused.',
    },
    z
      .enum(['true', 'false'], { message: 'expected true or false' })
      .default('false')
      .transform((v) => v === 'true'),
  ),
  SMTP_URL: variable(
    {
      meaning:
        'Mail server of email alerts: `smtp://` (STARTTLS if offered) or `smtps://`, `user:password@` for a login.',
      unset: 'unset: no email',
    },
    optionalString().pipe(smtpUrl.optional()),
  ),
  SMTP_FROM: variable(
    {
      meaning:
        'Sender of email alerts: `alerts@example.com` or `Name <alerts@example.com>`; required in production when `SMTP_URL` is set.',
    },
    optionalString()
      .pipe(mailFrom.optional())
      .transform((v) => v ?? defaultMailFrom),
  ),
};
export type EnvVariable = keyof typeof envVariables;

/** The environment, parsed: every variable, then the rules that tie variables together. */
export const envSchema = z.object(envVariables).superRefine((env, ctx) => {
  if (env.REDIS_CLUSTER_PASSWORD && !env.REDIS_CLUSTER_NODES) {
    ctx.addIssue({
      code: 'custom',
      path: ['REDIS_CLUSTER_PASSWORD'],
      message: 'read only with REDIS_CLUSTER_NODES (a single node takes its password in REDIS_URL)',
    });
  }
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
    if (env.SMTP_URL && env.SMTP_FROM === defaultMailFrom) {
      ctx.addIssue({
        code: 'custom',
        path: ['SMTP_FROM'],
        message: 'required when NODE_ENV=production and SMTP_URL is set',
      });
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
export type Env = z.output<typeof envSchema>;

/** Every variable's value when the environment does not set it. */
export const envDefaults: Env = envSchema.parse({});
