import { AxiosError } from 'axios';
import { expect } from 'chai';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { Redis } from 'ioredis';
import pg from 'pg';
import { isRedisUnavailable } from '../../src/queue/connections.js';
import { isDatabaseUnavailable } from '../../src/store/availability.js';
import { closedPort } from '../support/redis.js';

describe('outage detection', () => {
  it('a refused PostgreSQL connection, raw or wrapped by drizzle, is an outage', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: await closedPort() });
    const refused = await client.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isDatabaseUnavailable(refused)).to.equal(true);
    expect(isDatabaseUnavailable(new DrizzleQueryError('select 1', [], refused as Error))).to.equal(
      true,
    );
  });

  it('a server shutting down or a dropped connection is an outage; a bad query is not', () => {
    const sqlState = (code: string) => Object.assign(new Error('server says no'), { code });
    expect(isDatabaseUnavailable(sqlState('57P01'))).to.equal(true);
    expect(isDatabaseUnavailable(sqlState('08006'))).to.equal(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).to.equal(true);
    expect(isDatabaseUnavailable(sqlState('23505'))).to.equal(false);
    expect(isDatabaseUnavailable(sqlState('22P05'))).to.equal(false);
  });

  it('Microsoft being unreachable belongs to the Microsoft error table, not to outages', () => {
    const socket = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const axios = new AxiosError('connect ECONNREFUSED', 'ECONNREFUSED');
    axios.cause = socket;
    expect(isDatabaseUnavailable(axios)).to.equal(false);
    expect(isRedisUnavailable(axios)).to.equal(false);
  });

  it('a command on a fail-fast Redis connection that is down is an outage', async () => {
    const redis = new Redis(await closedPort(), {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    });
    redis.on('error', () => {});
    const failed = await redis.get('x').then(
      () => undefined,
      (error: unknown) => error,
    );
    redis.disconnect();
    expect(isRedisUnavailable(failed)).to.equal(true);
    expect(isRedisUnavailable(new Error('WRONGTYPE Operation against a key'))).to.equal(false);
  });
});
