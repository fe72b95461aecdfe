import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Query parameters whose values never reach a log line. */
const secretParams = new Set([
  'code',
  'state',
  'session_state',
  'id_token',
  'access_token',
  'refresh_token',
  'client_secret',
  'code_verifier',
  'password',
  'token',
  'nonce',
]);

/**
 * Replaces the values of secret query parameters in a URL (absolute or a path) with
 * [REDACTED]. pino's redact paths cannot reach inside a URL string, hence this serializer.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const hashAt = url.indexOf('#', q);
  const query = url.slice(q + 1, hashAt === -1 ? undefined : hashAt);
  const redacted = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // A malformed escape stays as it is; it is still compared below.
      }
      return secretParams.has(name.toLowerCase()) ? `${rawName}=[REDACTED]` : pair;
    })
    .join('&');
  // A fragment can carry tokens too (implicit flows): drop it entirely.
  return `${url.slice(0, q)}?${redacted}`;
}

/** Paths pino blanks out wherever they appear in a log object. */
const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
  '*.clientSecret',
  '*.authorizationCode',
  '*.codeVerifier',
  '*.secret',
  // The SMTP URL may carry the mail server's password (config.smtp.url).
  'smtp.url',
  '*.smtp.url',
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'clientSecret',
];

/** Fields of database errors that quote the values of a query: drizzle's and pg's. */
const valueCarryingFields = ['params', 'detail', 'where', 'internalQuery', 'parameters'];

/**
 * A copy of an error (and of its causes) without the values a query carried: drizzle's
 * DrizzleQueryError puts every parameter in its message ("params: ...") and in `params`, and
 * pg's errors quote values in `detail` and `where` (and, for bad input, in their message).
 */
function withoutQueryValues(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error) || depth > 5) return error;
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(error)) {
    if (valueCarryingFields.includes(key)) continue;
    Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(error, key)!);
  }
  let message = error.message;
  const paramsAt = message.indexOf('\nparams: ');
  if (paramsAt !== -1) message = message.slice(0, paramsAt);
  const code = (error as { code?: unknown }).code;
  // Data exceptions (class 22) quote the refused value: invalid input syntax for type x: "...".
  if (typeof code === 'string' && code.startsWith('22')) message = message.replace(/"[^]*"/, '"…"');
  if (message !== error.message) {
    copy.message = message;
    if (typeof error.stack === 'string') copy.stack = error.stack.replace(error.message, message);
  }
  if ('cause' in error) copy.cause = withoutQueryValues(error.cause, depth + 1);
  return copy;
}

/** pino's error serializer, minus query values (see withoutQueryValues). */
export function serializeError(error: unknown): unknown {
  return pino.stdSerializers.err(withoutQueryValues(error) as Error);
}

export function createLogger(options: {
  level: string;
  name?: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    {
      name: options.name ?? 'license-sync',
      level: options.level,
      redact: { paths: redactPaths, censor: '[REDACTED]' },
      serializers: { err: serializeError },
    },
    options.destination,
  );
}
