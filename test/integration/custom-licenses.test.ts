import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { customLicensePermissions } from '../../src/domain/custom-licenses.js';
import { withLock } from '../../src/queue/partition-lock.js';
import { countCustomLicenses } from '../../src/services/custom-licenses.js';
import { jobIds } from '../../src/queue/catalog.js';
import type { CachePartition } from '../../src/store/token-cache.js';
import { delegatedAdmins, tokenCachePartitions } from '../../src/store/schema.js';
import { partnerCenterScope, testScenario } from '../support/emulator.js';
import { publicUrl, startHarness, type Harness } from '../support/harness.js';
import { testJobContext } from '../support/job-context.js';
import { within } from '../support/within.js';

const customerTenant = 'cccccccc-0000-4000-8000-000000000003';
/** Licensed users of a second domain, enough for a second page of users. */
const bulkUsers = 1_050;

// The second partner's customer, with known numbers: users a and b are licensed (SPB) in
// explicit.example, c has no license and no mailbox, info is a shared mailbox; group Managed
// holds b and the group Support, which holds a; SPB is bought 10 monthly + 5 yearly. Mailboxes
// as the usage report (names concealed, two days behind) sees them: a room, a user mailbox
// too new for the report, one deleted four days ago, and a shared one deleted yesterday
// (still there as of the report's date).
const scenario = testScenario();
const second = scenario.partners[1]!;
second.users = [
  { upn: 'admin@second.example', mfa: true, adminAgent: true },
  { upn: 'billing@second.example', mfa: true, adminAgent: true },
  { upn: 'nomfa@second.example', mfa: false, adminAgent: true },
  {
    upn: 'noreports@second.example',
    mfa: true,
    adminAgent: true,
    grantedScopes: [
      partnerCenterScope,
      ...customLicensePermissions
        .filter((p) => p !== 'Reports.Read.All')
        .map((p) => `https://graph.microsoft.com/${p}`),
    ],
  },
  {
    upn: 'partial@second.example',
    mfa: true,
    adminAgent: true,
    grantedScopes: [
      partnerCenterScope,
      ...customLicensePermissions
        .filter((p) => p !== 'GroupMember.Read.All')
        .map((p) => `https://graph.microsoft.com/${p}`),
    ],
  },
];
const customer = (second.customers as { users: unknown[] }[])[0]!;
customer.users = [
  ...customer.users,
  { upn: 'boardroom@explicit.example', licenses: [], mailbox: 'room' },
  { upn: 'newhire@explicit.example', licenses: [], mailbox: 'user', mailboxCreatedDaysAgo: 1 },
  { upn: 'left@explicit.example', licenses: [], mailbox: 'user', deletedDaysAgo: 4 },
  { upn: 'closed@explicit.example', licenses: [], mailbox: 'shared', deletedDaysAgo: 1 },
  ...Array.from({ length: bulkUsers }, (_, i) => ({
    upn: `user${i}@bulk.example`,
    licenses: ['EXCHANGESTANDARD'],
    mailbox: 'none',
  })),
];

interface TokenStatus {
  status: string;
  reason: string | null;
  nextAction: string | null;
  upn: string | null;
  lastValidatedAt: string | null;
  lastUsedAt: string | null;
}
interface CountView {
  name: string;
  state: string;
  quantity: number | null;
  message: string | null;
  lastCounted: { quantity: number; countedAt: string } | null;
}

