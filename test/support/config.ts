import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../config/index.js';
import { testRedisUrl } from './redis.js';

/** Secrets generated at run time for one test process; test-only. */
export const testSecrets = {
  ENCRYPTION_KEYS: `test1:${randomBytes(32).toString('base64')}`,
  ADMIN_API_TOKEN: randomBytes(24).toString('base64url'),
  SESSION_SECRET: randomBytes(32).toString('base64url'),
  MICROSOFT_CLIENT_SECRET: randomBytes(24).toString('base64url'),
};

/** A test configuration built through the real schema, from an explicit environment. */
export function testEnv(overrides: Record<string, string | undefined> = {}) {
  return {
    NODE_ENV: 'test',
    REDIS_URL: testRedisUrl,
    PORT: '0',
    LOG_LEVEL: 'silent',
    PGLITE_DATA_DIR: 'memory://',
    ...testSecrets,
    ...overrides,
  };
}

export function testConfig(overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig(testEnv(overrides)).config;
}
