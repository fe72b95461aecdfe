import type { AxiosResponse } from 'axios';
import { expect } from 'chai';
import {
  consentAndRedeem,
  json,
  partnerCenterScope,
  redeem,
  startTestEmulator,
  testClient,
  type TestEmulator,
} from '../support/emulator.js';
import { gdapCustomers, gdapScenario } from '../support/gdap.js';

// GDAP per customer, over real HTTPS with real tokens: the partner's relationships in Graph,
// the refusals that follow them at the customer tenants, in Partner Center and in Graph there,
// and the app consent Partner Center grants (emulator/scenarios/gdap.json).

const partnerTenant = '8f3c2b1a-6d4e-4f70-9a1b-2c3d4e5f6a7b';
const customers = gdapCustomers;
const roleIds = {
  globalReader: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
  licenseAdministrator: '4d6ac14f-3453-41d0-bef9-a3e0c569773a',
  exchangeAdministrator: '29232cdf-9323-42fd-ade2-1d097af3e4de',
  directoryReaders: '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
  globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
};
const graph = 'https://graph.microsoft.com';
const graphScopes = [
  `${graph}/User.Read`,
  `${graph}/Directory.Read.All`,
  `${graph}/Reports.Read.All`,
  `${graph}/DelegatedAdminRelationship.ReadWrite.All`,
];

interface Relationship {
  '@odata.etag': string;
  id: string;
  displayName: string;
  status: string;
  endDateTime: string;
  autoExtendDuration: string;
  customer: { tenantId: string; displayName: string };
  accessDetails: { unifiedRoles: { roleDefinitionId: string }[] };
}
interface Collection<T> {
  value: T[];
  '@odata.nextLink'?: string;
}
interface GraphError {
  error: { code: string; message: string };
}
interface EntraError {
  error: string;
  error_codes: number[];
  suberror?: string;
}

