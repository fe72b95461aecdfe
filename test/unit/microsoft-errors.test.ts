import { InteractionRequiredAuthError, ServerError } from '@azure/msal-node';
import { parseRetryAfter } from '../../src/http-client.js';
import { expect } from 'chai';
import { consentEndSentence, consentErrorMessage } from '../../src/microsoft/error-table.js';
import {
  answerJson,
  classifyHttpFailure,
  classifyMicrosoftError,
  httpFailureError,
} from '../../src/microsoft/errors.js';
import { TransportError } from '../../src/http-client.js';
import { ProgrammingError } from '../../src/programming-error.js';
import { sameOriginReturnUrl } from '../../src/server/api/consents.js';

/** An MSAL error as MSAL builds it from a token-endpoint answer. */
function msal(kind: 'server' | 'interaction', errorCode: string, errorNo: number) {
  const error =
    kind === 'server'
      ? new ServerError(errorCode, 'message')
      : new InteractionRequiredAuthError(errorCode, 'message');
  return Object.assign(error, { errorNo });
}

describe('classifying Microsoft errors (one table)', () => {
  it('asks for consent again on the partner-level AADSTS codes, whatever MSAL class carries them', () => {
    for (const code of [50076, 50079, 50173, 700082, 70008]) {
      expect(classifyMicrosoftError(msal('interaction', 'invalid_grant', code)).kind).to.equal(
        'needs_reconsent',
      );
      expect(classifyMicrosoftError(msal('server', 'invalid_grant', code)).kind).to.equal(
        'needs_reconsent',
      );
    }
  });

  it('finds one customer unreachable for 65001 and 90099 from its tenant, but stops the partner at home', () => {
    for (const code of [65001, 90099]) {
      const there = classifyMicrosoftError(msal('server', 'invalid_grant', code), 'customer');
      expect(there.kind).to.equal('no_access');
      expect(there.message).to.match(/app is not consented in this customer tenant/);
      expect(
        classifyMicrosoftError(msal('server', 'invalid_grant', code), 'partner').kind,
      ).to.equal('needs_reconsent');
    }
  });

  it('says per identity code what the partner must do, at home and in a customer tenant', () => {
    const cases: [number, RegExp, RegExp][] = [
      [70043, /sign-in frequency policy/, /sign-in frequency policy/],
      [50078, /multi-factor authentication is older/, /fresher multi-factor sign-in/],
      [53003, /Conditional Access in your tenant blocks/, /Conditional Access in this customer/],
      [530034, /at risk in your tenant/, /at risk in the partner's tenant/],
      [50020, /does not belong to this partner tenant/, /no active GDAP relationship/],
      [50177, /pass-through sign-in/, /in no GDAP security group/],
      [
        5000224,
        /partner's tenant is not available \(deleted\)/,
        /customer tenant is not available/,
      ],
    ];
    for (const [code, home, customer] of cases) {
      const error = msal('interaction', 'invalid_grant', code);
      const atHome = classifyMicrosoftError(error);
      expect(atHome.kind, String(code)).to.equal('needs_reconsent');
      expect(atHome.message, String(code)).to.match(home);
      expect(atHome.code).to.equal(`AADSTS${code}`);
      const there = classifyMicrosoftError(error, 'customer');
      expect(there.kind, String(code)).to.equal(
        code === 50020 || code === 50177 ? 'no_access' : 'permanent',
      );
      expect(there.message, String(code)).to.match(customer);
    }
  });

  it('asks for consent again on any invalid_grant for the partner, and names a role refusal', () => {
    expect(classifyMicrosoftError(msal('server', 'invalid_grant', 123456))).to.include({
      kind: 'needs_reconsent',
      code: 'AADSTS123456',
    });
    const refusal = {
      service: 'partnerCenter',
      status: 403,
      code: '403',
      retryAfterMs: undefined,
    } as const;
    const role = classifyHttpFailure(refusal, 'partner');
    expect(role.kind).to.equal('needs_reconsent');
    expect(role.message).to.match(/role lacks the right for this call.*Admin Agent account/);
    const oneCustomer = classifyHttpFailure(refusal, 'customer');
    expect(oneCustomer.kind).to.equal('permanent');
    expect(oneCustomer.message).to.match(/role may lack the right.*licenses need an Admin Agent/);
  });

  it('retries unavailability and network failures; no stored tokens means consent again', () => {
    expect(classifyMicrosoftError(new ServerError('temporarily_unavailable', 'x')).kind).to.equal(
      'transient',
    );
    expect(
      classifyMicrosoftError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })).kind,
    ).to.equal('transient');
    expect(
      classifyMicrosoftError(new InteractionRequiredAuthError('no_tokens_found', 'nothing cached'))
        .kind,
    ).to.equal('needs_reconsent');
  });

  it("classifies a success answer that is not JSON as Microsoft's, retried, not as a bug", () => {
    expect(answerJson<{ a: number }>('graph', '{"a":1}', '/users')).to.deep.equal({ a: 1 });
    const thrown = (() => {
      try {
        answerJson('partnerCenter', '<html>maintenance</html>', '/customers');
      } catch (error) {
        return error;
      }
    })();
    expect(classifyMicrosoftError(thrown, 'customer')).to.include({
      kind: 'transient',
      service: 'partnerCenter',
    });
  });

  it('throws a bug (an error no Microsoft call produces) instead of classifying it as transient', () => {
    for (const bug of [
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      new Error('x'),
      'oops',
    ]) {
      expect(() => classifyMicrosoftError(bug), String(bug)).to.throw(ProgrammingError);
      expect(() => classifyMicrosoftError(bug, 'customer', 'customLicense')).to.throw(
        ProgrammingError,
      );
    }
    const thrown = (() => {
      try {
        classifyMicrosoftError(new TypeError('x is not a function'));
      } catch (error) {
        return error as ProgrammingError;
      }
    })();
    expect(thrown?.message).to.contain('TypeError: x is not a function');
    expect(thrown?.cause).to.be.instanceOf(TypeError);
    // A call that got no answer is Microsoft's (retried), not a bug.
    expect(
      classifyMicrosoftError(new TransportError('ETIMEDOUT calling x', 'ETIMEDOUT')),
    ).to.include({ kind: 'transient', code: 'ETIMEDOUT' });
    expect(
      classifyMicrosoftError(new TransportError('ERR_BAD_RESPONSE calling x', undefined)),
    ).to.include({ kind: 'transient', code: 'unknown' });
  });

  it('words what to do again by the grant that made the call, from the one table', () => {
    const cases: [number, string, string][] = [
      [
        50173,
        'The consent was revoked (password reset or sessions revoked). Grant Partner Center consent again.',
        'The consent was revoked (password reset or sessions revoked). Generate the custom-license token again.',
      ],
      [
        50078,
        "The consenting account's multi-factor authentication is older than your Conditional Access policy allows. Grant Partner Center consent again, signing in with MFA.",
        "The consenting account's multi-factor authentication is older than your Conditional Access policy allows. Generate the custom-license token again, signing in with MFA.",
      ],
      [
        53003,
        'Conditional Access in your tenant blocks the consenting account from this app. Exclude the account from the blocking policy, then grant Partner Center consent again.',
        'Conditional Access in your tenant blocks the consenting account from this app. Exclude the account from the blocking policy, then generate the custom-license token again.',
      ],
      [
        5000224,
        "Microsoft says the partner's tenant is not available (deleted). Grant Partner Center consent again with an account of the partner's current tenant.",
        "Microsoft says the partner's tenant is not available (deleted). Generate the custom-license token again with an account of the partner's current tenant.",
      ],
    ];
    for (const [code, consent, token] of cases) {
      const error = msal('interaction', 'invalid_grant', code);
      expect(classifyMicrosoftError(error).message, String(code)).to.equal(consent);
      expect(classifyMicrosoftError(error, 'partner', 'customLicense').message).to.equal(token);
      // A code with no customer sentence uses the partner's, in the grant's words.
      if (code === 50173) {
        expect(classifyMicrosoftError(error, 'customer', 'customLicense').message).to.equal(token);
      }
    }
    // Sentences without a "do again" part are the same whichever grant failed.
    const customer = msal('interaction', 'invalid_grant', 53003);
    expect(classifyMicrosoftError(customer, 'customer', 'customLicense').message).to.equal(
      classifyMicrosoftError(customer, 'customer').message,
    );
    expect(
      classifyMicrosoftError(
        new InteractionRequiredAuthError('no_tokens_found', 'nothing cached'),
        'partner',
        'customLicense',
      ).message,
    ).to.equal('No usable refresh token is stored. Generate the custom-license token again.');
    // An HTTP refusal thrown by our clients is worded again for the grant that made the call.
    const refused = httpFailureError(
      { service: 'partnerCenter', status: 403, code: '403', retryAfterMs: undefined },
      'partner',
    );
    expect(classifyMicrosoftError(refused).message).to.match(
      /: grant consent again with an Admin Agent account\.$/,
    );
    expect(classifyMicrosoftError(refused, 'partner', 'customLicense')).to.include({
      kind: 'needs_reconsent',
      code: '403',
    });
    expect(classifyMicrosoftError(refused, 'partner', 'customLicense').message).to.match(
      /: generate the token again\.$/,
    );
  });

  it('says an authorization code Microsoft will not redeem expired, whichever grant it was for', () => {
    for (const code of [54005, 70008, 9002313]) {
      const error = msal('server', 'invalid_grant', code);
      for (const grant of ['partnerCenter', 'customLicense'] as const) {
        expect(classifyMicrosoftError(error, 'authorizationCode', grant), String(code)).to.include({
          kind: 'permanent',
          code: `AADSTS${code}`,
          message: 'Consent expired — grant it again.',
        });
      }
    }
    // The same code for a stored consent's refresh token asks for consent again.
    expect(classifyMicrosoftError(msal('server', 'invalid_grant', 70008))).to.include({
      kind: 'needs_reconsent',
      message: 'The consent expired. Grant Partner Center consent again.',
    });
    // Codes without a sentence of their own for code redemption use the partner's.
    expect(
      classifyMicrosoftError(msal('server', 'invalid_grant', 50076), 'authorizationCode').kind,
    ).to.equal('needs_reconsent');
  });

  it('reads Partner Center and Graph answers by status and code, keeping Retry-After', () => {
    const throttled = classifyHttpFailure(
      { service: 'partnerCenter', status: 429, code: undefined, retryAfterMs: 7000 },
      'customer',
    );
    expect(throttled).to.include({ kind: 'transient', retryAfterMs: 7000 });
    expect(
      classifyHttpFailure(
        { service: 'partnerCenter', status: 401, code: '900421', retryAfterMs: undefined },
        'partner',
      ).kind,
    ).to.equal('needs_reconsent');
    expect(
      classifyHttpFailure(
        { service: 'partnerCenter', status: 403, code: '20002', retryAfterMs: undefined },
        'customer',
      ).kind,
    ).to.equal('no_access');
    expect(
      classifyHttpFailure(
        { service: 'partnerCenter', status: 403, code: '20002', retryAfterMs: undefined },
        'partner',
      ).kind,
    ).to.equal('permanent');
    expect(
      classifyHttpFailure(
        { service: 'graph', status: 503, code: 'serviceNotAvailable', retryAfterMs: undefined },
        'customer',
      ).kind,
    ).to.equal('transient');
    expect(parseRetryAfter('3')).to.equal(3000);
    expect(
      parseRetryAfter('Thu, 26 Nov 2026 00:00:10 GMT', Date.parse('Thu, 26 Nov 2026 00:00:00 GMT')),
    ).to.equal(10_000);
    expect(parseRetryAfter('soon')).to.equal(undefined);
  });
});

