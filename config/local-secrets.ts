import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Secrets that may be generated for local use when the environment does not set them. */
export const generatableSecrets = {
  ENCRYPTION_KEYS: () => `local1:${randomBytes(32).toString('base64')}`,
  ADMIN_API_TOKEN: () => randomBytes(32).toString('base64url'),
  MICROSOFT_CLIENT_SECRET: () => randomBytes(30).toString('base64url'),
  SESSION_SECRET: () => randomBytes(32).toString('base64url'),
} as const;
export type GeneratableSecret = keyof typeof generatableSecrets;

/**
 * Reads the git-ignored local secrets file and adds any secret in `missing` that it lacks,
 * so a developer's data stays decryptable across restarts. The file is written 0600.
 */
export function ensureLocalSecrets(
  file: string,
  missing: GeneratableSecret[],
): { values: Partial<Record<GeneratableSecret, string>>; generated: GeneratableSecret[] } {
  let stored: Partial<Record<GeneratableSecret, string>> = {};
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<Record<GeneratableSecret, string>>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read local secrets file ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  const generated = missing.filter((name) => typeof stored[name] !== 'string');
  if (generated.length > 0) {
    for (const name of generated) stored[name] = generatableSecrets[name]();
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  const values: Partial<Record<GeneratableSecret, string>> = {};
  for (const name of missing) values[name] = stored[name];
  return { values, generated };
}
