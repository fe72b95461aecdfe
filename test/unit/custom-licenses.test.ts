import { expect } from 'chai';
import {
  customLicenseKindSchema,
  customLicenseTokenState,
  inDomains,
  missingPermissions,
} from '../../src/domain/custom-licenses.js';

const day = 24 * 3600 * 1000;
const now = new Date('2026-11-26T12:00:00Z');
const token = (overrides: object = {}) => ({
  status: 'active',
  validation: 'valid' as 'valid' | 'invalid' | null,
  validationReason: null,
  lastUsedAt: new Date(now.getTime() - day),
  ...overrides,
});

describe('custom licenses (domain rules)', () => {
  it('names the permissions the definitions need that the token lacks', () => {
    expect(missingPermissions(['licensed_users', 'fixed'], ['User.Read.All'])).to.deep.equal([]);
    expect(
      missingPermissions(['group_members', 'shared_mailboxes'], ['User.Read.All']),
    ).to.have.members(['GroupMember.Read.All', 'Reports.Read.All']);
    // Mailboxes are counted from the usage report: users need not be readable.
    expect(missingPermissions(['user_mailboxes'], ['Reports.Read.All'])).to.deep.equal([]);
    // Directory.Read.All covers users, groups and the organization, not usage reports.
    expect(
      missingPermissions(
        ['group_members', 'user_mailboxes', 'sku_quantity'],
        ['Directory.Read.All'],
      ),
    ).to.deep.equal(['Reports.Read.All']);
    expect(missingPermissions([], [])).to.deep.equal([]);
  });

  it('matches UPNs by domain, without subdomains', () => {
    expect(inDomains('a@Contoso.com', ['contoso.com'])).to.be.true;
    expect(inDomains('a@eu.contoso.com', ['contoso.com'])).to.be.false;
    expect(inDomains('contoso.com', ['contoso.com'])).to.be.false;
  });

  it('says missing, invalid, expiring or valid, with the reason and the fix', () => {
    expect(customLicenseTokenState(undefined, now).status).to.equal('missing');
    const invalid = customLicenseTokenState(
      token({ validation: 'invalid', validationReason: 'No MFA.' }),
      now,
    );
    expect(invalid).to.deep.include({ status: 'invalid', reason: 'No MFA.' });
    expect(invalid.nextAction).to.match(/Generate the custom-license token/);
    expect(customLicenseTokenState(token({ status: 'needs_reconsent' }), now).status).to.equal(
      'invalid',
    );
    expect(customLicenseTokenState(token({ validation: null }), now).reason).to.match(/queued/);
    // 90 days without use is the limit; the last 14 are "expiring".
    expect(
      customLicenseTokenState(token({ lastUsedAt: new Date(now.getTime() - 75 * day) }), now)
        .status,
    ).to.equal('valid');
    const expiring = customLicenseTokenState(
      token({ lastUsedAt: new Date(now.getTime() - 77 * day) }),
      now,
    );
    expect(expiring.status).to.equal('expiring');
    expect(expiring.reason).to.contain('expires on 2026-12-09');
    const expired = customLicenseTokenState(
      token({ lastUsedAt: new Date(now.getTime() - 91 * day) }),
      now,
    );
    expect(expired.status).to.equal('invalid');
    expect(expired.reason).to.match(/expired on .* after 90 days without use/);
    expect(customLicenseTokenState(token(), now)).to.deep.equal({
      status: 'valid',
      reason: null,
      nextAction: null,
    });
  });

  it('validates each kind with its parameters', () => {
    expect(
      customLicenseKindSchema.parse({ kind: 'sku_quantity', skuPartNumber: 'SPB' }),
    ).to.deep.equal({ kind: 'sku_quantity', skuPartNumber: 'SPB', measure: 'purchased' });
    expect(
      customLicenseKindSchema.parse({ kind: 'licensed_users', domains: [' Contoso.COM '] }),
    ).to.deep.equal({ kind: 'licensed_users', domains: ['contoso.com'] });
    for (const bad of [
      { kind: 'group_members', group: '' },
      { kind: 'fixed', quantity: 1.5 },
      { kind: 'sku_quantity', skuPartNumber: "SPB' or 1 eq 1" },
      { kind: 'licensed_users', domains: [] },
    ]) {
      expect(customLicenseKindSchema.safeParse(bad).success, JSON.stringify(bad)).to.be.false;
    }
  });
});