describe('the sentence a consent attempt ends with', () => {
  const partnerCenter = (status: number, code: string | undefined) =>
    classifyHttpFailure(
      { service: 'partnerCenter', status, code, retryAfterMs: undefined },
      'partner',
    );

  it("names the account Partner Center's 900421 asks to enable MFA, once the account is known", () => {
    const mfa = partnerCenter(401, '900421');
    expect(consentEndSentence(mfa, 'admin@first.example')).to.equal(
      'Partner Center requires multi-factor authentication for admin@first.example. Enable MFA on this account, then grant consent again.',
    );
    expect(consentEndSentence(mfa)).to.equal(
      'Partner Center requires multi-factor authentication: enable MFA on the consenting account, then grant consent again.',
    );
  });

  it('says Microsoft was unavailable after the last retry, and keeps every other sentence', () => {
    expect(consentEndSentence(partnerCenter(503, undefined), 'admin@first.example')).to.equal(
      'Microsoft was unavailable while completing the consent. Grant consent again.',
    );
    expect(consentEndSentence(partnerCenter(401, undefined), 'admin@first.example')).to.equal(
      "Partner Center refused the consent's token. Grant Partner Center consent again.",
    );
  });
});

describe('consent input rules', () => {
  it('keeps return URLs on the PUBLIC_URL origin', () => {
    const origin = 'https://app.example';
    expect(sameOriginReturnUrl('/company/delegated-admin?tab=1', origin)).to.equal(
      'https://app.example/company/delegated-admin?tab=1',
    );
    expect(sameOriginReturnUrl('https://app.example/x', origin)).to.equal('https://app.example/x');
    for (const bad of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      'https://app.example.evil.example/',
      'javascript:alert(1)',
    ]) {
      expect(sameOriginReturnUrl(bad, origin), bad).to.equal(undefined);
    }
  });

  it('turns Entra errors into sentences a partner understands', () => {
    expect(consentErrorMessage('access_denied', 'AADSTS65004: User declined.', 'cancel')).to.match(
      /cancelled at Microsoft/,
    );
    expect(
      consentErrorMessage('invalid_request', 'AADSTS90002: Tenant not found.\r\nTrace ID: x'),
    ).to.equal(
      'Microsoft could not complete the consent (AADSTS90002): Tenant not found. Try again, or contact support with this code.',
    );
  });
});
