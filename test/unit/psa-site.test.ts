import { expect } from 'chai';
import { psaSite } from '../../src/psa/site.js';

// Two connections reach one PSA instance when their sites are equal: ids made on one hold on
// the other. Credentials never enter into it.

describe('the PSA instance a connection reaches', () => {
  it('is the ConnectWise site and company, whichever of its addresses is typed', () => {
    const cw = (siteUrl: string, companyId: string) =>
      psaSite('connectwise', { siteUrl, companyId, publicKey: 'a', clientId: 'b' });
    const site = cw('https://na.myconnectwise.net', 'contosomsp');
    expect(cw('https://api-na.myconnectwise.net/', 'ContosoMSP')).to.equal(site);
    expect(
      psaSite('connectwise', {
        siteUrl: 'https://na.myconnectwise.net',
        companyId: 'contosomsp',
        publicKey: 'another',
        clientId: 'another',
      }),
    ).to.equal(site);
    expect(cw('https://eu.myconnectwise.net', 'contosomsp')).to.not.equal(site);
    expect(cw('https://na.myconnectwise.net', 'fabrikammsp')).to.not.equal(site);
  });

  it('is the Autotask API user and zone lookup', () => {
    const at = (userName: string, zoneLookupUrl: string) =>
      psaSite('autotask', { userName, zoneLookupUrl, integrationCode: 'IC-1' });
    const site = at('api@contoso.example', 'https://webservices.autotask.net/atservicesrest/');
    expect(at('API@contoso.example', 'https://webservices.autotask.net/atservicesrest')).to.equal(
      site,
    );
    expect(
      at('api@fabrikam.example', 'https://webservices.autotask.net/atservicesrest/'),
    ).to.not.equal(site);
  });

  it('is the Halo API address and tenant', () => {
    const site = psaSite('halo', { url: 'https://contoso.halopsa.com', clientId: 'a' });
    expect(
      psaSite('halo', {
        url: 'https://contoso.halopsa.com/',
        apiUrl: 'https://contoso.halopsa.com/api',
      }),
    ).to.equal(site);
    expect(psaSite('halo', { url: 'https://fabrikam.halopsa.com' })).to.not.equal(site);
    expect(psaSite('halo', { url: 'https://contoso.halopsa.com', tenant: 'other' })).to.not.equal(
      site,
    );
  });

  it('differs between two PSAs', () => {
    expect(psaSite('halo', {})).to.not.equal(psaSite('autotask', {}));
  });
});
