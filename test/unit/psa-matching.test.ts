import { expect } from 'chai';
import {
  bareDomain,
  nameWords,
  suggestMatch,
  type MatchCandidate,
} from '../../src/domain/psa-matching.js';

const tenant = '9b2c4f0e-3a1d-4c5e-8f7a-2d6b1e0c9a84';
const contoso = { name: 'Contoso', domain: 'contoso.com', customerTenantId: tenant };

describe('PSA company suggestions', () => {
  it('prefers the tenant to the domain, and the domain to the name', () => {
    const byName: MatchCandidate = { id: 'n', name: 'Contoso', domains: ['contoso.net'] };
    const byDomain: MatchCandidate = { id: 'd', name: 'Blue Yonder', domains: ['contoso.com'] };
    const byTenant: MatchCandidate = {
      id: 't',
      name: 'Fourth Coffee',
      domains: [],
      tenantIds: [tenant.toUpperCase()],
    };
    // The weaker matches come first: order does not decide, the reason does.
    expect(suggestMatch(contoso, [byName, byDomain, byTenant])).to.deep.equal({
      candidateId: 't',
      candidateName: 'Fourth Coffee',
      reason: 'tenant',
      score: 1,
    });
    expect(suggestMatch(contoso, [byName, byDomain])).to.deep.equal({
      candidateId: 'd',
      candidateName: 'Blue Yonder',
      reason: 'domain',
      score: 0.9,
    });
    expect(suggestMatch(contoso, [byName])).to.deep.equal({
      candidateId: 'n',
      candidateName: 'Contoso',
      reason: 'name',
      score: 0.8,
    });
  });

  it('reads "Contoso Ltd" and "CONTOSO, Inc." as the same name', () => {
    expect(nameWords('CONTOSO, Inc.')).to.deep.equal(['contoso']);
    const suggestion = suggestMatch({ name: 'Contoso Ltd', domain: null, customerTenantId: null }, [
      { id: 'c', name: 'CONTOSO, Inc.', domains: [] },
    ]);
    expect(suggestion).to.include({ candidateId: 'c', reason: 'name', score: 0.8 });
  });

  it('matches "www.Contoso.com/" to contoso.com', () => {
    expect(bareDomain('www.Contoso.com/')).to.equal('contoso.com');
    expect(bareDomain(' https://WWW.contoso.com:443/about ')).to.equal('contoso.com');
    expect(bareDomain('contoso.com.')).to.equal('contoso.com');
    const candidate = { id: 'c', name: 'Someone Else', domains: ['www.Contoso.com/'] };
    expect(suggestMatch(contoso, [candidate])).to.include({ candidateId: 'c', reason: 'domain' });
    expect(
      suggestMatch({ name: 'Acme', domain: 'https://www.Contoso.com/', customerTenantId: null }, [
        { id: 'c', name: 'Widgets', domains: ['contoso.com'] },
      ]),
    ).to.include({ candidateId: 'c', reason: 'domain' });
  });

  it('does not match a subdomain or a look-alike domain', () => {
    const candidates = [
      { id: 'sub', name: 'Alpha', domains: ['eu.contoso.com'] },
      { id: 'alike', name: 'Beta', domains: ['contoso.com.evil.example', 'mycontoso.com'] },
    ];
    expect(suggestMatch(contoso, candidates)).to.equal(undefined);
  });

  it('ignores accents', () => {
    expect(nameWords('Crème Brûlée GmbH')).to.deep.equal(['creme', 'brulee']);
    const suggestion = suggestMatch(
      { name: 'Café Müller GmbH', domain: null, customerTenantId: null },
      [{ id: 'm', name: 'Cafe Muller', domains: [] }],
    );
    expect(suggestion).to.include({ candidateId: 'm', reason: 'name' });
  });

  it('calls names similar when half their words are shared', () => {
    // {contoso, pharma} against {contoso, pharma, europe}: 2 shared of 3 words.
    const suggestion = suggestMatch(
      { name: 'Contoso Pharma', domain: null, customerTenantId: null },
      [{ id: 'p', name: 'Contoso Pharma Europe Ltd', domains: [] }],
    );
    expect(suggestion?.reason).to.equal('similar_name');
    expect(suggestion?.score).to.be.closeTo(0.4, 1e-9);
  });

  it('suggests nothing when no candidate is close enough', () => {
    const company = {
      name: 'Contoso North America',
      domain: 'contoso.com',
      customerTenantId: tenant,
    };
    expect(
      suggestMatch(company, [
        // {contoso} against {contoso, north, america}: 1 shared of 3 words.
        { id: 'a', name: 'Contoso', domains: ['contoso.org'] },
        { id: 'b', name: 'Fabrikam', domains: ['fabrikam.com'], tenantIds: [] },
        { id: 'c', name: 'The Group Ltd', domains: [] },
      ]),
    ).to.equal(undefined);
    expect(suggestMatch(company, [])).to.equal(undefined);
    // A company without a domain never matches a candidate on an empty one.
    expect(
      suggestMatch({ name: 'Tailspin', domain: null, customerTenantId: null }, [
        { id: 'e', name: 'Wingtip', domains: [''] },
      ]),
    ).to.equal(undefined);
  });

  it('gives a tie to the first candidate', () => {
    const twins = [
      { id: 'first', name: 'Contoso Inc', domains: [] },
      { id: 'second', name: 'Contoso LLC', domains: [] },
    ];
    expect(suggestMatch({ ...contoso, domain: null }, twins)?.candidateId).to.equal('first');
    const sameDomain = [
      { id: 'first', name: 'A', domains: ['contoso.com'] },
      { id: 'second', name: 'B', domains: ['contoso.com'] },
    ];
    expect(suggestMatch(contoso, sameDomain)?.candidateId).to.equal('first');
  });
});
