import { expect } from 'chai';
import {
  consentAndRedeem,
  json,
  partnerCenterScope,
  scenarioWith,
  startTestEmulator,
  type TestEmulator,
} from '../support/emulator.js';

// Graph's /me/memberOf and /me/transitiveMemberOf in the partner's own tenant, as partner tools
// read the AdminAgents membership (docs: user-list-transitivememberof, permissions-overview).

const firstPartner = 'aaaaaaaa-0000-4000-8000-000000000001';
const graph = (scope: string) => `https://graph.microsoft.com/${scope}`;

interface DirectoryObjects {
  '@odata.context': string;
  '@odata.count'?: number;
  '@odata.nextLink'?: string;
  value: Record<string, unknown>[];
}

describe('Graph emulator: partner group memberships', function () {
  let emulator: TestEmulator;

  before(async () => {
    // Many groups around the nested Admin Agent, to page.
    emulator = await startTestEmulator(
      scenarioWith((p) =>
        p.tenantId === firstPartner
          ? {
              ...p,
              groups: [
                ...(p.groups ?? []),
                ...Array.from({ length: 5 }, (_, i) => ({
                  displayName: `Team ${i}`,
                  members: ['nested@first.example'],
                })),
              ],
            }
          : p,
      ),
    );
  });
  after(async () => {
    await emulator?.stop();
  });

  async function tokenFor(upn: string, scopes: string[]): Promise<string> {
    return (
      await consentAndRedeem(emulator, upn, [partnerCenterScope, ...scopes], graph('.default'))
    ).access_token;
  }

  const get = (path: string, token: string, headers: Record<string, string> = {}) =>
    emulator.http.get(`${emulator.url}/v1.0${path}`, {
      headers: { Authorization: `Bearer ${token}`, ...headers },
    });

  async function allPages(path: string, token: string) {
    const items: Record<string, unknown>[] = [];
    let url: string | undefined = `${emulator.url}/v1.0${path}`;
    while (url) {
      const page: DirectoryObjects = json<DirectoryObjects>(
        await emulator.http.get(url, { headers: { Authorization: `Bearer ${token}` } }),
      );
      items.push(...page.value);
      url = page['@odata.nextLink'];
    }
    return items;
  }

  it('transitiveMemberOf follows nesting, pages, and names groups with GroupMember.Read.All', async () => {
    const token = await tokenFor('nested@first.example', [
      graph('User.Read'),
      graph('GroupMember.Read.All'),
    ]);
    const first = json<DirectoryObjects>(await get('/me/transitiveMemberOf?$top=2', token));
    expect(first['@odata.context']).to.match(/\$metadata#directoryObjects$/);
    expect(first.value).to.have.length(2);
    expect(first['@odata.nextLink']).to.match(/\$top=2.*\$skiptoken=/);
    const all = await allPages('/me/transitiveMemberOf?$top=2&$select=id,displayName', token);
    expect(all.map((g) => g.displayName).sort()).to.deep.equal(
      [
        'AdminAgents',
        'All partner users',
        'Team 0',
        'Team 1',
        'Team 2',
        'Team 3',
        'Team 4',
        'Tier 2',
      ].sort(),
    );
    for (const g of all) {
      expect(g['@odata.type']).to.equal('#microsoft.graph.group');
      expect(Object.keys(g).sort()).to.deep.equal(['@odata.type', 'displayName', 'id']);
    }
    // memberOf: direct memberships only, AdminAgents (through Tier 2) not among them.
    const direct = await allPages('/me/memberOf', token);
    expect(direct.map((g) => g.displayName)).to.not.include('AdminAgents');
    expect(direct.map((g) => g.displayName)).to.include('Tier 2');
  });

  it('with only User.Read the groups come back with limited information: @odata.type and id', async () => {
    const token = await tokenFor('sales@first.example', [graph('User.Read')]);
    const page = json<DirectoryObjects>(await get('/me/transitiveMemberOf', token));
    // SalesAgents and the group of every partner user, neither named.
    expect(page.value).to.have.length(2);
    for (const group of page.value) {
      expect(group).to.include({ '@odata.type': '#microsoft.graph.group', displayName: null });
      expect(group.id).to.be.a('string');
      expect(group.mailNickname).to.equal(null);
    }
  });

  it('an OData cast needs $count=true and ConsistencyLevel: eventual', async () => {
    const token = await tokenFor('admin@first.example', [
      graph('User.Read'),
      graph('GroupMember.Read.All'),
    ]);
    const refused = await get('/me/transitiveMemberOf/microsoft.graph.group', token);
    expect(refused.status).to.equal(400);
    expect(json<{ error: { code: string } }>(refused).error.code).to.equal(
      'Request_UnsupportedQuery',
    );
    const cast = json<DirectoryObjects>(
      await get('/me/transitiveMemberOf/microsoft.graph.group?$count=true', token, {
        ConsistencyLevel: 'eventual',
      }),
    );
    expect(cast['@odata.context']).to.match(/#groups$/);
    expect(cast['@odata.count']).to.equal(2);
    expect(cast.value.map((g) => g.displayName).sort()).to.deep.equal([
      'AdminAgents',
      'All partner users',
    ]);
    for (const group of cast.value) expect(group).to.not.have.property('@odata.type');
  });

  it('a token without any permission to list memberships is refused', async () => {
    // Grants add up per user: an account that never consented to User.Read.
    const token = await tokenFor('helpdesk@first.example', [graph('Organization.Read.All')]);
    const refused = await get('/me/transitiveMemberOf', token);
    expect(refused.status).to.equal(403);
  });
});
