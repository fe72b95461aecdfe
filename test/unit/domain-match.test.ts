import { expect } from 'chai';
import { domainOf, sameDomain } from '../../src/domain/domain-match.js';

describe('domain-matched replacement rule', () => {
  it('matches whole domains, ignoring case', () => {
    expect(sameDomain('sync@s365l.com', 'anyone@s365l.com')).to.be.true;
    expect(sameDomain('sync@s365l.com', 'Admin@S365L.COM')).to.be.true;
  });

  it('does not match a subdomain, a look-alike or a missing domain', () => {
    expect(sameDomain('sync@s365l.com', 'admin@mail.s365l.com')).to.be.false;
    expect(sameDomain('sync@s365l.com', 'admin@evils365l.com')).to.be.false;
    expect(sameDomain('sync@s365l.com', 'admin@s365l.com.evil.example')).to.be.false;
    expect(sameDomain('nodomain', 'nodomain')).to.be.false;
    expect(sameDomain('admin', 'sync')).to.be.false;
    expect(sameDomain('admin@', 'sync@')).to.be.false;
    expect(sameDomain('admin@ ', 'sync@ ')).to.be.false;
    expect(domainOf('user@')).to.equal(undefined);
    expect(domainOf('user@ ')).to.equal(undefined);
  });
});
