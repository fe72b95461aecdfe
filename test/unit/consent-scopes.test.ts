import { expect } from 'chai';
import { loadConfig } from '../../config/index.js';
import { createMicrosoftHttp } from '../../src/microsoft/http.js';
import { MicrosoftIdentity } from '../../src/microsoft/identity.js';
import type { TokenCacheStore } from '../../src/store/token-cache.js';
import { testEnv } from '../support/config.js';

/** The scopes a consent link asks for, in the configured cloud. */
async function consentScopes(cloud: 'global' | 'usgov', kind: 'partner_center' | 'custom_license') {
  const { config } = loadConfig(testEnv({ MICROSOFT_CLOUD: cloud }));
  // Building a consent link reads no token cache and takes no lock.
  const identity = new MicrosoftIdentity(
    config,
    createMicrosoftHttp(),
    null as unknown as TokenCacheStore,
    (_key, fn) => fn(),
  );
  const url = await identity.authorizeUrl({
    kind,
    state: 's',
    nonce: 'n',
    codeChallenge: 'c'.repeat(43),
  });
  return (new URL(url).searchParams.get('scope') ?? '').split(' ');
}

describe('consent scopes', () => {
  it('asks Graph for the group names the Admin Agent check reads, in the configured cloud', async () => {
    expect(await consentScopes('global', 'partner_center')).to.include.members([
      'https://api.partnercenter.microsoft.com/user_impersonation',
      'https://graph.microsoft.com/User.Read',
      'https://graph.microsoft.com/GroupMember.Read.All',
      'https://graph.microsoft.com/DelegatedAdminRelationship.ReadWrite.All',
    ]);
    const usgov = await consentScopes('usgov', 'partner_center');
    expect(usgov).to.include.members([
      'https://graph.microsoft.us/User.Read',
      'https://graph.microsoft.us/GroupMember.Read.All',
    ]);
    expect(usgov.filter((s) => s.startsWith('https://graph.microsoft.com'))).to.deep.equal([]);
  });

  it('asks for GDAP relationships with the least permission that changes them, and nothing broader', async () => {
    const scopes = await consentScopes('global', 'partner_center');
    expect(scopes.filter((s) => s.startsWith('https://graph.microsoft.com/'))).to.have.members([
      'https://graph.microsoft.com/User.Read',
      'https://graph.microsoft.com/GroupMember.Read.All',
      'https://graph.microsoft.com/DelegatedAdminRelationship.ReadWrite.All',
    ]);
  });

  it('asks for the mailbox usage report, not mailbox settings, for the custom-license token', async () => {
    const scopes = await consentScopes('usgov', 'custom_license');
    expect(scopes).to.include('https://graph.microsoft.us/Reports.Read.All');
    expect(scopes.some((s) => s.includes('MailboxSettings'))).to.equal(false);
  });
});