describe('emulator: GDAP per customer', function () {
  let emulator: TestEmulator;
  /** Refresh tokens by user, from a consent to Partner Center and Graph. */
  const refresh: Record<string, string> = {};

  before(async () => {
    emulator = await startTestEmulator(gdapScenario());
  });
  // Tests move the clock, change relationships, app and user consents, and spend the throttling
  // budgets: each starts from the scenario freshly loaded (real clock) with its own sign-ins.
  beforeEach(async () => {
    const loaded = await emulator.http.put(`${emulator.url}/_emulator/scenario`, gdapScenario());
    expect(loaded.status, String(loaded.data)).to.equal(200);
    for (const upn of ['admin@s365l.com', 'outsider@s365l.com', 'sales@s365l.com']) {
      refresh[upn] = (
        await consentAndRedeem(emulator, upn, [partnerCenterScope, ...graphScopes])
      ).refresh_token;
    }
  });
  after(async () => {
    await emulator?.stop();
  });

  /** The token endpoint's answer for a refresh at `tenant`. */
  const tokenAt = (tenant: string, scope: string, upn = 'admin@s365l.com') =>
    emulator.http.post(
      `${emulator.url}/${tenant}/oauth2/v2.0/token`,
      new URLSearchParams({
        client_id: testClient.clientId,
        client_secret: testClient.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: refresh[upn]!,
        scope: `${scope} openid profile offline_access`,
      }).toString(),
      { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
    );
  const accessToken = async (tenant: string, scope: string, upn = 'admin@s365l.com') =>
    (
      await redeem(
        emulator,
        {
          grant_type: 'refresh_token',
          refresh_token: refresh[upn]!,
          scope: `${scope} openid profile offline_access`,
        },
        tenant,
      )
    ).access_token;
  const partnerGraph = (upn = 'admin@s365l.com') =>
    accessToken(partnerTenant, `${graph}/.default`, upn);
  const call = (
    method: 'get' | 'patch' | 'post' | 'delete',
    path: string,
    token: string,
    headers: Record<string, string> = {},
    body?: unknown,
  ): Promise<AxiosResponse> =>
    emulator.http.request({
      method,
      url: path.startsWith('https://') ? path : `${emulator.url}${path}`,
      headers: {
        Authorization: `Bearer ${token}`,
        'MS-Contract-Version': 'v1',
        'Content-Type': 'application/json',
        ...headers,
      },
      data: body === undefined ? undefined : JSON.stringify(body),
    });
  const expectGraphError = (response: AxiosResponse, status: number, code: string) => {
    expect(response.status, String(response.data)).to.equal(status);
    expect(json<GraphError>(response).error.code).to.equal(code);
  };
  const expectRefused = async (
    tenant: string,
    aadsts: number,
    upn = 'admin@s365l.com',
    scope = `${graph}/.default`,
  ) => {
    const response = await tokenAt(tenant, scope, upn);
    expect(response.status, String(response.data)).to.equal(400);
    const body = json<EntraError>(response);
    expect(body.error_codes).to.deep.equal([aadsts]);
    return body;
  };
  const relationshipsOf = async (token: string, tenant: string) =>
    json<Collection<Relationship>>(
      await call(
        'get',
        `/v1.0/tenantRelationships/delegatedAdminRelationships?$filter=customer/tenantId eq '${tenant}'`,
        token,
      ),
    ).value;

  describe('Graph: the partner reads its relationships', function () {
    it('lists relationships with etags, customers, roles and ends; filters on status; pages with $top', async () => {
      const token = await partnerGraph();
      const all: Relationship[] = [];
      let url: string | undefined = '/v1.0/tenantRelationships/delegatedAdminRelationships?$top=4';
      let pages = 0;
      while (url) {
        const response = await call('get', url, token);
        expect(response.status, String(response.data)).to.equal(200);
        const body = json<Collection<Relationship>>(response);
        expect(body.value.length).to.be.at.most(4);
        all.push(...body.value);
        url = body['@odata.nextLink'];
        pages += 1;
      }
      expect(pages).to.equal(3);
      expect(all).to.have.length(11);
      for (const r of all) {
        expect(r['@odata.etag']).to.match(/^W\/"[A-Za-z0-9+/=]+"$/);
        expect(r.customer.tenantId).to.be.oneOf(Object.values(customers));
        expect(r.endDateTime).to.match(/^\d{4}-\d\d-\d\dT/);
      }
      const good = all.find((r) => r.customer.tenantId === customers.allGood)!;
      expect(good).to.include({ status: 'active', autoExtendDuration: 'P180D' });
      expect(good.customer.displayName).to.equal('All Good Ltd');
      expect(good.accessDetails.unifiedRoles.map((u) => u.roleDefinitionId)).to.have.members([
        roleIds.globalReader,
        roleIds.licenseAdministrator,
        roleIds.exchangeAdministrator,
      ]);
      // Set active, but past its end on the emulator's clock: expired.
      const lapsed = all.find((r) => r.displayName === 'Lapsed managed services')!;
      expect(lapsed.status).to.equal('expired');
      expect(all.find((r) => r.customer.tenantId === customers.terminated)!.status).to.equal(
        'terminated',
      );

      const active = json<Collection<Relationship>>(
        await call(
          'get',
          "/v1.0/tenantRelationships/delegatedAdminRelationships?$filter=status eq 'active'",
          token,
        ),
      ).value;
      expect(active.map((r) => r.customer.tenantId)).to.have.members([
        customers.allGood,
        customers.expiring,
        customers.mailboxOnly,
        customers.licensesOnly,
        customers.notConsented,
        customers.microsoftLed,
        customers.globalAdmin,
        customers.partlyConsented,
      ]);
      expectGraphError(
        await call('get', '/v1.0/tenantRelationships/delegatedAdminRelationships?$top=301', token),
        400,
        'BadRequest',
      );
    });

    it('reads one relationship and its access assignments (security group and roles)', async () => {
      const token = await partnerGraph();
      const [good] = await relationshipsOf(token, customers.allGood);
      const one = await call(
        'get',
        `/v1.0/tenantRelationships/delegatedAdminRelationships/${good!.id}`,
        token,
      );
      expect(json<Relationship>(one)).to.include({ id: good!.id, status: 'active' });
      const assignments = json<
        Collection<{
          accessContainer: { accessContainerId: string; accessContainerType: string };
          accessDetails: { unifiedRoles: { roleDefinitionId: string }[] };
        }>
      >(
        await call(
          'get',
          `/v1.0/tenantRelationships/delegatedAdminRelationships/${good!.id}/accessAssignments`,
          token,
        ),
      ).value;
      expect(assignments).to.have.length(2);
      const groups = emulator.state.directory.partner(partnerTenant)!.groups;
      const readers = groups.find((g) => g.displayName === 'GDAP Readers')!;
      const readersAssignment = assignments.find(
        (a) => a.accessContainer.accessContainerId === readers.id,
      )!;
      expect(readersAssignment.accessContainer.accessContainerType).to.equal('securityGroup');
      expect(
        readersAssignment.accessDetails.unifiedRoles.map((u) => u.roleDefinitionId),
      ).to.have.members([roleIds.globalReader, roleIds.licenseAdministrator]);
      expectGraphError(
        await call('get', '/v1.0/tenantRelationships/delegatedAdminRelationships/nope', token),
        404,
        'Request_ResourceNotFound',
      );
    });

    it('lists delegated admin customers: those with a relationship', async () => {
      const token = await partnerGraph();
      const listed = json<Collection<{ tenantId: string; id: string; displayName: string }>>(
        await call('get', '/v1.0/tenantRelationships/delegatedAdminCustomers', token),
      ).value;
      expect(listed.map((c) => c.tenantId)).to.include(customers.allGood);
      expect(listed.map((c) => c.tenantId)).to.not.include(customers.noRelationship);
      expect(listed.find((c) => c.tenantId === customers.expiring)).to.include({
        id: customers.expiring,
        displayName: 'Expiring Soon GmbH',
      });
    });

    it('needs DelegatedAdminRelationship.Read.All and an Admin Agent', async () => {
      const consent = await consentAndRedeem(emulator, 'tech@s365l.com', [
        partnerCenterScope,
        `${graph}/User.Read`,
      ]);
      const noPermission = (
        await redeem(
          emulator,
          {
            grant_type: 'refresh_token',
            refresh_token: consent.refresh_token,
            scope: `${graph}/.default openid profile offline_access`,
          },
          partnerTenant,
        )
      ).access_token;
      expectGraphError(
        await call('get', '/v1.0/tenantRelationships/delegatedAdminRelationships', noPermission),
        403,
        'Authorization_RequestDenied',
      );
      expectGraphError(
        await call(
          'get',
          '/v1.0/tenantRelationships/delegatedAdminRelationships',
          await partnerGraph('sales@s365l.com'),
        ),
        403,
        'Authorization_RequestDenied',
      );
    });
  });

  describe('Graph: auto-extend with If-Match', function () {
    it('changes autoExtendDuration with the current etag, which then changes; refuses a missing or stale one', async () => {
      const token = await partnerGraph();
      const [rel] = await relationshipsOf(token, customers.expiring);
      expect(rel!.autoExtendDuration).to.equal('PT0S');
      const path = `/v1.0/tenantRelationships/delegatedAdminRelationships/${rel!.id}`;
      const body = { autoExtendDuration: 'P180D' };
      expectGraphError(await call('patch', path, token, {}, body), 400, 'BadRequest');
      const stale = 'W/"JyIwMzAwZTM0ZS0wMDAwLTAyMDAtMDAwMC02MTRjZjI1YzAwMDAiJw=="';
      expectGraphError(
        await call('patch', path, token, { 'If-Match': stale }, body),
        412,
        'PreconditionFailed',
      );
      const done = await call('patch', path, token, { 'If-Match': rel!['@odata.etag'] }, body);
      expect(done.status, String(done.data)).to.equal(200);
      const updated = json<Relationship>(done);
      expect(updated.autoExtendDuration).to.equal('P180D');
      expect(updated['@odata.etag']).to.not.equal(rel!['@odata.etag']);
      const [again] = await relationshipsOf(token, customers.expiring);
      expect(again).to.include({
        autoExtendDuration: 'P180D',
        '@odata.etag': updated['@odata.etag'],
      });
      // The etag read before the change is stale now.
      expectGraphError(
        await call(
          'patch',
          path,
          token,
          { 'If-Match': rel!['@odata.etag'] },
          { autoExtendDuration: 'PT0S' },
        ),
        412,
        'PreconditionFailed',
      );
      const back = await call(
        'patch',
        path,
        token,
        { 'If-Match': updated['@odata.etag'] },
        { autoExtendDuration: 'PT0S' },
      );
      expect(json<Relationship>(back).autoExtendDuration).to.equal('PT0S');
    });

    it('refuses Microsoft-led (MLT_) relationships, ones holding Global Administrator, and ended ones', async () => {
      const token = await partnerGraph();
      const patch = async (tenant: string) => {
        const [rel] = await relationshipsOf(token, tenant);
        return call(
          'patch',
          `/v1.0/tenantRelationships/delegatedAdminRelationships/${rel!.id}`,
          token,
          { 'If-Match': rel!['@odata.etag'] },
          { autoExtendDuration: 'P180D' },
        );
      };
      expectGraphError(await patch(customers.microsoftLed), 403, 'Forbidden');
      const globalAdmin = await patch(customers.globalAdmin);
      expectGraphError(globalAdmin, 400, 'BadRequest');
      expect(json<GraphError>(globalAdmin).error.message).to.match(/Global Administrator/);
      expectGraphError(await patch(customers.terminated), 400, 'BadRequest');
      const [rel] = await relationshipsOf(token, customers.globalAdmin);
      expect(rel!.autoExtendDuration).to.equal('PT0S');
    });

    it('needs DelegatedAdminRelationship.ReadWrite.All to change', async () => {
      const consent = await consentAndRedeem(emulator, 'tech@s365l.com', [
        partnerCenterScope,
        `${graph}/DelegatedAdminRelationship.Read.All`,
      ]);
      const readOnly = (
        await redeem(
          emulator,
          {
            grant_type: 'refresh_token',
            refresh_token: consent.refresh_token,
            scope: `${graph}/DelegatedAdminRelationship.Read.All openid profile offline_access`,
          },
          partnerTenant,
        )
      ).access_token;
      const [rel] = await relationshipsOf(readOnly, customers.allGood);
      expectGraphError(
        await call(
          'patch',
          `/v1.0/tenantRelationships/delegatedAdminRelationships/${rel!.id}`,
          readOnly,
          { 'If-Match': rel!['@odata.etag'] },
          { autoExtendDuration: 'PT0S' },
        ),
        403,
        'Authorization_RequestDenied',
      );
    });
  });

  describe('sign-in to customer tenants follows the relationships', function () {
    it('50020 without an active relationship (none, expired by status or by date, terminated)', async () => {
      for (const tenant of [customers.noRelationship, customers.expired, customers.terminated])
        await expectRefused(tenant, 50020);
    });

    it('50177 for a user in none of the groups of the active relationships', async () => {
      await expectRefused(customers.allGood, 50177, 'outsider@s365l.com');
      // Nested membership counts: tech@ is in GDAP Readers through GDAP Tier 2.
      expect((await tokenAt(customers.allGood, `${graph}/.default`)).status).to.equal(200);
    });

    it('90099 where the app is not consented; 65001 for a scope it is not consented for', async () => {
      const notConsented = await expectRefused(customers.notConsented, 90099);
      expect(notConsented.error).to.equal('invalid_grant');
      const partly = await expectRefused(
        customers.partlyConsented,
        65001,
        'admin@s365l.com',
        `${graph}/Directory.Read.All`,
      );
      expect(partly.suberror).to.equal('consent_required');
      // .default gives what both the user and the tenant consented to.
      const token = await accessToken(customers.partlyConsented, `${graph}/.default`);
      const claims = JSON.parse(
        Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'),
      ) as { scp: string };
      expect(claims.scp).to.equal('User.Read');
    });
  });

  describe('Partner Center and Graph in the customer tenant answer by GDAP role', function () {
    it('subscribedskus needs a role that reads licenses: 403 code 20002 otherwise; subscriptions need none', async () => {
      const pc = await accessToken(partnerTenant, partnerCenterScope);
      const skus = (tenant: string) => call('get', `/v1/customers/${tenant}/subscribedskus`, pc);
      expect((await skus(customers.allGood)).status).to.equal(200);
      expect((await skus(customers.licensesOnly)).status).to.equal(200);
      for (const tenant of [customers.mailboxOnly, customers.noRelationship, customers.expired]) {
        const refused = await skus(tenant);
        expect(refused.status, tenant).to.equal(403);
        expect(json<{ code: number; description: string }>(refused)).to.include({
          code: 20002,
          description: 'No relationship between caller and account.',
        });
      }
      const subscriptions = await call(
        'get',
        `/v1/customers/${customers.noRelationship}/subscriptions`,
        pc,
      );
      expect(subscriptions.status).to.equal(200);
    });

    it('Graph users need a directory-reading role; the mailbox report a reports-capable one', async () => {
      const report = "/v1.0/reports/getMailboxUsageDetail(period='D7')";
      const mailOnly = await accessToken(customers.mailboxOnly, `${graph}/.default`);
      expectGraphError(
        await call('get', '/v1.0/users', mailOnly),
        403,
        'Authorization_RequestDenied',
      );
      expectGraphError(
        await call('get', '/v1.0/groups', mailOnly),
        403,
        'Authorization_RequestDenied',
      );
      expect((await call('get', report, mailOnly)).status).to.equal(302);
      const licensesOnly = await accessToken(customers.licensesOnly, `${graph}/.default`);
      expectGraphError(await call('get', report, licensesOnly), 403, 'UnknownError');
      expectGraphError(
        await call('get', '/v1.0/users', licensesOnly),
        403,
        'Authorization_RequestDenied',
      );
      const good = await accessToken(customers.allGood, `${graph}/.default`);
      expect((await call('get', '/v1.0/users', good)).status).to.equal(200);
      expect((await call('get', report, good)).status).to.equal(302);
    });

    it("roleAssignments shows the partner's groups, organizationId the partner tenant", async () => {
      const token = await accessToken(customers.allGood, `${graph}/.default`);
      const response = await call(
        'get',
        `/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '${roleIds.globalReader}'&$expand=principal`,
        token,
      );
      expect(response.status, String(response.data)).to.equal(200);
      const value = json<
        Collection<{
          roleDefinitionId: string;
          principalId: string;
          principal: { organizationId: string; displayName: string; '@odata.type': string };
        }>
      >(response).value;
      expect(value).to.have.length(1);
      expect(value[0]!.roleDefinitionId).to.equal(roleIds.globalReader);
      expect(value[0]!.principal).to.include({
        '@odata.type': '#microsoft.graph.group',
        organizationId: partnerTenant,
        displayName: 'GDAP Readers',
      });
      const none = await call(
        'get',
        `/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '${roleIds.directoryReaders}'`,
        token,
      );
      expect(json<Collection<unknown>>(none).value).to.be.empty;
    });
  });

  describe('app consent through Partner Center', function () {
    it('POST applicationconsents consents the app with its grants (201); again 409; DELETE takes it back', async () => {
      const pc = await accessToken(partnerTenant, partnerCenterScope);
      const path = `/v1/customers/${customers.notConsented}/applicationconsents`;
      const body = {
        applicationId: testClient.clientId,
        displayName: 'license-sync',
        applicationGrants: [
          {
            enterpriseApplicationId: '00000003-0000-0000-c000-000000000000',
            scope: 'User.Read,Directory.Read.All,Reports.Read.All',
          },
        ],
      };
      const sales = await accessToken(partnerTenant, partnerCenterScope, 'sales@s365l.com');
      expect((await call('post', path, sales, {}, body)).status, 'Admin Agents only').to.equal(403);
      const bad = await call('post', path, pc, {}, { applicationId: testClient.clientId });
      expect(bad.status).to.equal(400);
      await expectRefused(customers.notConsented, 90099);
      const created = await call('post', path, pc, {}, body);
      expect(created.status, String(created.data)).to.equal(201);
      expect(json<{ applicationId: string }>(created).applicationId).to.equal(testClient.clientId);
      expect((await tokenAt(customers.notConsented, `${graph}/.default`)).status).to.equal(200);
      await expectRefused(
        customers.notConsented,
        65001,
        'admin@s365l.com',
        `${graph}/DelegatedAdminRelationship.ReadWrite.All`,
      );
      expect((await call('post', path, pc, {}, body)).status).to.equal(409);
      const removed = await call('delete', `${path}/${testClient.clientId}`, pc);
      expect(removed.status).to.equal(204);
      await expectRefused(customers.notConsented, 90099);
    });
  });

  describe('control API and clock', function () {
    it('PATCH /_emulator/customers/:id sets gdap and appConsent mid-run; GET shows them', async () => {
      const control = `${emulator.url}/_emulator/customers/${customers.noRelationship}`;
      const invalid = await emulator.http.patch(control, {
        gdap: [
          { displayName: 'x', accessAssignments: [{ group: 'GDAP Readers', roles: ['Root'] }] },
        ],
      });
      expect(invalid.status).to.equal(400);
      const unknownGroup = await emulator.http.patch(control, {
        gdap: [
          { displayName: 'x', accessAssignments: [{ group: 'Nobody', roles: ['Global Reader'] }] },
        ],
      });
      expect(unknownGroup.status).to.equal(400);
      await expectRefused(customers.noRelationship, 50020);
      const patched = await emulator.http.patch(control, {
        gdap: [
          {
            displayName: 'Added mid-run',
            endDateTime: '+P30D',
            accessAssignments: [{ group: 'GDAP Readers', roles: ['Directory Readers'] }],
          },
        ],
        appConsent: { scopes: ['User.Read', 'Directory.Read.All'] },
      });
      expect(patched.status, String(patched.data)).to.equal(200);
      const shown = json<{
        delegatedAccess: boolean;
        gdap: { status: string; accessAssignments: { roleDefinitionIds: string[] }[] }[];
        appConsent: { scopes: string[] };
      }>(await emulator.http.get(control));
      expect(shown.delegatedAccess).to.equal(true);
      expect(shown.gdap[0]!.status).to.equal('active');
      expect(shown.gdap[0]!.accessAssignments[0]!.roleDefinitionIds).to.deep.equal([
        roleIds.directoryReaders,
      ]);
      expect(shown.appConsent.scopes).to.include(`${graph}/Directory.Read.All`);
      expect((await tokenAt(customers.noRelationship, `${graph}/.default`)).status).to.equal(200);
      const pc = await accessToken(partnerTenant, partnerCenterScope);
      expect(
        (await call('get', `/v1/customers/${customers.noRelationship}/subscribedskus`, pc)).status,
      ).to.equal(200);
      await emulator.http.patch(control, { delegatedAccess: false });
      await expectRefused(customers.noRelationship, 50020);
    });

    it('an active relationship expires at its end on the emulator clock; an auto-extending one moves on', async () => {
      const token = await partnerGraph();
      const [good] = await relationshipsOf(token, customers.allGood);
      expect((await tokenAt(customers.expiring, `${graph}/.default`)).status).to.equal(200);
      await emulator.http.post(`${emulator.url}/_emulator/clock`, {
        advanceSeconds: 410 * 24 * 3600,
      });
      // Refresh tokens lapse after 90 days unused: sign in again on the shifted clock.
      refresh['admin@s365l.com'] = (
        await consentAndRedeem(emulator, 'admin@s365l.com', [partnerCenterScope, ...graphScopes])
      ).refresh_token;
      await expectRefused(customers.expiring, 50020);
      const [expiring] = await relationshipsOf(await partnerGraph(), customers.expiring);
      expect(expiring!.status).to.equal('expired');
      const [extended] = await relationshipsOf(await partnerGraph(), customers.allGood);
      expect(extended!.status).to.equal('active');
      expect(Date.parse(extended!.endDateTime)).to.equal(
        Date.parse(good!.endDateTime) + 180 * 24 * 3600 * 1000,
      );
      expect((await tokenAt(customers.allGood, `${graph}/.default`)).status).to.equal(200);
    });
  });
});
