import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../config/index.js';
import { testEnv } from '../support/config.js';

function problemsOf(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env, { localSecretsFile: join(mkdtempSync(join(tmpdir(), 'ls-')), 's.json') });
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('has working local defaults for everything that is not a secret', () => {
    const { config } = loadConfig(testEnv({ REDIS_URL: undefined, PORT: undefined }));
    expect(config.redisUrl).to.equal('redis://127.0.0.1:6379');
    expect(config.queuePrefix).to.equal('{ls}');
    expect(config.port).to.equal(3000);
    expect(config.publicUrl).to.equal('http://localhost:3000');
    expect(config.databaseUrl).to.equal(undefined);
    expect(config.microsoft.endpoints.authorityHost).to.equal('https://login.microsoftonline.com');
  });

  it('names ENCRYPTION_KEYS and says what is expected when a key is malformed', () => {
    for (const value of [
      'nokid',
      'k1:c2hvcnQ=',
      'k1:!!!!',
      `a:${Buffer.alloc(32).toString('base64')},a:${Buffer.alloc(32).toString('base64')}`,
    ]) {
      const error = problemsOf(testEnv({ ENCRYPTION_KEYS: value }));
      expect(error.problems.map((p) => p.variable)).to.deep.equal(['ENCRYPTION_KEYS']);
      expect(error.message).to.match(/ENCRYPTION_KEYS: .*(kid:base64key|listed twice)/);
    }
  });

  it('parses a key ring whose first key encrypts', () => {
    const a = Buffer.alloc(32, 1).toString('base64');
    const b = Buffer.alloc(32, 2).toString('base64');
    const { config } = loadConfig(testEnv({ ENCRYPTION_KEYS: `new:${b}, old:${a}` }));
    expect(config.encryptionKeys.map((k) => k.id)).to.deep.equal(['new', 'old']);
    expect(config.encryptionKeys[1]!.key.equals(Buffer.alloc(32, 1))).to.be.true;
  });

  it('names REDIS_URL when it is not a redis URL', () => {
    for (const value of ['localhost:6379', 'http://127.0.0.1:6379', 'not a url']) {
      const error = problemsOf(testEnv({ REDIS_URL: value }));
      expect(error.problems).to.deep.equal([
        { variable: 'REDIS_URL', message: 'expected a redis:// or rediss:// URL' },
      ]);
    }
  });

  it('tunes the queues, and names a bad queue setting with what it expects', () => {
    const { config } = loadConfig(
      testEnv({ REFRESH_GLOBAL_CONCURRENCY: '12', RECONCILE_INTERVAL_SECONDS: '15' }),
    );
    expect(config.queues).to.deep.equal({
      refreshConcurrency: 50,
      refreshGlobalConcurrency: 12,
      reconcileIntervalSeconds: 15,
      jobLockSeconds: 30,
      alertDigestHourUtc: 7,
    });
    const error = problemsOf(
      testEnv({ RECONCILE_INTERVAL_SECONDS: '7', REFRESH_CONCURRENCY: '0', JOB_LOCK_SECONDS: 'x' }),
    );
    expect(error.problems).to.have.deep.members([
      {
        variable: 'RECONCILE_INTERVAL_SECONDS',
        message: 'expected a divisor of 60 (1, 2, 3, 5, ..., 30, 60)',
      },
      { variable: 'REFRESH_CONCURRENCY', message: 'expected at least 1 job' },
      { variable: 'JOB_LOCK_SECONDS', message: 'expected a number of seconds' },
    ]);
  });

  it('reports every bad variable at once', () => {
    const error = problemsOf(
      testEnv({
        PORT: 'eighty',
        QUEUE_PREFIX: 'ls',
        DATABASE_URL: 'mysql://x/y',
        PUBLIC_URL: 'https://x.test/app',
      }),
    );
    expect(error.problems.map((p) => p.variable).sort()).to.deep.equal([
      'DATABASE_URL',
      'PORT',
      'PUBLIC_URL',
      'QUEUE_PREFIX',
    ]);
    expect(error.message).to.contain('QUEUE_PREFIX: expected a Redis Cluster hash tag');
  });

  it('requires the three endpoints for a custom cloud, and takes their origins', () => {
    const error = problemsOf(
      testEnv({ MICROSOFT_CLOUD: 'custom', GRAPH_URL: 'https://127.0.0.1:4443' }),
    );
    expect(error.problems.map((p) => p.variable).sort()).to.deep.equal([
      'MICROSOFT_AUTHORITY_HOST',
      'PARTNER_CENTER_URL',
    ]);
    const { config } = loadConfig(
      testEnv({
        MICROSOFT_CLOUD: 'custom',
        MICROSOFT_AUTHORITY_HOST: 'https://127.0.0.1:4443',
        PARTNER_CENTER_URL: 'https://127.0.0.1:4443',
        GRAPH_URL: 'https://127.0.0.1:4443',
      }),
    );
    expect(config.microsoft.endpoints.graphUrl).to.equal('https://127.0.0.1:4443');
  });

  it('uses the national cloud presets', () => {
    const { config } = loadConfig(testEnv({ MICROSOFT_CLOUD: 'china' }));
    expect(config.microsoft.endpoints.partnerCenterUrl).to.equal(
      'https://partner.partnercenterapi.microsoftonline.cn',
    );
  });

  it('names HTTP_EXTRA_CA_FILE when the file cannot be read', () => {
    const error = problemsOf(testEnv({ HTTP_EXTRA_CA_FILE: '/nonexistent/ca.pem' }));
    expect(error.problems[0]).to.deep.equal({
      variable: 'HTTP_EXTRA_CA_FILE',
      message: 'expected a readable PEM file',
    });
  });

  it('trusts no proxy by default, and takes a hop count or a list of proxy addresses', () => {
    expect(loadConfig(testEnv()).config.trustProxy).to.equal(false);
    expect(loadConfig(testEnv({ TRUST_PROXY: ' ' })).config.trustProxy).to.equal(false);
    expect(loadConfig(testEnv({ TRUST_PROXY: '0' })).config.trustProxy).to.equal(false);
    expect(loadConfig(testEnv({ TRUST_PROXY: '2' })).config.trustProxy).to.equal(2);
    expect(
      loadConfig(testEnv({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.5,fd00::/8,loopback' })).config
        .trustProxy,
    ).to.deep.equal(['10.0.0.0/8', '192.168.1.5', 'fd00::/8', 'loopback']);
  });

  it('binds every interface unless HOST names an address, which it checks', () => {
    expect(loadConfig(testEnv()).config.host).to.equal(undefined);
    expect(loadConfig(testEnv({ HOST: ' ' })).config.host).to.equal(undefined);
    expect(loadConfig(testEnv({ HOST: '127.0.0.1' })).config.host).to.equal('127.0.0.1');
    expect(loadConfig(testEnv({ HOST: '::' })).config.host).to.equal('::');
    expect(loadConfig(testEnv({ HOST: 'app.internal' })).config.host).to.equal('app.internal');
    expect(problemsOf(testEnv({ HOST: 'http://localhost' })).problems).to.deep.equal([
      {
        variable: 'HOST',
        message: 'expected an IP address (0.0.0.0, 127.0.0.1, ::) or a host name',
      },
    ]);
  });

  it('names TRUST_PROXY and shows what it takes when an entry is neither hops nor an address', () => {
    for (const [value, bad] of [
      ['true', 'true'],
      ['10.0.0.0/33', '10.0.0.0/33'],
      ['10.0.0.1,proxy.example', 'proxy.example'],
      ['1.5', '1.5'],
      ['fd00::/129', 'fd00::/129'],
    ] as const) {
      const error = problemsOf(testEnv({ TRUST_PROXY: value }));
      expect(error.problems).to.deep.equal([
        {
          variable: 'TRUST_PROXY',
          message: `"${bad}" is neither a number of proxy hops nor an IP address or CIDR block (examples: 1; 10.0.0.0/8,192.168.1.5; loopback)`,
        },
      ]);
    }
    expect(problemsOf(testEnv({ TRUST_PROXY: '50' })).problems).to.deep.equal([
      { variable: 'TRUST_PROXY', message: 'expected at most 10 proxy hops' },
    ]);
  });

  it('requires every secret, the client id and an https PUBLIC_URL in production', () => {
    const error = problemsOf({ NODE_ENV: 'production', PUBLIC_URL: 'http://x.test' });
    expect(error.problems.map((p) => p.variable).sort()).to.deep.equal([
      'ADMIN_API_TOKEN',
      'ENCRYPTION_KEYS',
      'MICROSOFT_CLIENT_ID',
      'MICROSOFT_CLIENT_SECRET',
      'PUBLIC_URL',
      'SESSION_SECRET',
    ]);
  });

  it('outside production generates missing secrets once into the local file and reuses them', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ls-')), 'nested', 'secrets.json');
    const env = { NODE_ENV: 'development' };
    const first = loadConfig(env, { localSecretsFile: file });
    expect(first.notices[0]).to.match(
      /^generated ENCRYPTION_KEYS, ADMIN_API_TOKEN, MICROSOFT_CLIENT_SECRET/,
    );
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const second = loadConfig(env, { localSecretsFile: file });
    expect(second.notices.some((n) => n.startsWith('generated'))).to.be.false;
    expect(second.config.adminApiToken).to.equal(first.config.adminApiToken);
    expect(second.config.encryptionKeys[0]!.key.equals(first.config.encryptionKeys[0]!.key)).to.be
      .true;
    expect(JSON.parse(readFileSync(file, 'utf8'))).to.have.keys([
      'ENCRYPTION_KEYS',
      'ADMIN_API_TOKEN',
      'MICROSOFT_CLIENT_SECRET',
      'SESSION_SECRET',
    ]);
  });

  it('prefers the environment to the local file and names a corrupt file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ls-')), 'secrets.json');
    writeFileSync(
      file,
      JSON.stringify({ ENCRYPTION_KEYS: 'garbage', ADMIN_API_TOKEN: 'f'.repeat(40) }),
    );
    expect(() => loadConfig({}, { localSecretsFile: file }))
      .to.throw(ConfigError)
      .with.property('message')
      .that.matches(/ENCRYPTION_KEYS: the local secrets file holds a malformed value/);
    const { config } = loadConfig(
      { ENCRYPTION_KEYS: testEnv().ENCRYPTION_KEYS, ADMIN_API_TOKEN: 'e'.repeat(40) },
      { localSecretsFile: file },
    );
    expect(config.adminApiToken).to.equal('e'.repeat(40));
  });

  it('serves /metrics on PORT unless METRICS_PORT names another port, which it checks', () => {
    expect(loadConfig(testEnv({})).config.metricsPort).to.equal(undefined);
    expect(loadConfig(testEnv({ METRICS_PORT: '9464' })).config.metricsPort).to.equal(9464);
    expect(problemsOf(testEnv({ METRICS_PORT: 'nine' })).problems).to.deep.equal([
      { variable: 'METRICS_PORT', message: 'expected a TCP port number' },
    ]);
    expect(problemsOf(testEnv({ PORT: '3000', METRICS_PORT: '3000' })).problems).to.deep.equal([
      {
        variable: 'METRICS_PORT',
        message: 'must differ from PORT (unset it to serve /metrics on PORT)',
      },
    ]);
  });
});
