import { Job } from 'bullmq';
import { expect } from 'chai';
import { count, eq } from 'drizzle-orm';
import request from 'supertest';
import { jobIds } from '../../src/queue/catalog.js';
import {
  consentAttempts,
  delegatedAdmins,
  refreshRuns,
  sessions,
  tokenCachePartitions,
} from '../../src/store/schema.js';
import { publicUrl, releaseTenants, startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, csrfOf, loggedIn } from '../support/pages.js';
import { within } from '../support/within.js';

const firstTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
const secondTenant = 'bbbbbbbb-0000-4000-8000-000000000002';

describe('consent binding: a consent lands only on the partner and session that started it', function () {
  this.timeout(60_000);
  let h: Harness;

  before(async () => {
    h = await startHarness();
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });
  // Tests bind the emulator's two tenants to partners of their own.
  beforeEach(() => releaseTenants(h));
  // A completed consent starts a refresh; its calls as the tenant, or its use of a fault, must
  // not land in the next test.
  afterEach(async () => {
    const running = await h.runtime.store.db
      .select({ id: refreshRuns.id })
      .from(refreshRuns)
      .where(eq(refreshRuns.status, 'running'));
    await within(
      30_000,
      'the refresh runs to end',
      Promise.all(running.map((r) => h.runEnded(r.id))),
    );
  });

  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const formHeaders = { 'Content-Type': 'application/x-www-form-urlencoded' };

  /**
   * An admin at Microsoft's sign-in page: picks `upn`, accepts if asked, and returns where
   * Microsoft sent the browser (our callback's path and query), or Microsoft's error page.
   */
  async function signInAs(
    authorizeUrl: string,
    upn: string,
  ): Promise<{ callback?: string; status: number; page: string }> {
    const { emulator } = h;
    const signInPage = await emulator.http.get(authorizeUrl);
    expect(signInPage.status, 'the sign-in page').to.equal(200);
    const flow = /name="flow" value="([^"]+)"/.exec(signInPage.data as string)![1]!;
    const tenant = new URL(authorizeUrl).pathname.split('/')[1]!;
    let answer = await emulator.http.post(
      `${emulator.url}/${tenant}/oauth2/v2.0/authorize/signin`,
      form({ flow, upn }),
      { headers: formHeaders },
    );
    if (answer.status === 200 && String(answer.data).includes('name="decision"')) {
      answer = await emulator.http.post(
        `${emulator.url}/${tenant}/oauth2/v2.0/authorize/consent`,
        form({ flow, decision: 'accept' }),
        { headers: formHeaders },
      );
    }
    if (answer.status !== 302) return { status: answer.status, page: String(answer.data) };
    const location = new URL(String(answer.headers.location));
    expect(location.origin + location.pathname).to.equal(`${publicUrl}/auth/callback`);
    return { callback: location.pathname + location.search, status: 302, page: '' };
  }

  async function newPartner(name: string) {
    const partner = await h.runtime.services.partners.create(name, 'test');
    return partner.id;
  }

  /** A partner user's browser clicks Grant Partner Center Consent; returns Microsoft's URL. */
  async function grantFromPage(agent: request.Agent, partnerId: string): Promise<string> {
    const page = await agent.get(`/partners/${partnerId}/delegated-admin`);
    expect(page.status).to.equal(200);
    const started = await agent
      .post(`/partners/${partnerId}/consent`)
      .type('form')
      .send({ _csrf: csrfOf(page.text) });
    expect(started.status).to.equal(303);
    return String(started.headers.location);
  }

  async function apiConsent(partnerId: string, path: string, loginHint: string) {
    const res = await h.api('post', `/partners/${partnerId}/${path}`, {
      returnTo: '/company/delegated-admin',
      loginHint,
    });
    expect(res.status).to.equal(201);
    return res.body as { attemptId: string; authorizeUrl: string };
  }

  /** Straight through at Microsoft (login_hint): our callback's path and query. */
  async function straightThrough(authorizeUrl: string): Promise<string> {
    const res = await h.emulator.http.get(authorizeUrl);
    expect(res.status, String(res.data)).to.equal(302);
    const location = new URL(String(res.headers.location));
    return location.pathname + location.search;
  }

  const attemptRow = async (id: string) =>
    (await h.runtime.store.db.select().from(consentAttempts).where(eq(consentAttempts.id, id)))[0]!;
  const latestAttempt = async (partnerId: string) =>
    (await h.runtime.services.attempts.latest(partnerId, 'partner_center'))!;
  const samConsents = async (partnerId: string) =>
    (await h.runtime.services.partners.admins(partnerId)).filter((a) => a.kind === 'sam');
  const partitionsOf = async (partnerId: string) =>
    h.runtime.store.db
      .select()
      .from(tokenCachePartitions)
      .where(eq(tokenCachePartitions.partnerId, partnerId));
  const exchangeJob = (attemptId: string) =>
    Job.fromId(h.runtime.queues.get('consent'), jobIds.exchangeConsentCode(attemptId));
  const sessionRows = async () =>
    (await h.runtime.store.db.select({ n: count() }).from(sessions))[0]!.n;

  it("a consent started on the pages and completed in another browser binds nothing; in the starter's browser it completes", async () => {
    const partnerB = await newPartner('Partner B');
    const partnerA = await newPartner('Partner A');
    const b = await createPeople(h, partnerB);
    const a = await createPeople(h, partnerA);
    const browserB = await loggedIn(h.app, b.partnerUser!.email);
    // Partner A's admin, signed in to this service as A's user in their own browser.
    const browserA = await loggedIn(h.app, a.partnerUser!.email);

    // B's user starts a consent and hands the link to A's admin, who signs in to Microsoft.
    const authorizeUrl = await grantFromPage(browserB, partnerB);
    const attempt = await latestAttempt(partnerB);
    const atMicrosoft = await signInAs(authorizeUrl, 'admin@first.example');
    const refused = await browserA.get(atMicrosoft.callback!);
    expect([refused.status, refused.type]).to.deep.equal([403, 'text/html']);
    expect(refused.text).to.contain('started in another browser or session');
    expect(refused.text).to.contain('href="/company/delegated-admin"');

    // Nor without any session, nor with Microsoft's error answer: no session row is made.
    const sessionsBefore = await sessionRows();
    const anonymous = await request(h.app).get(atMicrosoft.callback!);
    expect(anonymous.status).to.equal(403);
    expect(anonymous.headers['set-cookie']).to.equal(undefined);
    expect(await sessionRows()).to.equal(sessionsBefore);
    const state = new URL(atMicrosoft.callback!, publicUrl).searchParams.get('state')!;
    const cancelled = await browserA.get(
      `/auth/callback?error=access_denied&error_subcode=cancel&state=${encodeURIComponent(state)}`,
    );
    expect(cancelled.status).to.equal(403);

    const row = await attemptRow(attempt.id);
    expect(row).to.include({ status: 'started', codeEnc: null, codeHash: null, error: null });
    expect(await exchangeJob(attempt.id)).to.equal(undefined);
    expect((await h.runtime.services.partners.get(partnerB))!.homeTenantId).to.equal(null);
    expect(await samConsents(partnerB)).to.deep.equal([]);
    expect(await partitionsOf(partnerB)).to.deep.equal([]);

    // The same flow in B's own browser, signed in by B's own admin, completes.
    const own = await signInAs(await grantFromPage(browserB, partnerB), 'admin@second.example');
    const back = await browserB.get(own.callback!);
    expect(back.status).to.equal(303);
    const ownAttempt = await latestAttempt(partnerB);
    expect(back.headers.location).to.equal(
      `${publicUrl}/partners/${partnerB}/delegated-admin?consent=pending&attempt=${ownAttempt.id}`,
    );
    const outcome = await h.finished('consent', jobIds.exchangeConsentCode(ownAttempt.id));
    expect(outcome).to.include({ outcome: 'completed' });
    expect((await h.runtime.services.partners.get(partnerB))!.homeTenantId).to.equal(secondTenant);
    expect((await samConsents(partnerB)).map((c) => [c.username, c.status])).to.deep.equal([
      ['admin@second.example', 'active'],
    ]);
  });

  it("a partner with a tenant signs in at that tenant: another tenant's admin is refused", async () => {
    const partnerId = await newPartner('Bound Partner');
    // Started before the partner had a tenant, so at organizations, and completed later.
    const early = await apiConsent(partnerId, 'consents', 'admin@second.example');
    expect(new URL(early.authorizeUrl).pathname).to.equal('/organizations/oauth2/v2.0/authorize');
    expect((await h.grant(partnerId, 'admin@first.example')).outcome).to.include({
      outcome: 'completed',
    });

    // Both kinds of consent, from the API and from the pages, go to the partner's tenant.
    const later = await apiConsent(partnerId, 'consents', 'admin@second.example');
    const custom = await apiConsent(
      partnerId,
      'custom-license-token/consents',
      'admin@first.example',
    );
    const { partnerUser } = await createPeople(h, partnerId);
    const fromPage = await grantFromPage(await loggedIn(h.app, partnerUser!.email), partnerId);
    for (const url of [later.authorizeUrl, custom.authorizeUrl, fromPage]) {
      expect(new URL(url).pathname).to.equal(`/${firstTenant}/oauth2/v2.0/authorize`);
    }

    // Microsoft refuses the other tenant's admin there, straight through or at the picker.
    const hinted = await h.emulator.http.get(later.authorizeUrl);
    expect(hinted.status).to.equal(400);
    expect(String(hinted.data)).to.contain(
      `AADSTS50020: User account &#39;admin@second.example&#39; from identity provider &#39;https://sts.windows.net/${secondTenant}/&#39; does not exist in tenant &#39;First Partner&#39;`,
    );
    const picked = await signInAs(fromPage, 'admin@second.example');
    expect(picked.status).to.equal(400);
    expect(picked.page).to.contain('AADSTS50020');

    // The attempt started at organizations is refused at the exchange, naming the tenant,
    // before its token is used at Partner Center.
    const partnerCenterCalls = () =>
      h.emulator.state.log.filter(
        (e) => e.surface === 'partnerCenter' && e.partnerTenantId === secondTenant,
      ).length;
    const callsBefore = partnerCenterCalls();
    const back = await request(h.app).get(await straightThrough(early.authorizeUrl));
    expect(back.status).to.equal(303);
    const outcome = await h.finished('consent', jobIds.exchangeConsentCode(early.attemptId));
    const sentence = `admin@second.example belongs to Microsoft tenant ${secondTenant}, not to this partner's tenant ${firstTenant}. Grant consent again with an account of tenant ${firstTenant}.`;
    expect(outcome).to.deep.equal({ outcome: 'failed', message: sentence });
    expect(await attemptRow(early.attemptId)).to.include({ status: 'failed', error: sentence });
    expect(partnerCenterCalls()).to.equal(callsBefore);
    expect((await samConsents(partnerId)).map((c) => [c.username, c.status])).to.deep.equal([
      ['admin@first.example', 'active'],
    ]);
    expect(await partitionsOf(partnerId)).to.have.length(1);

    // The partner's own admin consents again at its tenant: the code is redeemed there.
    const redeemedAtTenant = () =>
      h.emulator.state.log.filter(
        (e) => e.method === 'POST' && e.path === `/${firstTenant}/oauth2/v2.0/token`,
      ).length;
    const redeemedBefore = redeemedAtTenant();
    expect((await h.grant(partnerId, 'hello@first.example')).outcome).to.include({
      outcome: 'completed',
    });
    expect(redeemedAtTenant()).to.equal(redeemedBefore + 1);
  });

  it('a tenant that belongs to one partner cannot consent for another, through the API either', async () => {
    const partnerX = await newPartner('Partner X');
    const partnerY = await newPartner('Partner Y');
    await h.grant(partnerX, 'admin@first.example');
    const xRun = (await h.runtime.services.runs.latest(partnerX))!;
    await h.runEnded(xRun.id);
    // Partner Center and Graph calls as the first tenant from here would be Y's, with X's tenant.
    const callsAsFirstTenant = () =>
      h.emulator.state.log.filter(
        (e) => e.surface !== 'identity' && e.partnerTenantId === firstTenant,
      ).length;
    const callsBefore = callsAsFirstTenant();

    for (const path of ['consents', 'custom-license-token/consents']) {
      const { attemptId, authorizeUrl } = await apiConsent(partnerY, path, 'admin@first.example');
      const back = await request(h.app).get(await straightThrough(authorizeUrl));
      expect(back.status).to.equal(303);
      const outcome = await h.finished('consent', jobIds.exchangeConsentCode(attemptId));
      const again =
        path === 'consents' ? 'Grant consent again' : 'Generate the custom-license token again';
      expect(outcome).to.deep.equal({
        outcome: 'failed',
        message: `admin@first.example belongs to Microsoft tenant ${firstTenant}, which another partner already uses: a tenant serves one partner only. ${again} with an account of this partner's own tenant.`,
      });
    }
    expect(callsAsFirstTenant(), 'tokens used before the refusal').to.equal(callsBefore);
    expect((await h.runtime.services.partners.get(partnerY))!.homeTenantId).to.equal(null);
    expect(await h.runtime.services.partners.admins(partnerY)).to.deep.equal([]);
    expect(await partitionsOf(partnerY)).to.deep.equal([]);
    const status = (await h.api('get', `/partners/${partnerY}/delegated-admin`)).body as {
      consent: unknown;
      nextAction: string;
    };
    expect(status.consent).to.equal(null);
    expect(status.nextAction).to.contain('which another partner already uses');
    expect((await h.runtime.services.partners.get(partnerX))!.homeTenantId).to.equal(firstTenant);
  });

  it('two partners completing consents from one tenant at once: one gets it, the other a sentence, no retry', async () => {
    const partnerX = await newPartner('Racing X');
    const partnerY = await newPartner('Racing Y');
    const x = await apiConsent(partnerX, 'consents', 'admin@first.example');
    const y = await apiConsent(partnerY, 'consents', 'admin@first.example');
    const callbacks = [
      await straightThrough(x.authorizeUrl),
      await straightThrough(y.authorizeUrl),
    ];
    // Partner Center answers slowly, so both exchanges pass the tenant check before either binds.
    await h.emulator.http.post(`${h.emulator.url}/_emulator/faults`, {
      path: '/v1/customers',
      delayMs: 1_500,
      count: 2,
    });
    try {
      for (const callback of callbacks) {
        expect((await request(h.app).get(callback)).status).to.equal(303);
      }
      const outcomes = await Promise.all(
        [x, y].map((c) => h.finished('consent', jobIds.exchangeConsentCode(c.attemptId))),
      );
      expect(outcomes.map((o) => o.outcome).sort()).to.deep.equal(['completed', 'failed']);
      const lost = outcomes.find((o) => o.outcome === 'failed')!;
      expect(lost.message).to.equal(
        `admin@first.example belongs to Microsoft tenant ${firstTenant}, which another partner already uses: a tenant serves one partner only. Grant consent again with an account of this partner's own tenant.`,
      );
      for (const c of [x, y]) {
        expect((await exchangeJob(c.attemptId))!.attemptsMade, 'no retry').to.equal(1);
      }
      const tenants = await Promise.all(
        [partnerX, partnerY].map(
          async (p) => (await h.runtime.services.partners.get(p))!.homeTenantId,
        ),
      );
      expect(tenants.filter((t) => t === firstTenant)).to.have.length(1);
      expect(tenants.filter((t) => t === null)).to.have.length(1);
      const loser = tenants[0] === null ? partnerX : partnerY;
      expect(await partitionsOf(loser)).to.deep.equal([]);
      expect(
        await h.runtime.store.db
          .select()
          .from(delegatedAdmins)
          .where(eq(delegatedAdmins.partnerId, loser)),
      ).to.deep.equal([]);
    } finally {
      await h.emulator.http.delete(`${h.emulator.url}/_emulator/faults`);
    }
  });
});
