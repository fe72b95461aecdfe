import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createProducerConnection } from '../../src/queue/connections.js';
import { JobQueues } from '../../src/queue/job-queues.js';
import type { Runtime } from '../../src/runtime.js';
import { createApp } from '../../src/server/app.js';
import {
  auditEvents,
  consentAttempts,
  delegatedAdmins,
  tokenCachePartitions,
} from '../../src/store/schema.js';
import { jobIds } from '../../src/queue/catalog.js';
import { replaceLegacyAdminsByDomain } from '../../src/store/replacement.js';
import type { TestEmulator } from '../support/emulator.js';
import { publicUrl, releaseTenants, startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { closedPort, testRedisUrl } from '../support/redis.js';

describe('consent: start, callback, exchange, domain-matched replacement', function () {
  this.timeout(60_000);
  let h: Harness;
  let emulator: TestEmulator;
  let runtime: Runtime;
  let app: Express;
  let prefix: string;
  const passwords: string[] = [];

  before(async () => {
    h = await startHarness();
    ({ emulator, runtime, app, prefix } = h);
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });
  // Each test's partner consents with the first partner's accounts.
  beforeEach(() => releaseTenants(h));

  const api = (method: 'get' | 'post', path: string, body?: object) => h.api(method, path, body);
  const finished = (jobId: string) => h.finished('consent', jobId);
  const grant = (partnerId: string, upn: string) => h.grant(partnerId, upn);

  async function partnerWith(legacy: string[], companiesEach = 2) {
    const partner = (
      await api('post', '/partners', { name: `Partner ${randomBytes(3).toString('hex')}` })
    ).body as { id: string };
    const legacyIds: string[] = [];
    for (const username of legacy) {
      const password = `Pw-${randomBytes(9).toString('base64url')}`;
      passwords.push(password);
      const admin = await api('post', `/partners/${partner.id}/delegated-admins`, {
        username,
        password,
      });
      expect(admin.status).to.equal(201);
      expect(admin.text).to.not.contain(password);
      legacyIds.push((admin.body as { id: string }).id);
      for (let i = 0; i < companiesEach; i++) {
        await api('post', `/partners/${partner.id}/companies`, {
          name: `Co ${username} ${i}`,
          customerTenantId: crypto.randomUUID(),
          delegatedAdminId: (admin.body as { id: string }).id,
        });
      }
    }
    return { partnerId: partner.id, legacyIds };
  }

  async function startConsent(partnerId: string, loginHint?: string) {
    const res = await api('post', `/partners/${partnerId}/consents`, {
      returnTo: '/company/delegated-admin',
      ...(loginHint ? { loginHint } : {}),
    });
    expect(res.status).to.equal(201);
    return res.body as { attemptId: string; authorizeUrl: string };
  }

  /** Follows Microsoft's straight-through sign-in; returns our callback's path and query. */
  async function signInAtMicrosoft(authorizeUrl: string): Promise<string> {
    const res = await emulator.http.get(authorizeUrl);
    expect(res.status).to.equal(302);
    const location = new URL(String(res.headers.location));
    expect(location.origin + location.pathname).to.equal(`${publicUrl}/auth/callback`);
    return location.pathname + location.search;
  }

  const status = async (partnerId: string) =>
    (await api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      model: string;
      consent: {
        id: string;
        upn: string;
        mfa: boolean;
        adminAgent: boolean;
        status: string;
      } | null;
      legacyAccounts: { id: string; username: string; status: string; replacedBy: string | null }[];
      attempt: { id: string; status: string; message: string | null } | null;
      run: { id: string } | null;
      nextAction: string | null;
    };

  it('happy path: the legacy account of the same domain is replaced and its companies move', async () => {
    const { partnerId, legacyIds } = await partnerWith(['sync@first.example'], 3);
    await grant(partnerId, 'admin@first.example');
    const s = await status(partnerId);
    expect(s.model).to.equal('sam');
    expect(s.consent).to.include({
      upn: 'admin@first.example',
      mfa: true,
      adminAgent: true,
      status: 'active',
    });
    expect(s.legacyAccounts).to.deep.equal([
      {
        id: legacyIds[0],
        username: 'sync@first.example',
        status: 'replaced',
        replacedBy: s.consent!.id,
      },
    ]);
    expect(s.attempt).to.include({ status: 'completed' });
    expect(s.nextAction).to.equal(null);
    const companies = (await api('get', `/partners/${partnerId}/companies`)).body as {
      companies: { delegatedAdminId: string }[];
    };
    expect(companies.companies.map((c) => c.delegatedAdminId)).to.deep.equal(
      Array(3).fill(s.consent!.id),
    );
    // The initial refresh started; its listing finds Partner Center's 30 customers, none of
    // which is one of this partner's (made-up) companies.
    await h.finished('partners', jobIds.refreshPartner(s.run!.id));
    const after = (await api('get', `/partners/${partnerId}/companies`)).body as {
      customersNotYetAdded: { customerTenantId: string }[];
      companies: { visibility: string }[];
    };
    const listed = h.emulator.state.directory.partner(
      'aaaaaaaa-0000-4000-8000-000000000001',
    )!.customers;
    expect(after.customersNotYetAdded.map((c) => c.customerTenantId).sort()).to.deep.equal(
      listed.map((c) => c.tenantId).sort(),
    );
    expect(after.companies.map((c) => c.visibility)).to.deep.equal([
      'not_visible',
      'not_visible',
      'not_visible',
    ]);
    const audit = await runtime.store.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.partnerId, partnerId));
    expect(audit.map((a) => a.action)).to.include.members([
      'consent.granted',
      'delegated_admin.replaced',
    ]);
    expect(audit.find((a) => a.action === 'delegated_admin.replaced')!.details).to.include({
      companiesMoved: 3,
      username: 'sync@first.example',
    });
    const [legacy] = await runtime.store.db
      .select()
      .from(delegatedAdmins)
      .where(eq(delegatedAdmins.id, legacyIds[0]!));
    expect(legacy!.passwordEnc).to.equal(null);
    const [attempt] = await runtime.store.db
      .select()
      .from(consentAttempts)
      .where(eq(consentAttempts.id, s.attempt!.id));
    expect([attempt!.codeEnc, attempt!.pkceVerifierEnc, attempt!.nonceEnc]).to.deep.equal([
      null,
      null,
      null,
    ]);
  });

  it('a replayed callback gets the same redirect and creates no second consent or job', async () => {
    const { partnerId } = await partnerWith(['sync@first.example'], 1);
    const { callback, attemptId } = await grant(partnerId, 'admin@first.example');
    const before = await runtime.queues.get('consent').getJobCounts();
    const replay = await request(app).get(callback);
    expect(replay.status).to.equal(303);
    expect(replay.headers.location).to.contain(`consent=pending&attempt=${attemptId}`);
    expect(await runtime.queues.get('consent').getJobCounts()).to.deep.equal(before);
    const sams = (await runtime.services.partners.admins(partnerId)).filter(
      (a) => a.kind === 'sam',
    );
    expect(sams).to.have.length(1);
    // The same state with another code is refused.
    const other = callback.replace(/code=[^&]+/, 'code=another-code');
    const refused = await request(app).get(other);
    expect(refused.status).to.equal(400);
    expect(refused.text).to.contain('already completed');
  });

  it('refuses forged, expired, incomplete, repeated and oversized callbacks, enqueueing nothing', async () => {
    const { partnerId } = await partnerWith([], 0);
    const before = await runtime.queues.get('consent').getJobCounts();
    const forged = await request(app).get(
      `/auth/callback?code=abc&state=${randomBytes(32).toString('base64url')}`,
    );
    expect([forged.status, forged.type]).to.deep.equal([400, 'text/html']);
    expect(forged.text).to.contain('matches no consent we started');

    const { authorizeUrl, attemptId } = await startConsent(partnerId, 'admin@first.example');
    const callback = await signInAtMicrosoft(authorizeUrl);
    await runtime.store.db
      .update(consentAttempts)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(consentAttempts.id, attemptId));
    const expired = await request(app).get(callback);
    expect(expired.status).to.equal(400);
    expect(expired.text).to.contain('longer than 15 minutes');

    const state = new URL(callback, publicUrl).searchParams.get('state')!;
    expect((await request(app).get(`/auth/callback?state=${state}`)).text).to.contain(
      'no authorization code',
    );
    expect(
      (await request(app).get(`/auth/callback?state=${state}&state=${state}&code=x`)).text,
    ).to.contain('appears more than once');
    expect(
      (await request(app).get(`/auth/callback?state=${state}&code=${'x'.repeat(9000)}`)).text,
    ).to.contain('too long');
    expect(await runtime.queues.get('consent').getJobCounts()).to.deep.equal(before);
  });

  it('an error answer carrying control characters is recorded cleaned, not a 500', async () => {
    const { partnerId } = await partnerWith(['sync@first.example'], 1);
    const { authorizeUrl, attemptId } = await startConsent(partnerId);
    const state = new URL(authorizeUrl).searchParams.get('state')!;
    const back = await request(app).get(
      `/auth/callback?error=server_error%00&error_description=${encodeURIComponent('AADSTS500011: bad\u0000thing\u0007')}&state=${encodeURIComponent(state)}`,
    );
    expect(back.status).to.equal(303);
    const s = await status(partnerId);
    expect(s.attempt).to.include({ id: attemptId, status: 'failed' });
    expect(s.attempt!.message).to.contain('(AADSTS500011): bad thing');
  });

  it('Cancel at Microsoft: the attempt says so in a sentence and nothing changes', async () => {
    const { partnerId } = await partnerWith(['sync@first.example'], 1);
    const { authorizeUrl, attemptId } = await startConsent(partnerId);
    // Earlier tests consented already; Microsoft would then skip the consent page.
    emulator.state.grants.clear();
    // Through the emulator's real pages: pick the account, then Cancel.
    const signIn = await emulator.http.get(authorizeUrl);
    const flow = /name="flow" value="([^"]+)"/.exec(signIn.data as string)![1]!;
    const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    await emulator.http.post(
      `${emulator.url}/organizations/oauth2/v2.0/authorize/signin`,
      form({ flow, upn: 'admin@first.example' }),
      { headers },
    );
    const cancelled = await emulator.http.post(
      `${emulator.url}/organizations/oauth2/v2.0/authorize/consent`,
      form({ flow, decision: 'cancel' }),
      { headers },
    );
    const location = new URL(String(cancelled.headers.location));
    const back = await request(app).get(location.pathname + location.search);
    expect(back.status).to.equal(303);
    expect(back.headers.location).to.contain(`consent=failed&attempt=${attemptId}`);
    const s = await status(partnerId);
    expect(s.attempt).to.deep.equal({
      id: attemptId,
      status: 'failed',
      message:
        'Consent was cancelled at Microsoft, so nothing changed. Click Grant Partner Center Consent to try again.',
    });
    expect(s.model).to.equal('legacy');
    expect(s.legacyAccounts[0]!.status).to.equal('active');
  });

  for (const [upn, why] of [
    ['nested@first.example', 'an Admin Agent through a group nested in AdminAgents'],
    ['hello@first.example', 'signed in with Windows Hello (amr ngcmfa, no mfa)'],
  ] as const) {
    it(`accepts ${why}`, async () => {
      const { partnerId } = await partnerWith([], 0);
      const since = emulator.state.log.at(-1)?.id ?? 0;
      const { outcome } = await grant(partnerId, upn);
      expect(outcome).to.include({ outcome: 'completed' });
      const s = await status(partnerId);
      expect(s.consent).to.include({ upn, mfa: true, adminAgent: true, status: 'active' });
      // The role came from the partner's own tenant, every page, names included.
      const asked = emulator.state.log.filter(
        (e) => e.id > since && e.surface === 'graph' && e.path === '/v1.0/me/transitiveMemberOf',
      );
      expect(asked.length).to.be.at.least(1);
    });
  }

  for (const [upn, sentence] of [
    [
      'nomfa@first.example',
      'nomfa@first.example signed in without multi-factor authentication. Enable MFA on this account, then grant consent again.',
    ],
    [
      'staff@first.example',
      'staff@first.example holds no Partner Center agent role (it is in none of the AdminAgents, SalesAgents and HelpdeskAgents groups), so it is not an Admin Agent. Grant consent again with an account in the AdminAgents group.',
    ],
    [
      // A Sales Agent may list customers in Partner Center: only the group membership tells.
      'sales@first.example',
      "sales@first.example is a Sales Agent, not an Admin Agent: Partner Center lets only Admin Agents read customers' licenses. Grant consent again with an account in the AdminAgents group.",
    ],
    [
      'helpdesk@first.example',
      "helpdesk@first.example is a Helpdesk Agent, not an Admin Agent: Partner Center lets only Admin Agents read customers' licenses. Grant consent again with an account in the AdminAgents group.",
    ],
    [
      // Consented to User.Read but not GroupMember.Read.All: Graph names no group.
      'noscope@first.example',
      'Microsoft Graph returned noscope@first.example\'s groups without their names: the consent lacks the GroupMember.Read.All permission ("Read group memberships"), so the Admin Agent role cannot be checked. Grant consent again and accept every permission asked.',
    ],
  ] as const) {
    it(`${upn.split('@')[0]}: no token is stored, the legacy account stays, the status says what to fix`, async () => {
      const { partnerId } = await partnerWith(['sync@first.example'], 1);
      const { outcome } = await grant(partnerId, upn);
      expect(outcome).to.deep.equal({ outcome: 'failed', message: sentence });
      const s = await status(partnerId);
      expect(s).to.deep.include({ model: 'legacy', consent: null, nextAction: sentence });
      expect(s.attempt).to.include({ status: 'failed', message: sentence });
      expect(s.legacyAccounts[0]!.status).to.equal('active');
      const partitions = await runtime.store.db
        .select()
        .from(tokenCachePartitions)
        .where(eq(tokenCachePartitions.partnerId, partnerId));
      expect(partitions).to.have.length(0);
    });
  }

  it('no domain match, or only a subdomain: nothing moves and the status names who is left', async () => {
    const { partnerId } = await partnerWith(['sync@other.example', 'sync@mail.first.example'], 1);
    await grant(partnerId, 'admin@first.example');
    const s = await status(partnerId);
    expect(s.model).to.equal('mixed');
    expect(s.legacyAccounts.map((a) => a.status)).to.deep.equal(['active', 'active']);
    expect(s.nextAction).to.contain('sync@other.example').and.to.contain('sync@mail.first.example');
    const companies = (await api('get', `/partners/${partnerId}/companies`)).body as {
      companies: { delegatedAdminId: string }[];
    };
    expect(companies.companies.every((c) => c.delegatedAdminId !== s.consent!.id)).to.be.true;
  });

  it('two legacy accounts of one domain are both replaced; a re-grant replaces the older consent', async () => {
    const { partnerId } = await partnerWith(['sync@first.example', 'billing@FIRST.example'], 2);
    await grant(partnerId, 'admin@first.example');
    const first = await status(partnerId);
    expect(first.legacyAccounts.map((a) => [a.status, a.replacedBy])).to.deep.equal([
      ['replaced', first.consent!.id],
      ['replaced', first.consent!.id],
    ]);
    await grant(partnerId, 'hello@first.example');
    const second = await status(partnerId);
    expect(second.consent).to.include({ upn: 'hello@first.example', status: 'active' });
    const sams = (await runtime.services.partners.admins(partnerId)).filter(
      (a) => a.kind === 'sam',
    );
    expect(sams.map((a) => [a.username, a.status]).sort()).to.deep.equal([
      ['admin@first.example', 'replaced'],
      ['hello@first.example', 'active'],
    ]);
    const companies = (await api('get', `/partners/${partnerId}/companies`)).body as {
      companies: { delegatedAdminId: string }[];
    };
    expect(companies.companies.map((c) => c.delegatedAdminId)).to.deep.equal(
      Array(4).fill(second.consent!.id),
    );
  });

  it('an account without a domain matches none: a consent without one replaces nothing', async () => {
    const { partnerId, legacyIds } = await partnerWith(['sync@first.example'], 1);
    // Rows as stored for a username without a domain: the domain column holds ''.
    const [noDomainLegacy] = await runtime.store.db
      .insert(delegatedAdmins)
      .values({ partnerId, kind: 'legacy', username: 'sync', domain: '', createdBy: 'test' })
      .returning();
    const [consent] = await runtime.store.db
      .insert(delegatedAdmins)
      .values({
        partnerId,
        kind: 'sam',
        status: 'active',
        username: 'admin',
        domain: '',
        consentedAt: new Date(),
        createdBy: 'admin',
      })
      .returning();
    const result = await replaceLegacyAdminsByDomain(runtime.store.db, consent!.id);
    expect(result).to.deep.equal({ partnerId, replaced: [], companiesMoved: 0 });
    const admins = await runtime.services.partners.admins(partnerId);
    expect(
      admins
        .filter((a) => a.kind === 'legacy')
        .map((a) => [a.id, a.status, a.replacedBy])
        .sort(),
    ).to.deep.equal(
      [
        [legacyIds[0], 'active', null],
        [noDomainLegacy!.id, 'active', null],
      ].sort(),
    );
  });

  it('refuses a return URL on another origin, with a 400 that names the rule', async () => {
    const { partnerId } = await partnerWith([], 0);
    for (const returnTo of [
      'https://evil.example/x',
      '//evil.example/x',
      'http://localhost:3001/x',
    ]) {
      const res = await api('post', `/partners/${partnerId}/consents`, { returnTo });
      expect(res.status).to.equal(400);
      expect((res.body as { error: { message: string } }).error.message).to.equal(
        `returnTo must be on ${publicUrl}.`,
      );
    }
  });

  it('Redis down at the callback: a 503 page, then the reconciler completes the consent', async () => {
    const { partnerId } = await partnerWith(['sync@first.example'], 1);
    const down = createProducerConnection(`redis://127.0.0.1:${await closedPort()}`, {
      retryStrategy: () => 50,
    });
    down.on('error', () => {});
    const downQueues = new JobQueues(down, prefix);
    const downApp = createApp({ ...runtime, producer: down, queues: downQueues });
    try {
      const { authorizeUrl, attemptId } = await startConsent(partnerId, 'admin@first.example');
      const res = await request(downApp).get(await signInAtMicrosoft(authorizeUrl));
      expect(res.status).to.equal(503);
      expect(res.text).to.contain('no need to grant it again');
      // As if the callback came in a minute ago: past the reconciler's grace period.
      await runtime.store.db
        .update(consentAttempts)
        .set({ receivedAt: new Date(Date.now() - 60_000) })
        .where(eq(consentAttempts.id, attemptId));
      const reconcile = await runtime.queues.enqueue(
        'reconcile',
        {},
        { jobId: `reconcile-test-${attemptId}` },
      );
      const summary = (await h.finished('maintenance', reconcile.id!)) as { exchanges: number };
      expect(summary.exchanges).to.be.at.least(1);
      const outcome = await finished(jobIds.exchangeConsentCode(attemptId));
      expect(outcome.outcome).to.equal('completed');
    } finally {
      await downQueues.close().catch(() => {});
      down.disconnect();
    }
  });

  it('no code, token or password in logs, job data, Redis or API responses', async () => {
    // Consents that complete, replace a legacy account or are refused, each with its code.
    const { partnerId } = await partnerWith(['sync@first.example'], 1);
    for (const upn of [
      'admin@first.example',
      'nomfa@first.example',
      'staff@first.example',
      'sales@first.example',
      'noscope@first.example',
      'nested@first.example',
      'hello@first.example',
      'admin@first.example',
    ]) {
      await grant(partnerId, upn);
    }
    const issued = JSON.parse(
      (await emulator.http.get(`${emulator.url}/_emulator/issued`)).data as string,
    ) as Record<string, string[]>;
    const secrets = [
      ...issued.codes!,
      ...issued.accessTokens!,
      ...issued.refreshTokens!,
      ...issued.idTokens!,
      ...passwords,
    ];
    expect(issued.codes!.length).to.be.at.least(8);
    const redis = new Redis(testRedisUrl);
    const dump: string[] = [];
    try {
      for (const key of await redis.keys(`${prefix}:*`)) {
        const type = await redis.type(key);
        if (type === 'string') dump.push((await redis.get(key)) ?? '');
        else if (type === 'hash') dump.push(JSON.stringify(await redis.hgetall(key)));
        else if (type === 'list') dump.push(...(await redis.lrange(key, 0, -1)));
        else if (type === 'zset') dump.push(...(await redis.zrange(key, 0, -1)));
        else if (type === 'set') dump.push(...(await redis.smembers(key)));
        else if (type === 'stream') dump.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      }
    } finally {
      redis.disconnect();
    }
    const haystacks = {
      logs: h.logLines.join('\n'),
      redis: dump.join('\n'),
      api: h.responses.join('\n'),
    };
    expect(haystacks.logs.length).to.be.greaterThan(1000);
    for (const [where, text] of Object.entries(haystacks)) {
      const leaked = secrets.filter((secret) => text.includes(secret));
      expect(leaked, `secrets found in ${where}`).to.deep.equal([]);
    }
  });
});
