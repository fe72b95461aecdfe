import { expect } from 'chai';
import { classifyMicrosoftError } from '../../src/microsoft/errors.js';
import { MicrosoftIdentity, partnerCenterScope } from '../../src/microsoft/identity.js';
import { withLock } from '../../src/queue/partition-lock.js';
import type { Database } from '../../src/store/database.js';
import { TokenCacheStore, type CachePartition } from '../../src/store/token-cache.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';

/** What an identity asked of PostgreSQL (through its only way there) and of the Redis lock. */
interface Counts {
  loads: number;
  saves: number;
  locks: number;
}

describe('access tokens from memory', function () {
  this.timeout(90_000);
  let h: Harness;
  let partnerId: string;
  let customerTenant: string;

  before(async () => {
    h = await startHarness();
    partnerId = (await h.runtime.services.partners.create('Token Memory Partner', 'test')).id;
    customerTenant = h.emulator.state.directory.partner(h.emulator.partnerTenantId)!.customers[0]!
      .tenantId;
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  /** An identity as the workers build it, with its partition reads, writes and locks counted. */
  function countedIdentity(): { identity: MicrosoftIdentity; counts: Counts } {
    const counts: Counts = { loads: 0, saves: 0, locks: 0 };
    const cache = new (class extends TokenCacheStore {
      override load(partition: CachePartition) {
        counts.loads += 1;
        return super.load(partition);
      }
      override save(
        partition: CachePartition,
        serialized: string,
        loaded: number | 'new',
        db?: Database,
      ) {
        counts.saves += 1;
        return super.save(partition, serialized, loaded, db);
      }
    })(h.runtime.store.db, h.runtime.keyRing);
    const identity = new MicrosoftIdentity(
      h.runtime.config,
      h.runtime.services.http,
      cache,
      (key, fn) => {
        counts.locks += 1;
        return withLock(h.runtime.producer, `${h.prefix}:lock:${key}`, fn);
      },
    );
    return { identity, counts };
  }

  /** A consent by the partner's admin, once its own run (which refreshes its tokens) ended. */
  async function consent(): Promise<CachePartition> {
    const { outcome } = await h.grant(partnerId, 'admin@first.example');
    expect(outcome.outcome).to.equal('completed');
    const open = await h.api('post', `/partners/${partnerId}/refresh`);
    await h.runEnded((open.body as { runId: string }).runId);
    return {
      partnerId,
      delegatedAdminId: String(outcome.delegatedAdminId),
      purpose: 'partner_center',
    };
  }

  const refreshTokenOf = (serialized: string) =>
    Object.values(
      (JSON.parse(serialized) as { RefreshToken: Record<string, { secret: string }> }).RefreshToken,
    ).map((t) => t.secret);

  /** Token requests the emulator received for `tenant` since `since` (its request log's id). */
  const tokenRequests = (tenant: string, since: number) =>
    h.emulator.state.log.filter(
      (e) => e.id > since && e.surface === 'identity' && e.path === `/${tenant}/oauth2/v2.0/token`,
    ).length;
  const lastLogId = () => h.emulator.state.log.at(-1)?.id ?? 0;

  it('reads the partition once per refresh, then serves the token and the sign-in from memory: no PostgreSQL read, no lock, no call', async () => {
    const partition = await consent();
    const { identity, counts } = countedIdentity();

    const first = await identity.accessToken(partition, [partnerCenterScope]);
    // getAllAccounts and acquireTokenSilent, one read between them.
    expect(counts).to.deep.equal({ loads: 1, saves: 0, locks: 1 });
    const second = await identity.accessToken(partition, [partnerCenterScope]);
    expect(second.accessToken).to.equal(first.accessToken);
    expect(second.result.fromCache).to.equal(true);
    expect(counts).to.deep.equal({ loads: 1, saves: 0, locks: 1 });

    const since = lastLogId();
    await identity.trySignIn(partition, [partnerCenterScope], customerTenant);
    expect(counts).to.deep.equal({ loads: 2, saves: 0, locks: 1 });
    expect(tokenRequests(customerTenant, since)).to.equal(1);
    await identity.trySignIn(partition, [partnerCenterScope], customerTenant);
    await identity.accessToken(partition, [partnerCenterScope]);
    expect(counts).to.deep.equal({ loads: 2, saves: 0, locks: 1 });
    expect(tokenRequests(customerTenant, since)).to.equal(1);
  });

  it('saves the rotated refresh token before answering, under the lock, and serves the new token after', async () => {
    const partition = await consent();
    const { identity, counts } = countedIdentity();
    await identity.accessToken(partition, [partnerCenterScope]);
    const before = (await h.runtime.services.tokenCache.load(partition))!;

    const refreshed = await identity.accessToken(partition, [partnerCenterScope], undefined, {
      forceRefresh: true,
    });
    expect(counts).to.deep.equal({ loads: 2, saves: 1, locks: 2 });
    const after = (await h.runtime.services.tokenCache.load(partition))!;
    expect(after.version).to.equal(before.version + 1);
    const rotated = refreshTokenOf(after.serialized);
    expect(rotated).to.have.length(1);
    expect(rotated).to.not.deep.equal(refreshTokenOf(before.serialized));
    // What is stored is what MSAL holds: the rotated token, not a copy from before.
    expect(rotated).to.deep.equal(
      refreshTokenOf(identity.app(partition).getTokenCache().serialize()),
    );

    const again = await identity.accessToken(partition, [partnerCenterScope]);
    expect(again.accessToken).to.equal(refreshed.accessToken);
    expect(counts).to.deep.equal({ loads: 2, saves: 1, locks: 2 });
  });

  it('gives a new consent its own token, never the one of the consent it replaced', async () => {
    const { identity, counts } = countedIdentity();
    const old = await consent();
    const oldToken = await identity.accessToken(old, [partnerCenterScope]);
    await identity.trySignIn(old, [partnerCenterScope], customerTenant);
    const loads = counts.loads;

    const renewed = await consent();
    expect(renewed.delegatedAdminId).to.not.equal(old.delegatedAdminId);
    const since = lastLogId();
    const newToken = await identity.accessToken(renewed, [partnerCenterScope]);
    expect(newToken.accessToken).to.not.equal(oldToken.accessToken);
    await identity.trySignIn(renewed, [partnerCenterScope], customerTenant);
    // Both read from the new partition, and the customer was signed in to again.
    expect(counts.loads).to.equal(loads + 2);
    expect(tokenRequests(customerTenant, since)).to.equal(1);
  });

  it('drops what it kept of a consent Microsoft refused: no token and no sign-in from memory after', async () => {
    const partition = await consent();
    const { identity, counts } = countedIdentity();
    await identity.accessToken(partition, [partnerCenterScope]);
    await identity.trySignIn(partition, [partnerCenterScope], customerTenant);
    await h.emulator.http.post(`${h.emulator.url}/_emulator/users/admin@first.example/revoke`);

    const refused = await identity
      .accessToken(partition, [partnerCenterScope], undefined, { forceRefresh: true })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(classifyMicrosoftError(refused)).to.include({ kind: 'needs_reconsent' });
    const loads = counts.loads;
    const since = lastLogId();
    // The token is read from the partition again (MSAL may still find its access token
    // there); the customer's sign-in goes to Microsoft again, which refuses it.
    await identity.accessToken(partition, [partnerCenterScope]).catch(() => undefined);
    expect(counts.loads).to.equal(loads + 1);
    const signIn = await identity.trySignIn(partition, [partnerCenterScope], customerTenant).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classifyMicrosoftError(signIn, 'customer')).to.include({ kind: 'needs_reconsent' });
    expect(counts.loads).to.equal(loads + 2);
    expect(tokenRequests(customerTenant, since)).to.equal(1);
  });

  it('stops the next run of a consent revoked since the last one, though its tokens are still in memory', async () => {
    // A sign-in in the second of the last revocation is revoked too, as at Entra.
    await h.emulator.http.post(`${h.emulator.url}/_emulator/clock`, { advanceSeconds: 1 });
    const partition = await consent();
    // The consent's own run: every customer signed in to, the tokens kept by the workers.
    const first = await h.api('post', `/partners/${partnerId}/refresh`);
    const firstRun = await h.runEnded((first.body as { runId: string }).runId);
    expect(firstRun.status).to.equal('completed');
    await h.emulator.http.post(`${h.emulator.url}/_emulator/users/admin@first.example/revoke`);

    const next = await h.api('post', `/partners/${partnerId}/refresh`);
    const run = await h.runEnded((next.body as { runId: string }).runId);
    expect(run.status).to.equal('stopped');
    expect(run.error).to.match(/revoked/);
    const stored = await h.runtime.services.consents.get(partition.delegatedAdminId);
    expect(stored?.status).to.equal('needs_reconsent');
  });
});
