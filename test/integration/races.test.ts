import { once } from 'node:events';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { classifyMicrosoftError } from '../../src/microsoft/errors.js';
import { MicrosoftIdentity, partnerCenterScope } from '../../src/microsoft/identity.js';
import { withLock } from '../../src/queue/partition-lock.js';
import { TokenCacheStore, type CachePartition } from '../../src/store/token-cache.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { within } from '../support/within.js';
import { freshPrefix, testRedisUrl } from '../support/redis.js';

describe('partition lock', function () {
  this.timeout(20_000);
  let redis: Redis;
  const key = () => `${freshPrefix()}:lock:test`;

  before(() => {
    redis = new Redis(testRedisUrl);
  });
  after(() => redis?.disconnect());

  it('is kept while its holder works past the TTL: a contender cannot take it meanwhile', async () => {
    const lock = key();
    const ttlMs = 300;
    let holderDone = false;
    // The holder works until the contender, waiting well past three TTLs, has given up.
    let contenderSettled!: () => void;
    const contenderGaveUp = new Promise<void>((resolve) => (contenderSettled = resolve));
    const holder = withLock(
      redis,
      lock,
      async () => {
        await within(5_000, 'the contender to give up', contenderGaveUp);
        holderDone = true;
        return 'holder';
      },
      { ttlMs },
    );
    const contender = withLock(
      redis,
      lock,
      () => Promise.resolve(holderDone ? 'contender, after the holder' : 'contender, meanwhile'),
      { ttlMs, waitMs: 3 * ttlMs },
    ).then(
      (took) => took,
      (error: unknown) => error as Error,
    );
    const outcome = await within(5_000, 'the contender', contender);
    contenderSettled();
    expect(outcome).to.be.instanceOf(Error);
    expect((outcome as Error).message).to.equal(`timed out waiting for lock ${lock}`);
    // A busy partner, not a bug: the job that waited is retried, not failed at once.
    expect(classifyMicrosoftError(outcome, 'customer')).to.include({
      kind: 'transient',
      code: 'sign_in_busy',
    });
    expect(await holder).to.equal('holder');
    expect(await redis.exists(lock)).to.equal(0);
  });

  it('lost while held (taken over after a lapse): the holder is told and its result refused', async () => {
    const lock = key();
    const ttlMs = 300;
    const held = withLock(
      redis,
      lock,
      async (signal) => {
        // As if this holder paused past its TTL and another process took the lock.
        await redis.set(lock, 'another holder', 'PX', 10_000);
        await within(5_000, 'the renewal to notice the lost lock', once(signal, 'abort'));
        return 'written under a lost lock';
      },
      { ttlMs },
    );
    const outcome = await held.then(
      () => 'accepted',
      (error: unknown) => (error as Error).name,
    );
    expect(outcome).to.equal('LockLostError');
    expect(await redis.get(lock)).to.equal('another holder');
  });
});

describe('token cache: two writers from the same version', function () {
  this.timeout(60_000);
  let h: Harness;

  before(async () => {
    h = await startHarness();
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  /** Each writer's n-th cache read waits for the other's n-th: both read before either writes. */
  function lockstepCaches(): [TokenCacheStore, TokenCacheStore] {
    const reads = [0, 0];
    const waiting: (() => void)[] = [];
    const make = (self: 0 | 1) => {
      const other = 1 - self;
      return new (class extends TokenCacheStore {
        override async load(partition: CachePartition) {
          const loaded = await super.load(partition);
          reads[self]! += 1;
          waiting.splice(0).forEach((wake) => wake());
          while (reads[other]! < reads[self]!) {
            await new Promise<void>((resolve) => waiting.push(resolve));
          }
          return loaded;
        }
      })(h.runtime.store.db, h.runtime.keyRing);
    };
    return [make(0), make(1)];
  }

  const refreshTokenOf = (serialized: string) =>
    Object.values(
      (JSON.parse(serialized) as { RefreshToken: Record<string, { secret: string }> }).RefreshToken,
    ).map((t) => t.secret);

  it("cannot both save: the second fails and the stored cache is the first writer's", async () => {
    const partner = (await h.api('post', '/partners', { name: 'Racing Partner' })).body as {
      id: string;
    };
    const { outcome } = await h.grant(partner.id, 'admin@first.example');
    expect(outcome.outcome).to.equal('completed');
    // The consent's own refresh redeems the refresh token too: over before the race starts.
    const consentRun = await h.runtime.services.runs.latest(partner.id);
    await h.runEnded(consentRun!.id);
    const partition: CachePartition = {
      partnerId: partner.id,
      delegatedAdminId: outcome.delegatedAdminId as string,
      purpose: 'partner_center',
    };
    // Two workers whose lock lapsed: nothing serializes them but the cache's version.
    const noLock = <T>(_key: string, fn: () => Promise<T>) => fn();
    const writers = lockstepCaches().map(
      (cache) => new MicrosoftIdentity(h.runtime.config, h.runtime.services.http, cache, noLock),
    );
    const results = await within(
      30_000,
      'both token refreshes',
      Promise.allSettled(
        writers.map((w) =>
          w.accessToken(partition, [partnerCenterScope], undefined, {
            forceRefresh: true,
          }),
        ),
      ),
    );
    const saved = results.findIndex((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.map((r) => (r.reason as Error).name)).to.deep.equal(['TokenCacheConflict']);
    const stored = (await h.runtime.services.tokenCache.load(partition))!;
    const winner = writers[saved]!.app(partition).getTokenCache().serialize();
    const loser = writers[1 - saved]!.app(partition).getTokenCache().serialize();
    expect(refreshTokenOf(stored.serialized)).to.deep.equal(refreshTokenOf(winner));
    expect(refreshTokenOf(loser)).to.not.deep.equal(refreshTokenOf(winner));
  });
});
