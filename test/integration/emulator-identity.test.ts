import { createHash, randomBytes } from 'node:crypto';
import {
  ConfidentialClientApplication,
  CryptoProvider,
  InteractionRequiredAuthError,
  ServerError,
  type AuthenticationResult,
} from '@azure/msal-node';
import { expect } from 'chai';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import type { PartnerUser } from '../../emulator/tenants.js';
import { knownAuthoritiesFor } from '../../src/microsoft/authority.js';
import { classifyMicrosoftError } from '../../src/microsoft/errors.js';
import { createMicrosoftHttp, type MicrosoftHttp } from '../../src/microsoft/http.js';
import { msalNetworkModule } from '../../src/microsoft/msal-network.js';
import {
  consentAndRedeem,
  partnerCenterScope,
  redeem,
  startTestEmulator,
  testClient,
  type TestEmulator,
} from '../support/emulator.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
const graphScopes = [
  'https://graph.microsoft.com/Directory.Read.All',
  'https://graph.microsoft.com/MailboxSettings.Read',
];

async function expectRejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

describe('emulator: identity platform through the real MSAL and openid-client', function () {
  let emulator: TestEmulator;
  /** The service's own Microsoft client, trusting the emulator's CA. */
  let http: MicrosoftHttp;
  let customerTenant: string;
  const crypto = new CryptoProvider();

  /** The partner users as the scenario made them: tests revoke them and require MFA. */
  let users: { user: PartnerUser; mfa: boolean; amr: string[] }[];

  before(async () => {
    emulator = await startTestEmulator();
    http = createMicrosoftHttp({ extraCaFile: emulator.caFile });
    customerTenant = emulator.state.directory.partner(partnerTenant)!.customers[0]!.tenantId;
    users = emulator.state.directory.partners
      .flatMap((p) => p.users)
      .map((user) => ({ user, mfa: user.mfa, amr: [...user.amr] }));
  });
  after(async () => {
    await http.close();
    await emulator.stop();
  });
  afterEach(async () => {
    // Each test starts on the real clock with no faults, every tenant, and the users as made.
    emulator.state.clockOffsetMs = 0;
    emulator.state.faults = [];
    emulator.state.directory.deletedTenants.clear();
    for (const { user, mfa, amr } of users) {
      Object.assign(user, { policy: {}, mfa, amr: [...amr], revokedAt: undefined });
    }
    await Promise.resolve();
  });

  function msalApp(clientSecret = testClient.clientSecret): ConfidentialClientApplication {
    return new ConfidentialClientApplication({
      auth: {
        clientId: testClient.clientId,
        clientSecret,
        authority: `${emulator.url}/organizations`,
        knownAuthorities: knownAuthoritiesFor({
          authorityHost: emulator.url,
          partnerCenterUrl: emulator.url,
          graphUrl: emulator.url,
          graphResource: 'https://graph.microsoft.com',
        }),
      },
      system: { networkClient: msalNetworkModule(http) },
    });
  }

  /** Straight-through consent: returns the code MSAL's authorize URL leads to. */
  async function codeFor(
    app: ConfidentialClientApplication,
    upn: string,
    options: { nonce?: string; challenge?: string } = {},
  ): Promise<string> {
    const url = await app.getAuthCodeUrl({
      scopes: [partnerCenterScope],
      extraScopesToConsent: graphScopes,
      redirectUri: testClient.redirectUri,
      loginHint: upn,
      state: 'st',
      ...(options.nonce ? { nonce: options.nonce } : {}),
      ...(options.challenge
        ? { codeChallenge: options.challenge, codeChallengeMethod: 'S256' }
        : {}),
    });
    const response = await emulator.http.get(url);
    expect(response.status).to.equal(302);
    const location = new URL(String(response.headers.location));
    expect(location.searchParams.get('state')).to.equal('st');
    return location.searchParams.get('code')!;
  }

  async function signIn(
    upn = 'admin@first.example',
  ): Promise<{ app: ConfidentialClientApplication; result: AuthenticationResult; nonce: string }> {
    const app = msalApp();
    const { verifier, challenge } = await crypto.generatePkceCodes();
    const nonce = crypto.createNewGuid();
    const code = await codeFor(app, upn, { nonce, challenge });
    const result = await app.acquireTokenByCode({
      code,
      scopes: [partnerCenterScope],
      redirectUri: testClient.redirectUri,
      codeVerifier: verifier,
      nonce,
    });
    return { app, result, nonce };
  }

  async function jwks(): Promise<ReturnType<typeof createLocalJWKSet>> {
    const keys = await emulator.http.get(`${emulator.url}/${partnerTenant}/discovery/v2.0/keys`);
    return createLocalJWKSet(JSON.parse(keys.data as string) as JSONWebKeySet);
  }

  const refresh = ({
    app,
    result,
  }: {
    app: ConfidentialClientApplication;
    result: AuthenticationResult;
  }) =>
    app.acquireTokenSilent({
      account: result.account!,
      scopes: [partnerCenterScope],
      forceRefresh: true,
    });

  function refreshTokenIn(app: ConfidentialClientApplication): string {
    const cache = JSON.parse(app.getTokenCache().serialize()) as {
      RefreshToken: Record<string, { secret: string }>;
    };
    return Object.values(cache.RefreshToken)[0]!.secret;
  }

  it('redeems a code with PKCE and nonce into RS256 tokens with real claims', async () => {
    const { result, nonce } = await signIn();
    const { payload } = await jwtVerify(result.accessToken, await jwks(), {
      audience: 'https://api.partnercenter.microsoft.com',
      issuer: `https://sts.windows.net/${partnerTenant}/`,
    });
    expect(payload).to.include({
      tid: partnerTenant,
      scp: 'user_impersonation',
      upn: 'admin@first.example',
    });
    expect(payload.amr).to.deep.equal(['pwd', 'mfa']);
    expect(result.idTokenClaims).to.include({
      nonce,
      tid: partnerTenant,
      preferred_username: 'admin@first.example',
    });
    expect(result.idTokenClaims).to.not.have.property('amr');
    expect(result.account?.homeAccountId).to.equal(`${payload.oid as string}.${partnerTenant}`);
    expect(result.scopes).to.include(partnerCenterScope);
  });

  it('gives a user without MFA tokens whose amr lacks mfa', async () => {
    const { result } = await signIn('nomfa@first.example');
    expect(decodeJwt(result.accessToken).amr).to.deep.equal(['pwd']);
  });

  it('refreshes silently with a new refresh token each time, the older one staying valid', async () => {
    const { app, result } = await signIn();
    const firstRt = refreshTokenIn(app);
    const refreshed = await app.acquireTokenSilent({
      account: result.account!,
      scopes: [partnerCenterScope],
      forceRefresh: true,
    });
    expect(refreshed.accessToken).to.not.equal(result.accessToken);
    const secondRt = refreshTokenIn(app);
    expect(secondRt).to.not.equal(firstRt);
    const again = await redeem(emulator, {
      grant_type: 'refresh_token',
      refresh_token: firstRt,
      scope: `${partnerCenterScope} offline_access`,
    });
    expect(again.access_token).to.be.a('string');
  });

  it("redeems the partner's refresh token at a customer tenant for Graph", async () => {
    const { app, result } = await signIn();
    const customer = await app.acquireTokenSilent({
      account: result.account!,
      scopes: ['https://graph.microsoft.com/.default'],
      authority: `${emulator.url}/${customerTenant}`,
    });
    const claims = decodeJwt(customer.accessToken);
    expect(claims).to.include({ tid: customerTenant, aud: 'https://graph.microsoft.com' });
    expect(claims.idp).to.equal(`https://sts.windows.net/${partnerTenant}/`);
    expect(String(claims.scp).split(' ').sort()).to.deep.equal([
      'Directory.Read.All',
      'MailboxSettings.Read',
    ]);
    expect(customer.tenantId).to.equal(customerTenant);
  });

  describe('errors, as MSAL surfaces them', () => {
    it('54005: a code redeemed twice', async () => {
      const app = msalApp();
      const code = await codeFor(app, 'admin@first.example');
      const request = { code, scopes: [partnerCenterScope], redirectUri: testClient.redirectUri };
      await app.acquireTokenByCode(request);
      const error = await expectRejection(msalApp().acquireTokenByCode(request));
      expect(error).to.be.instanceOf(ServerError);
      expect(error).to.include({ errorCode: 'invalid_grant', errorNo: 54005 });
    });

    it('70008: a code past its lifetime', async () => {
      const app = msalApp();
      const code = await codeFor(app, 'admin@first.example');
      emulator.state.clockOffsetMs = 601_000;
      const error = await expectRejection(
        app.acquireTokenByCode({
          code,
          scopes: [partnerCenterScope],
          redirectUri: testClient.redirectUri,
        }),
      );
      expect(error).to.include({ errorCode: 'invalid_grant', errorNo: 70008 });
    });

    it('7000215: a wrong client secret; 500112: another redirect URI; 501481: a wrong verifier', async () => {
      const app = msalApp();
      const { challenge } = await crypto.generatePkceCodes();
      const codes = await Promise.all(
        [1, 2, 3].map(() => codeFor(app, 'admin@first.example', { challenge })),
      );
      const wrongSecret = await expectRejection(
        msalApp('not-the-secret').acquireTokenByCode({
          code: codes[0]!,
          scopes: [partnerCenterScope],
          redirectUri: testClient.redirectUri,
        }),
      );
      expect(wrongSecret).to.be.instanceOf(ServerError);
      expect(wrongSecret).to.include({ errorCode: 'invalid_client', errorNo: 7000215 });
      const otherRedirect = await expectRejection(
        app.acquireTokenByCode({
          code: codes[1]!,
          scopes: [partnerCenterScope],
          redirectUri: 'http://localhost:3000/elsewhere',
        }),
      );
      expect(otherRedirect).to.include({ errorNo: 500112 });
      const wrongVerifier = await expectRejection(
        app.acquireTokenByCode({
          code: codes[2]!,
          scopes: [partnerCenterScope],
          redirectUri: testClient.redirectUri,
          codeVerifier: 'x'.repeat(43),
        }),
      );
      expect(wrongVerifier).to.include({ errorNo: 501481 });
    });

    it('700082: a refresh token unused past the inactivity window', async () => {
      const { app, result } = await signIn();
      emulator.state.clockOffsetMs = 91 * 24 * 3600 * 1000;
      const error = await expectRejection(
        app.acquireTokenSilent({
          account: result.account!,
          scopes: [partnerCenterScope],
          forceRefresh: true,
        }),
      );
      expect(error).to.be.instanceOf(InteractionRequiredAuthError);
      expect(error).to.include({ errorNo: 700082, subError: 'bad_token' });
    });

    it('50173: tokens revoked; 50076 (invalid_grant, basic_action) only for a sign-in without MFA', async () => {
      const revoked = await signIn('staff@first.example');
      const withoutMfa = await signIn('nomfa@first.example');
      const withMfa = await signIn('admin@first.example');
      await emulator.http.post(`${emulator.url}/_emulator/users/staff@first.example/revoke`);
      const error = await expectRejection(refresh(revoked));
      expect(error).to.be.instanceOf(InteractionRequiredAuthError);
      expect(error).to.include({ errorNo: 50173 });

      for (const upn of ['nomfa@first.example', 'admin@first.example']) {
        await emulator.http.post(`${emulator.url}/_emulator/users/${upn}/require-mfa`);
      }
      const mfa = await expectRejection(refresh(withoutMfa));
      expect(mfa).to.be.instanceOf(InteractionRequiredAuthError);
      expect(mfa).to.include({
        errorCode: 'invalid_grant',
        errorNo: 50076,
        subError: 'basic_action',
      });
      expect(classifyMicrosoftError(mfa)).to.include({
        kind: 'needs_reconsent',
        message:
          'Microsoft now requires multi-factor authentication for this account. Grant Partner Center consent again.',
      });
      // A token from a sign-in with MFA already meets the policy.
      expect((await refresh(withMfa)).accessToken).to.be.a('string');
    });

    it("70043, 50078 and 53003 from the partner's Conditional Access, each with its sentence", async () => {
      const policy = (upn: string, body: object) =>
        emulator.http.post(`${emulator.url}/_emulator/users/${upn}/policy`, body);
      const cases = [
        {
          body: { signInFrequencySec: 3600 },
          error: { errorCode: 'invalid_grant', errorNo: 70043, subError: 'bad_token' },
          sentence: /sign-in frequency policy ended the consent's session/,
        },
        {
          body: { mfaMaxAgeSec: 3600 },
          error: { errorCode: 'invalid_grant', errorNo: 50078, subError: 'basic_action' },
          sentence:
            /multi-factor authentication is older than your Conditional Access policy allows/,
        },
        {
          body: { blockedByConditionalAccess: true },
          error: { errorCode: 'invalid_grant', errorNo: 53003, subError: 'message_only' },
          sentence: /Conditional Access in your tenant blocks the consenting account/,
        },
      ];
      for (const { body, error: expected, sentence } of cases) {
        const signedIn = await signIn('admin@first.example');
        await policy('admin@first.example', body);
        try {
          emulator.state.clockOffsetMs = 2 * 3600 * 1000;
          const error = await expectRejection(refresh(signedIn));
          expect(error, JSON.stringify(body)).to.be.instanceOf(InteractionRequiredAuthError);
          expect(error).to.include(expected);
          const failure = classifyMicrosoftError(error);
          expect(failure.kind).to.equal('needs_reconsent');
          expect(failure.message).to.match(sentence);
          // From a customer tenant the same code fails that customer only.
          expect(classifyMicrosoftError(error, 'customer').kind).to.equal('permanent');
        } finally {
          emulator.state.clockOffsetMs = 0;
          await policy('admin@first.example', {
            signInFrequencySec: null,
            mfaMaxAgeSec: null,
            blockedByConditionalAccess: false,
          });
        }
      }
    });

    it('at a customer tenant: 50020 guest, 50177 outside the GDAP groups, 530034, 53003; 5000224 once deleted', async () => {
      const { app, result } = await signIn();
      const atCustomer = () =>
        app.acquireTokenSilent({
          account: result.account!,
          scopes: ['https://graph.microsoft.com/.default'],
          authority: `${emulator.url}/${customerTenant}`,
          forceRefresh: true,
        });
      const patch = (body: object) =>
        emulator.http.patch(`${emulator.url}/_emulator/customers/${customerTenant}`, body);
      const cases = [
        {
          body: { guests: ['admin@first.example'] },
          errorNo: 50020,
          subError: '',
          kind: 'no_access',
          sentence: /no active GDAP relationship with it, or the account is a guest there/,
        },
        {
          body: { withoutGdapGroup: ['admin@first.example'] },
          errorNo: 50177,
          subError: '',
          kind: 'no_access',
          sentence: /is a guest in this customer tenant, or in no GDAP security group/,
        },
        {
          body: { delegatedAdminBlocked: true },
          errorNo: 530034,
          subError: 'additional_action',
          kind: 'permanent',
          sentence: /at risk in the partner's tenant/,
        },
        {
          body: { blockedByConditionalAccess: true },
          errorNo: 53003,
          subError: 'message_only',
          kind: 'permanent',
          sentence: /Conditional Access in this customer tenant blocks the partner's access/,
        },
      ];
      for (const { body, errorNo, subError, kind, sentence } of cases) {
        await patch(body);
        try {
          const error = await expectRejection(atCustomer());
          expect(error, JSON.stringify(body)).to.include({ errorCode: 'invalid_grant', errorNo });
          expect((error as ServerError).subError).to.equal(subError);
          const failure = classifyMicrosoftError(error, 'customer');
          expect(failure.kind, String(errorNo)).to.equal(kind);
          expect(failure.message).to.match(sentence);
        } finally {
          await patch({
            guests: [],
            withoutGdapGroup: [],
            delegatedAdminBlocked: false,
            blockedByConditionalAccess: false,
          });
        }
      }

      await emulator.http.post(`${emulator.url}/_emulator/tenants/${customerTenant}/delete`);
      const deleted = await expectRejection(atCustomer());
      expect(deleted).to.be.instanceOf(ServerError);
      expect(deleted).to.include({ errorCode: 'invalid_request', errorNo: 5000224 });
      expect(classifyMicrosoftError(deleted, 'customer').message).to.match(
        /customer tenant is not available \(deleted\)/,
      );
      // The partner's own token still works at home.
      expect((await refresh({ app, result })).accessToken).to.be.a('string');
      await emulator.http.post(`${emulator.url}/_emulator/tenants/${partnerTenant}/delete`);
      const home = await expectRejection(refresh({ app, result }));
      expect(home).to.include({ errorNo: 5000224 });
      expect(classifyMicrosoftError(home)).to.include({ kind: 'needs_reconsent' });
      emulator.state.directory.deletedTenants.clear();
    });

    it("any other invalid_grant on the partner's own token asks for consent again", () => {
      const unknown = Object.assign(new ServerError('invalid_grant', 'AADSTS999999: new'), {
        errorNo: 999999,
      });
      expect(classifyMicrosoftError(unknown)).to.include({
        kind: 'needs_reconsent',
        code: 'AADSTS999999',
        message:
          'Microsoft no longer accepts the stored consent (AADSTS999999). Grant Partner Center consent again.',
      });
      expect(classifyMicrosoftError(unknown, 'customer').kind).to.equal('permanent');
    });

    it('65001: a resource the user did not consent to; 90099: a customer where the app is not consented', async () => {
      // partial@ grants only Partner Center whatever the app asks.
      const partial = await consentAndRedeem(emulator, 'partial@first.example', [
        partnerCenterScope,
        ...graphScopes,
      ]);
      const app = msalApp();
      const consent = await expectRejection(
        app.acquireTokenByRefreshToken({
          refreshToken: partial.refresh_token,
          scopes: ['https://graph.microsoft.com/.default'],
        }),
      );
      expect(consent).to.be.instanceOf(InteractionRequiredAuthError);
      expect(consent).to.include({
        errorCode: 'invalid_grant',
        subError: 'consent_required',
        errorNo: 65001,
      });

      const { app: signedIn, result } = await signIn();
      await emulator.http.patch(`${emulator.url}/_emulator/customers/${customerTenant}`, {
        appConsent: false,
      });
      try {
        const denied = await expectRejection(
          signedIn.acquireTokenSilent({
            account: result.account!,
            scopes: ['https://graph.microsoft.com/.default'],
            authority: `${emulator.url}/${customerTenant}`,
          }),
        );
        expect(denied).to.be.instanceOf(ServerError);
        expect(denied).to.include({ errorCode: 'invalid_grant', errorNo: 90099 });
      } finally {
        await emulator.http.patch(`${emulator.url}/_emulator/customers/${customerTenant}`, {
          appConsent: true,
        });
      }
    });

    it('answers a transient fault with Retry-After, which MSAL reports as a server error', async () => {
      await emulator.http.post(`${emulator.url}/_emulator/faults`, {
        path: '/*/oauth2/v2.0/token',
        status: 503,
        count: 1,
        retryAfterSec: 2,
      });
      const app = msalApp();
      const code = await codeFor(app, 'admin@first.example');
      const error = await expectRejection(
        app.acquireTokenByCode({
          code,
          scopes: [partnerCenterScope],
          redirectUri: testClient.redirectUri,
        }),
      );
      expect(error).to.be.instanceOf(ServerError);
      expect(error).to.include({ errorCode: 'temporarily_unavailable' });
    });
  });

  describe('the sign-in and consent pages', () => {
    const authorizeUrl = (params: Record<string, string>) =>
      `${emulator.url}/organizations/oauth2/v2.0/authorize?${new URLSearchParams({
        client_id: testClient.clientId,
        response_type: 'code',
        redirect_uri: testClient.redirectUri,
        scope: `${partnerCenterScope} https://graph.microsoft.com/User.Read openid profile offline_access`,
        state: 'page-state',
        ...params,
      }).toString()}`;
    const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const post = (path: string, fields: Record<string, string>) =>
      emulator.http.post(`${emulator.url}${path}`, form(fields), {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });

    async function toConsentPage(extra: Record<string, string> = {}) {
      const page = await emulator.http.get(authorizeUrl(extra));
      expect(page.status).to.equal(200);
      expect(page.data).to.contain('Pick an account').and.to.contain('admin@first.example');
      const flow = /name="flow" value="([^"]+)"/.exec(page.data as string)![1]!;
      const consent = await post('/organizations/oauth2/v2.0/authorize/signin', {
        flow,
        upn: 'admin@first.example',
      });
      expect(consent.data).to.contain('Permissions requested');
      expect(consent.data)
        .to.contain('Access Partner Center')
        .and.to.contain('Sign you in and read your profile');
      return flow;
    }

    it('Cancel returns access_denied to the redirect URI with the state', async () => {
      const flow = await toConsentPage({ prompt: 'consent' });
      const back = await post('/organizations/oauth2/v2.0/authorize/consent', {
        flow,
        decision: 'cancel',
      });
      expect(back.status).to.equal(302);
      const location = new URL(String(back.headers.location));
      expect(location.searchParams.get('error')).to.equal('access_denied');
      expect(location.searchParams.get('error_subcode')).to.equal('cancel');
      expect(location.searchParams.get('error_description')).to.match(/^AADSTS65004:/);
      expect(location.searchParams.get('state')).to.equal('page-state');
    });

    it('Accept with response_mode=form_post posts the code to the redirect URI', async () => {
      const flow = await toConsentPage({ prompt: 'consent', response_mode: 'form_post' });
      const back = await post('/organizations/oauth2/v2.0/authorize/consent', {
        flow,
        decision: 'accept',
      });
      expect(back.status).to.equal(200);
      expect(back.data).to.contain(`<form method="post" action="${testClient.redirectUri}">`);
      expect(back.data).to.match(/name="code" value="1\.AQ[^"]+"/);
      expect(back.data).to.contain('name="state" value="page-state"');
    });

    it('refuses an unknown client or an unregistered redirect URI with a page, not a redirect', async () => {
      const unknown = await emulator.http.get(
        authorizeUrl({ client_id: '99999999-9999-4999-8999-999999999999' }),
      );
      expect(unknown.status).to.equal(400);
      expect(unknown.data).to.contain('AADSTS700016');
      const elsewhere = await emulator.http.get(
        authorizeUrl({ redirect_uri: 'https://evil.example/cb' }),
      );
      expect(elsewhere.status).to.equal(400);
      expect(elsewhere.data).to.contain('AADSTS50011');
    });
  });

  it('works with an independent OpenID client: discovery, PKCE, nonce, id token validation', async () => {
    const agent = new Agent({ connect: { ca: emulator.ca } });
    const customFetch = ((url: string, options: Record<string, unknown>) =>
      undiciFetch(url, { ...options, dispatcher: agent })) as unknown as oidc.CustomFetch;
    const config = await oidc.discovery(
      new URL(`${emulator.url}/${partnerTenant}/v2.0`),
      testClient.clientId,
      { redirect_uris: [testClient.redirectUri] },
      oidc.ClientSecretPost(testClient.clientSecret),
      { [oidc.customFetch]: customFetch },
    );
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: testClient.redirectUri,
      scope: `openid profile offline_access ${partnerCenterScope}`,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
      state,
      login_hint: 'admin@first.example',
    });
    const redirect = await emulator.http.get(url.toString());
    const tokens = await oidc.authorizationCodeGrant(
      config,
      new URL(String(redirect.headers.location)),
      {
        pkceCodeVerifier: verifier,
        expectedNonce: nonce,
        expectedState: state,
      },
    );
    expect(tokens.claims()).to.include({
      tid: partnerTenant,
      nonce,
      iss: `${emulator.url}/${partnerTenant}/v2.0`,
    });
    expect(decodeJwt(tokens.access_token).aud).to.equal('https://api.partnercenter.microsoft.com');
    expect(tokens.refresh_token).to.match(/^1\.AX/);
  });

  it('accepts plain PKCE and refuses a verifier that does not match it', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const authorize = async () => {
      const url = `${emulator.url}/${partnerTenant}/oauth2/v2.0/authorize?${new URLSearchParams({
        client_id: testClient.clientId,
        response_type: 'code',
        redirect_uri: testClient.redirectUri,
        scope: `${partnerCenterScope} offline_access`,
        login_hint: 'admin@first.example',
        code_challenge: verifier,
        code_challenge_method: 'plain',
      }).toString()}`;
      return new URL(String((await emulator.http.get(url)).headers.location)).searchParams.get(
        'code',
      )!;
    };
    const form = (code: string, codeVerifier: string) => ({
      grant_type: 'authorization_code',
      code,
      code_verifier: codeVerifier,
      redirect_uri: testClient.redirectUri,
      scope: `${partnerCenterScope} offline_access`,
    });
    const ok = await redeem(emulator, form(await authorize(), verifier), partnerTenant);
    expect(ok.access_token).to.be.a('string');
    const wrong = createHash('sha256').update(verifier).digest('base64url');
    const error = await expectRejection(
      redeem(emulator, form(await authorize(), wrong), partnerTenant),
    );
    expect(error.message).to.match(/^invalid_grant: AADSTS501481:/);
  });

  it('keeps every issued secret listed for leak scans', async () => {
    const tokens = await consentAndRedeem(emulator, 'admin@first.example');
    const issued = (await emulator.http.get(`${emulator.url}/_emulator/issued`)).data as string;
    const parsed = JSON.parse(issued) as Record<string, string[]>;
    expect(parsed.refreshTokens).to.include(tokens.refresh_token);
    expect(parsed.accessTokens).to.include(tokens.access_token);
    expect(parsed.codes!.length).to.be.greaterThan(0);
  });
});