describe('custom licenses: the second token, its validation and the counts it feeds', function () {
  this.timeout(120_000);
  let h: Harness;
  let partnerId: string;

  // Each test has its own service, emulator and consented partner: tests revoke tokens, move
  // the emulator's clock and count the calls a refresh makes.
  beforeEach(async () => {
    h = await startHarness(scenario, { GRAPH_REQUESTS_PER_SECOND: '200' });
    partnerId = (
      (await h.api('post', '/partners', { name: 'Counting Partner' })).body as {
        id: string;
      }
    ).id;
    await h.api('post', `/partners/${partnerId}/companies`, {
      name: 'Explicit Customer',
      customerTenantId: customerTenant,
    });
    await h.grant(partnerId, 'admin@second.example');
    await h.runEnded(
      (
        (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
          run: { id: string };
        }
      ).run.id,
    );
  });
  afterEach(async function () {
    await h?.close(this.currentTest?.state === 'failed');
  });

  const tokenStatus = async () =>
    (await h.api('get', `/partners/${partnerId}/custom-license-token`)).body as TokenStatus;

  /** The custom-license consent, straight through as `upn`; resolves once it is saved. */
  async function generateToken(upn: string): Promise<Record<string, unknown>> {
    const started = await h.api('post', `/partners/${partnerId}/custom-license-token/consents`, {
      returnTo: '/company/delegated-admin',
      loginHint: upn,
    });
    expect(started.status).to.equal(201);
    const { attemptId, authorizeUrl } = started.body as {
      attemptId: string;
      authorizeUrl: string;
    };
    const scopes = new URL(authorizeUrl).searchParams.get('scope')!;
    expect(scopes).to.contain('https://graph.microsoft.com/User.Read.All');
    expect(scopes).to.not.contain('partnercenter');
    const atMicrosoft = await h.emulator.http.get(authorizeUrl);
    const location = new URL(String(atMicrosoft.headers.location));
    expect(location.origin).to.equal(new URL(publicUrl).origin);
    const back = await request(h.app).get(location.pathname + location.search);
    expect(back.status).to.equal(303);
    return h.finished('consent', jobIds.exchangeConsentCode(attemptId));
  }

  /** Sync now, to the run's end; the company's custom-license counts by name. */
  async function refreshCounts(): Promise<Map<string, CountView>> {
    const { runId } = (await h.api('post', `/partners/${partnerId}/refresh`)).body as {
      runId: string;
    };
    expect(await h.runEnded(runId)).to.include({ status: 'completed', succeeded: 1 });
    const { companies } = (await h.api('get', `/partners/${partnerId}/companies`)).body as {
      companies: { licenses: unknown[]; customLicenses: (CountView & { countedAt: string })[] }[];
    };
    // Partner Center licenses refresh whatever the custom-license token's state.
    expect(companies[0]!.licenses).to.not.be.empty;
    return new Map(companies[0]!.customLicenses.map((c) => [c.name, c]));
  }

  const define = async (body: object) => {
    const res = await h.api('post', `/partners/${partnerId}/custom-licenses`, body);
    expect(res.status, res.text).to.equal(201);
    return res.body as { id: string };
  };

  /** One definition of every kind, for the company. */
  async function defineEveryKind(): Promise<void> {
    await define({ name: 'Licensed users', kind: 'licensed_users' });
    await define({ name: 'Explicit users', kind: 'licensed_users', domains: ['explicit.example'] });
    await define({ name: 'Managed group', kind: 'group_members', group: 'Managed' });
    await define({ name: 'User mailboxes', kind: 'user_mailboxes' });
    await define({ name: 'Shared mailboxes', kind: 'shared_mailboxes' });
    await define({ name: 'Business Premium', kind: 'sku_quantity', skuPartNumber: 'SPB' });
    await define({ name: 'Antispam', kind: 'fixed', quantity: 7 });
  }

  /** Every kind defined, and a valid custom-license token in use (billing@second.example). */
  async function countingWithValidToken(): Promise<void> {
    await defineEveryKind();
    expect(await generateToken('billing@second.example')).to.include({ outcome: 'completed' });
  }

  it('validates definitions: a clear 400 for a bad kind, parameter or company, and nothing saved', async () => {
    for (const [body, message] of [
      [{ name: 'X', kind: 'seats' }, /kind/],
      [{ name: 'X', kind: 'fixed', quantity: -1 }, /quantity/],
      [{ name: 'X', kind: 'licensed_users', domains: ['not a domain'] }, /DNS domain/],
      [{ name: '', kind: 'fixed', quantity: 1 }, /name/],
      [
        {
          name: 'X',
          kind: 'fixed',
          quantity: 1,
          companyIds: ['00000000-0000-4000-8000-000000000000'],
        },
        /not companies of this partner/,
      ],
    ] as const) {
      const res = await h.api('post', `/partners/${partnerId}/custom-licenses`, body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect((res.body as { error: { message: string } }).error.message).to.match(message);
    }
    const list = (await h.api('get', `/partners/${partnerId}/custom-licenses`)).body as {
      customLicenses: unknown[];
    };
    expect(list.customLicenses).to.deep.equal([]);
  });

  it('without a token: the status says why, custom licenses "will fail to update", licenses still refresh', async () => {
    await defineEveryKind();

    const status = await tokenStatus();
    expect(status).to.include({ status: 'missing', upn: null });
    expect(status.reason).to.match(/No custom-license token/);
    const delegated = (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      customLicenseToken: { status: string };
    };
    expect(delegated.customLicenseToken.status).to.equal('missing');

    const counts = await refreshCounts();
    expect(counts.get('Managed group')).to.include({ state: 'will_fail', quantity: null });
    expect(counts.get('Managed group')!.message).to.match(
      /^Will fail to update: No custom-license token/,
    );
    // A fixed quantity needs no token.
    expect(counts.get('Antispam')).to.include({ state: 'counted', quantity: 7 });
    // The company counts as refreshed, and the run's summary says its custom licenses failed.
    const after = (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      run: { succeeded: number; customLicensesFailed: number };
    };
    expect(after.run).to.include({ succeeded: 1, customLicensesFailed: 1 });
  });

  it('a token without MFA is invalid, says why, and custom licenses say they will fail', async () => {
    await defineEveryKind();
    await generateToken('nomfa@second.example');
    const status = await tokenStatus();
    expect(status).to.include({ status: 'invalid', upn: 'nomfa@second.example' });
    expect(status.reason).to.match(/without multi-factor authentication/);
    expect(status.nextAction).to.match(/Generate the custom-license token/);
    const counts = await refreshCounts();
    expect(counts.get('Licensed users')).to.include({ state: 'will_fail' });
    expect(counts.get('Licensed users')!.message).to.match(/multi-factor/);
  });

  it('a token lacking a permission a definition needs is invalid, naming the permission', async () => {
    await defineEveryKind();
    await generateToken('partial@second.example');
    const status = await tokenStatus();
    expect(status.status).to.equal('invalid');
    expect(status.reason).to.match(/lacks the GroupMember\.Read\.All permission/);
  });

  it('a token lacking Reports.Read.All is invalid, and mailbox counts will fail naming it', async () => {
    await defineEveryKind();
    await generateToken('noreports@second.example');
    const status = await tokenStatus();
    expect(status.status).to.equal('invalid');
    expect(status.reason).to.match(/lacks the Reports\.Read\.All permission/);
    const counts = await refreshCounts();
    for (const name of ['User mailboxes', 'Shared mailboxes']) {
      expect(counts.get(name)).to.include({ state: 'will_fail', quantity: null });
      expect(counts.get(name)!.message).to.match(/^Will fail to update: .*Reports\.Read\.All/);
    }
  });

  it('a valid token counts every kind correctly, through Graph paging and $count', async () => {
    await defineEveryKind();
    const since = h.emulator.state.log.at(-1)?.id ?? 0;
    expect(await generateToken('billing@second.example')).to.include({ outcome: 'completed' });
    const status = await tokenStatus();
    expect(status).to.include({ status: 'valid', upn: 'billing@second.example', reason: null });
    expect(status.lastValidatedAt).to.be.a('string');
    expect(status.lastUsedAt).to.be.a('string');

    const counts = await refreshCounts();
    const quantities = Object.fromEntries([...counts].map(([name, c]) => [name, c.quantity]));
    expect(quantities).to.deep.equal({
      'Licensed users': 2 + bulkUsers,
      'Explicit users': 2,
      'Managed group': 2,
      'User mailboxes': 2,
      'Shared mailboxes': 2,
      'Business Premium': 15,
      Antispam: 7,
    });
    for (const c of counts.values()) expect(c.state).to.equal('counted');
    const reportDate = new Date(Date.now() - 2 * 24 * 3600 * 1000).toISOString().slice(0, 10);
    expect(counts.get('User mailboxes')!.message).to.equal(
      `As of Microsoft's mailbox usage report of ${reportDate}.`,
    );
    const graph = h.emulator.state.log.filter((e) => e.id > since && e.surface === 'graph');
    // One report for both mailbox kinds; its download (which refuses a bearer token) fetched.
    const reports = graph.filter((e) => e.path.startsWith('/v1.0/reports/'));
    expect(reports.map((e) => e.status)).to.deep.equal([302]);
    expect(
      graph.filter((e) => e.path.startsWith('/data/download/')).map((e) => e.status),
    ).to.deep.equal([200]);
    // No one's mailbox settings are read.
    expect(graph.filter((e) => e.path.includes('mailboxSettings'))).to.be.empty;
    expect(graph.filter((e) => e.path === '/v1.0/users' && e.query.includes('skiptoken'))).to.not.be
      .empty;
    expect(graph.filter((e) => e.path.endsWith('/$count') && e.status === 200)).to.not.be.empty;
    // The stored token caches keep no token of the customer tenant: one per customer would
    // make every later token call of the partner load and save them all.
    const partitions = await h.runtime.store.db
      .select({
        id: tokenCachePartitions.delegatedAdminId,
        partnerId: tokenCachePartitions.partnerId,
        purpose: tokenCachePartitions.purpose,
      })
      .from(tokenCachePartitions);
    expect(partitions.map((p) => p.purpose)).to.include('custom_license');
    for (const { id, partnerId: owner, purpose } of partitions) {
      const stored = await h.runtime.services.tokenCache.load({
        delegatedAdminId: id,
        partnerId: owner,
        purpose,
      });
      const cache = JSON.parse(stored!.serialized) as Record<string, Record<string, object>>;
      expect(Object.keys(cache.RefreshToken ?? {}), purpose).to.not.be.empty;
      for (const section of ['AccessToken', 'IdToken']) {
        expect(JSON.stringify(cache[section] ?? {}).toLowerCase(), section).to.not.include(
          customerTenant.toLowerCase(),
        );
      }
    }
  });

  it('without a role that may read reports, the mailbox counts fail saying what is needed; others count', async () => {
    await countingWithValidToken();
    const patch = (body: object) =>
      h.emulator.http.patch(`${h.emulator.url}/_emulator/customers/${customerTenant}`, body);
    // The access token in hand stays valid; the partner's access keeps only a directory role.
    await patch({
      gdap: [
        {
          displayName: 'Directory only',
          status: 'active',
          endDateTime: '+P300D',
          accessAssignments: [{ group: 'All partner users', roles: ['Directory Readers'] }],
        },
      ],
    });
    try {
      const counts = await refreshCounts();
      for (const name of ['User mailboxes', 'Shared mailboxes']) {
        expect(counts.get(name)).to.include({ state: 'failed', quantity: null });
        expect(counts.get(name)!.message).to.match(/Reports\.Read\.All.*Reports Reader/);
      }
      expect(counts.get('Managed group')).to.include({ state: 'counted', quantity: 2 });
    } finally {
      await patch({ delegatedAccess: true });
    }
  });

  it('a new token that fails validation does not displace the valid one in use', async () => {
    await countingWithValidToken();
    expect(await generateToken('nomfa@second.example')).to.include({ outcome: 'failed' });
    const status = await tokenStatus();
    expect(status).to.include({ status: 'valid', upn: 'billing@second.example' });
    expect(status.nextAction).to.match(
      /without multi-factor.*The token in use \(billing@second\.example\) is kept/,
    );
  });

  it('Graph throttling and outages are retried: every count still lands, once', async () => {
    await countingWithValidToken();
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, [
      { path: '/v1.0/groups/**', status: 429, retryAfterSec: 1, count: 2 },
      { path: '/v1.0/subscribedSkus', status: 503, count: 1 },
    ]);
    try {
      const since = h.emulator.state.log.at(-1)?.id ?? 0;
      const counts = await refreshCounts();
      expect(counts.get('Managed group')).to.include({ state: 'counted', quantity: 2 });
      expect(counts.get('Business Premium')).to.include({ state: 'counted', quantity: 15 });
      const faults = h.emulator.state.log.filter((e) => e.id > since && e.fault);
      expect(faults.map((e) => e.status).sort()).to.deep.equal([429, 429, 503]);
    } finally {
      await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    }
  });

  it('Graph unavailable on the last attempt: the count failed with a sentence that promises no retry', async () => {
    await define({ name: 'Business Premium', kind: 'sku_quantity', skuPartNumber: 'SPB' });
    expect(await generateToken('billing@second.example')).to.include({ outcome: 'completed' });
    const company = (await h.runtime.services.partners.companies(partnerId))[0]!;
    h.emulator.state.addFault({ path: '/v1.0/subscribedSkus', status: 503, count: 1 });
    const ctx = testJobContext({
      jobId: 'last-attempt',
      log: h.runtime.log,
      attemptsMade: 5,
      finalAttempt: true,
    });
    const counts = await countCustomLicenses(
      { ...h.runtime.services, queues: h.runtime.queues },
      ctx,
      partnerId,
      company.id,
      customerTenant,
    );
    expect(counts).to.have.length(1);
    expect(counts[0]).to.include({ state: 'failed', quantity: null });
    expect(counts[0]!.message).to.equal(
      'Microsoft Graph failed on every attempt (serviceNotAvailable). Retry this customer.',
    );
  });

  it('a definition for chosen companies counts for those only', async () => {
    const other = (
      await h.api('post', `/partners/${partnerId}/companies`, {
        name: 'Other Customer',
        domain: 'other.example',
      })
    ).body as { id: string };
    const { companies } = (await h.api('get', `/partners/${partnerId}/companies`)).body as {
      companies: { id: string; customerTenantId: string | null }[];
    };
    const here = companies.find((c) => c.customerTenantId === customerTenant)!;
    await define({ name: 'Chosen here', kind: 'fixed', quantity: 4, companyIds: [here.id] });
    await define({ name: 'Chosen elsewhere', kind: 'fixed', quantity: 3, companyIds: [other.id] });
    const counts = await refreshCounts();
    expect(counts.get('Chosen here')).to.include({ state: 'counted', quantity: 4 });
    expect(counts.has('Chosen elsewhere')).to.equal(false);
  });

  it('a revoked token is invalid once validated, with the fix', async () => {
    await defineEveryKind();
    await generateToken('billing@second.example');
    expect((await tokenStatus()).status).to.equal('valid');
    expect((await refreshCounts()).get('Shared mailboxes')).to.include({
      state: 'counted',
      quantity: 2,
    });
    await h.emulator.http.post(`${h.emulator.url}/_emulator/users/billing@second.example/revoke`);
    const { jobId } = (await h.api('post', `/partners/${partnerId}/custom-license-token/validate`))
      .body as { jobId: string };
    await h.finished('refresh', jobId);
    const status = await tokenStatus();
    expect(status.status).to.equal('invalid');
    expect(status.reason).to.match(/revoked.*Generate the custom-license token again/);
    const counts = await refreshCounts();
    expect(counts.get('Shared mailboxes')!.message).to.match(/^Will fail to update: .*revoked/);
    // Billing keeps the last quantity that did count.
    expect(counts.get('Shared mailboxes')!.lastCounted).to.include({ quantity: 2 });
  });

  it('a revoked token raises the custom-license-token-invalid alert once; a new token resolves it', async () => {
    await generateToken('billing@second.example');
    await h.emulator.http.post(`${h.emulator.url}/_emulator/users/billing@second.example/revoke`);
    const validate = async () => {
      const { jobId } = (
        await h.api('post', `/partners/${partnerId}/custom-license-token/validate`)
      ).body as { jobId: string };
      await h.finished('refresh', jobId);
    };
    await validate();
    await validate();
    // Cancellation windows closing within a week raise their own alert on some days.
    const alerts = async () =>
      (
        (await h.api('get', `/partners/${partnerId}/alerts`)).body.alerts as {
          event: string;
          details: { reason: string };
          resolvedAt: string | null;
        }[]
      ).filter((a) => a.event !== 'renewalWindow');
    const [raised, ...more] = await alerts();
    expect(more).to.deep.equal([]);
    expect(raised).to.include({ event: 'customLicenseTokenInvalid', resolvedAt: null });
    expect(raised!.details.reason).to.match(/revoked.*Generate the custom-license token again/);
    await h.emulator.http.post(`${h.emulator.url}/_emulator/clock`, { advanceSeconds: 1 });
    await generateToken('billing@second.example');
    const [resolved] = await alerts();
    expect(resolved!.resolvedAt).to.be.a('string');
  });

  it('a token unused for 80 days is expiring; validating it uses it and makes it valid again', async () => {
    await defineEveryKind();
    await h.emulator.http.post(`${h.emulator.url}/_emulator/clock`, { advanceSeconds: 1 });
    await generateToken('admin@second.example');
    expect((await tokenStatus()).status).to.equal('valid');
    await h.runtime.store.db
      .update(delegatedAdmins)
      .set({ lastUsedAt: sql`now() - interval '80 days'` })
      .where(eq(delegatedAdmins.kind, 'custom_license'));
    const expiring = await tokenStatus();
    expect(expiring.status).to.equal('expiring');
    expect(expiring.reason).to.match(/expires on \d{4}-\d\d-\d\d/);
    const { jobId } = (await h.api('post', `/partners/${partnerId}/custom-license-token/validate`))
      .body as { jobId: string };
    await h.finished('refresh', jobId);
    const renewed = await tokenStatus();
    expect(renewed.status).to.equal('valid');
    expect(Date.parse(renewed.lastUsedAt!)).to.be.greaterThan(Date.now() - 60_000);
  });

  it('takes customer-tenant tokens beside a held partition lock, leaving the stored cache as it was', async () => {
    expect(await generateToken('billing@second.example')).to.include({ outcome: 'completed' });
    const { identity, tokenCache, customLicenses } = h.runtime.services;
    const token = (await customLicenses.currentToken(partnerId))!;
    const partition: CachePartition = {
      partnerId,
      delegatedAdminId: token.id,
      purpose: 'custom_license',
    };
    const stored = (await tokenCache.load(partition))!;
    const since = h.emulator.state.log.at(-1)?.id ?? 0;
    const calls = 5;
    // The key the service's own lock takes for this partition (its prefix, then the identity's).
    const lockKey = `${h.prefix}:lock:tokens:${token.id}:custom_license`;
    let homeTenantSettled = false;
    const { waiting } = await withLock(h.runtime.producer, lockKey, async () => {
      expect(await h.runtime.producer.exists(lockKey)).to.equal(1);
      // A home-tenant call still waits for the lock; customer-tenant calls do not.
      const waiting = identity
        .accessToken(partition, [identity.graphDefaultScope], undefined, { forceRefresh: true })
        .finally(() => (homeTenantSettled = true));
      const tokens = await within(
        20_000,
        'customer-tenant tokens while the partition is locked',
        Promise.all(
          Array.from({ length: calls }, () =>
            identity.accessToken(partition, [identity.graphDefaultScope], customerTenant, {
              forceRefresh: true,
            }),
          ),
        ),
      );
      await within(
        20_000,
        'customer-tenant sign-ins while the partition is locked',
        Promise.all(
          Array.from({ length: calls }, () =>
            identity.trySignIn(partition, [identity.graphDefaultScope], customerTenant),
          ),
        ),
      );
      for (const { result } of tokens) expect(result).to.include({ tenantId: customerTenant });
      expect(homeTenantSettled).to.equal(false);
      expect(await tokenCache.load(partition)).to.deep.equal(stored);
      // Wrapped: returned bare, the lock's holder would wait for it.
      return { waiting };
    });
    const homeTenant = await within(30_000, 'the home-tenant token after the lock', waiting);
    const requests = h.emulator.state.log.filter((e) => e.id > since);
    const redeemed = requests.filter((e) => e.path === `/${customerTenant}/oauth2/v2.0/token`);
    // The forced calls redeem each; the sign-ins after them find the tenant's token in memory.
    expect(redeemed).to.have.length(calls);
    // MSAL reads the authority's OpenID configuration once, not once per call.
    const discoveries = requests.filter((e) =>
      e.path.endsWith('/.well-known/openid-configuration'),
    );
    expect(discoveries.length).to.be.at.most(1);
    // Once the lock is free the home-tenant call redeems and saves, as before.
    expect(homeTenant.result.tenantId).to.not.equal(customerTenant);
    expect((await tokenCache.load(partition))!.version).to.be.greaterThan(stored.version);
  });

  it('edits and deletes a definition; its history of counts stays', async () => {
    await defineEveryKind();
    for (let run = 0; run < 3; run++) await refreshCounts();
    const list = (await h.api('get', `/partners/${partnerId}/custom-licenses`)).body as {
      customLicenses: { id: string; name: string; kind: string }[];
    };
    const fixed = list.customLicenses.find((d) => d.name === 'Antispam')!;
    const patched = await h.api('patch', `/partners/${partnerId}/custom-licenses/${fixed.id}`, {
      quantity: 9,
    });
    expect(patched.status).to.equal(200);
    expect(patched.body).to.include({ name: 'Antispam', kind: 'fixed', quantity: 9 });
    const changeKind = await h.api('patch', `/partners/${partnerId}/custom-licenses/${fixed.id}`, {
      kind: 'licensed_users',
    });
    expect(changeKind.status).to.equal(400);
    const deleted = await h.api('delete', `/partners/${partnerId}/custom-licenses/${fixed.id}`);
    expect(deleted.status).to.equal(204);
    const after = (await h.api('get', `/partners/${partnerId}/custom-licenses`)).body as {
      customLicenses: { id: string }[];
    };
    expect(after.customLicenses.map((d) => d.id)).to.not.include(fixed.id);
    expect(
      (await h.api('delete', `/partners/${partnerId}/custom-licenses/${fixed.id}`)).status,
    ).to.equal(404);
    expect(await h.runtime.services.customLicenses.history(fixed.id)).to.have.length.above(2);
  });
});
