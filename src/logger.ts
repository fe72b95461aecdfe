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
export const redactPaths = [
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
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'clientSecret',
];

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
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination,
  );
}
