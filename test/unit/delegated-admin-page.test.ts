import { expect } from 'chai';
import { customLicenseTokenState } from '../../src/domain/custom-licenses.js';
import { attemptView, delegatedAdminStatus } from '../../src/server/api/consents.js';
import { html } from '../../src/server/views/layout.js';
import {
  DelegatedAdminPage,
  type DelegatedAdminPageProps,
} from '../../src/server/views/delegated-admin.js';
import type { ConsentAttempt } from '../../src/store/consent-attempts.js';
import type { DelegatedAdmin } from '../../src/store/partners.js';
import type { RefreshRun } from '../../src/store/refresh-runs.js';

const partnerId = 'p0000001-0000-4000-8000-000000000001';
const samId = 'a0000001-0000-4000-8000-000000000001';
const now = new Date('2026-06-01T12:00:00Z');

const admin = (overrides: Partial<DelegatedAdmin>) =>
  ({
    id: samId,
    partnerId,
    kind: 'sam',
    username: 'admin@contoso.example',
    status: 'active',
    replacedBy: null,
    mfaVerified: true,
    adminAgent: true,
    tenantId: 't0000001-0000-4000-8000-000000000001',
    consentedAt: now,
    nextAction: null,
    ...overrides,
  }) as DelegatedAdmin;
const legacy = (status: 'active' | 'replaced') =>
  admin({
    id: 'a0000002-0000-4000-8000-000000000002',
    kind: 'legacy',
    username: 'old@contoso.example',
    status,
    replacedBy: status === 'replaced' ? samId : null,
  });
const run = (overrides: Partial<RefreshRun>) =>
  ({
    id: 'r0000001-0000-4000-8000-000000000001',
    partnerId,
    status: 'completed',
    total: 36,
    succeeded: 36,
    failed: 0,
    noAccess: 0,
    error: null,
    startedAt: now,
    finishedAt: now,
    ...overrides,
  }) as RefreshRun;
const attempt = (kind: 'partner_center' | 'custom_license', status: ConsentAttempt['status']) =>
  ({ id: `${kind}-attempt`, partnerId, kind, status, error: null }) as ConsentAttempt;

/** The page as the browser gets it, for a partner in the given state. */
function page(options: {
  admins?: DelegatedAdmin[];
  attempt?: ConsentAttempt;
  run?: RefreshRun;
  customLicensesFailed?: number;
  tokenAttempt?: ConsentAttempt;
}): string {
  const props: DelegatedAdminPageProps = {
    viewer: { email: 'user@contoso.example', role: 'partner', csrfToken: 'csrf' },
    partner: { id: partnerId, name: 'Contoso' },
    status: delegatedAdminStatus(
      partnerId,
      options.admins ?? [admin({})],
      options.attempt,
      options.run,
      options.customLicensesFailed,
    ),
    companiesOnNewModel: 0,
    failures: [],
    token: {
      ...customLicenseTokenState(undefined, now),
      upn: null,
      lastValidatedAt: null,
      attempt: options.tokenAttempt ? attemptView(options.tokenAttempt) : null,
    },
    access: null,
  };
  return html(DelegatedAdminPage(props));
}
/** The visible text of the element with this data-testid or role, tags and entities removed. */
const textOf = (document: string, marker: RegExp) => {
  const match = marker.exec(document);
  if (!match) return null;
  return match[1]!
    .replace(/<[^>]+>/g, '')
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/&amp;/g, '&');
};
const runText = (document: string) =>
  textOf(document, /<div data-testid="run"><p role="status">([\s\S]*?)<\/p>/);

describe('the Delegated Admin page', () => {
  it('ends a stopped refresh with its own sentence, not a second period', () => {
    const text = runText(
      page({
        run: run({
          status: 'stopped',
          total: 0,
          succeeded: 0,
          error: 'The consent was revoked. Grant Partner Center consent again.',
        }),
      }),
    );
    expect(text).to.equal(
      'Refresh stopped. The consent was revoked. Grant Partner Center consent again.',
    );
    expect(text).to.not.contain('..');
  });

  it('says the customers are being listed until their number is known', () => {
    const listing = runText(page({ run: run({ status: 'running', total: 0, succeeded: 0 }) }));
    expect(listing).to.not.contain('…  companies').and.not.match(/of \D/);
    expect(listing).to.equal('Refreshing: listing the partner’s customers…');
    const counting = runText(page({ run: run({ status: 'running', total: 12, succeeded: 3 }) }));
    expect(counting).to.equal('Refreshing: 3 of 12 companies done.');
  });

  it('counts the companies whose custom licenses failed beside those refreshed', () => {
    const text = runText(page({ run: run({}), customLicensesFailed: 3 }));
    expect(text).to.match(/36 of 36 companies refreshed; custom licenses failed for 3\.$/);
    expect(runText(page({ run: run({}) }))).to.not.contain('custom licenses');
  });

  it('keeps the new model when consent must be granted again after the replacement', () => {
    const admins = [
      admin({ status: 'needs_reconsent', nextAction: 'Grant Partner Center consent again.' }),
      legacy('replaced'),
    ];
    const status = delegatedAdminStatus(partnerId, admins, undefined, run({}));
    expect(status.model).to.equal('sam');
    expect(status.nextAction).to.equal('Grant Partner Center consent again.');
    expect(
      delegatedAdminStatus(
        partnerId,
        [admin({ status: 'needs_reconsent' }), legacy('active')],
        undefined,
        undefined,
      ).model,
    ).to.equal('mixed');
    expect(
      delegatedAdminStatus(partnerId, [legacy('active')], undefined, undefined).model,
    ).to.equal('legacy');
  });

  it('disables the Grant button while a consent is completing, and reloads until it is done', () => {
    for (const status of ['received', 'exchanging'] as const) {
      const document = page({ attempt: attempt('partner_center', status) });
      expect(document).to.contain('<button type="submit" disabled>Completing consent…</button>');
      expect(document).to.not.contain('Grant Partner Center Consent</button>');
      expect(document).to.contain('http-equiv="refresh"');
    }
    const idle = page({ attempt: attempt('partner_center', 'started') });
    expect(idle).to.contain(
      '<button type="submit" class="primary">Grant Partner Center Consent</button>',
    );
  });

  it('follows a custom-license token consent until it is done, like a Partner Center one', () => {
    const completing = page({ tokenAttempt: attempt('custom_license', 'exchanging') });
    expect(completing).to.contain('http-equiv="refresh"');
    expect(textOf(completing, /data-testid="token-attempt">([\s\S]*?)<\/p>/)).to.equal(
      'Consent received; completing it.',
    );
    expect(completing).to.contain('<button type="submit" disabled>Completing the token…</button>');
    const done = page({ tokenAttempt: attempt('custom_license', 'completed') });
    expect(done).to.not.contain('http-equiv="refresh"');
    expect(done).to.contain('<button type="submit">Generate custom-license token</button>');
  });
});
