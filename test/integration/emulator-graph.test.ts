import type { AxiosResponse } from 'axios';
import { expect } from 'chai';
import {
  consentAndRedeem,
  partnerCenterScope,
  redeem,
  startTestEmulator,
  testClient,
  json,
  scenarioWith,
  type TestEmulator,
} from '../support/emulator.js';

// Microsoft Graph v1.0 for customer tenants as a client sees it, over real HTTPS to the
// emulator (docs: /work/shared/reference/microsoft-protocols.md §5, §1.6-1.7).

const firstPartner = 'aaaaaaaa-0000-4000-8000-000000000001';
const secondPartner = 'bbbbbbbb-0000-4000-8000-000000000002';
const explicitCustomer = 'cccccccc-0000-4000-8000-000000000003';
/** A second spelled-out customer of the second partner, big enough to page through. */
const pagingCustomer = 'dddddddd-0000-4000-8000-000000000004';
/** A customer whose usage reports show names, with every kind and age of mailbox. */
const reportsCustomer = 'eeeeeeee-0000-4000-8000-000000000005';
const reportsUsers = [
  { upn: 'jo@reports.example', displayName: 'Smith, "Jo"', licenses: ['SPB'] },
  { upn: 'help@reports.example', displayName: 'Help desk', mailbox: 'shared' as const },
  { upn: 'boardroom@reports.example', mailbox: 'room' as const },
  { upn: 'projector@reports.example', mailbox: 'equipment' as const },
  { upn: 'nobox@reports.example', mailbox: 'none' as const },
  /** Newer than the report's data: absent. */
  { upn: 'new@reports.example', mailboxCreatedDaysAgo: 1 },
  /** Deleted within the D7 period: listed as deleted. */
  { upn: 'left@reports.example', deletedDaysAgo: 4 },
  /** Deleted after the report's date: still listed as it was. */
  { upn: 'yesterday@reports.example', mailbox: 'shared' as const, deletedDaysAgo: 1 },
  /** Deleted before the D7 period, within D30. */
  { upn: 'longgone@reports.example', deletedDaysAgo: 20 },
];
const spbSkuId = 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46';
const exchangeSkuId = '4b9405b0-7788-4568-add1-99614e613b69';

const graph = 'https://graph.microsoft.com';
const graphDefault = `${graph}/.default openid profile offline_access`;
const graphConsent = [
  partnerCenterScope,
  `${graph}/User.Read`,
  `${graph}/Directory.Read.All`,
  `${graph}/MailboxSettings.Read`,
  `${graph}/Reports.Read.All`,
];
const advancedQuery = '$filter=assignedLicenses/$count ne 0&$count=true';

const pagingLicensed = Array.from({ length: 11 }, (_, i) => `licensed${i + 1}@paging.example`);
const pagingUsers = [
  ...pagingLicensed.slice(0, 4).map((upn) => ({ upn, licenses: ['SPB'] })),
  { upn: 'shared@paging.example', licenses: [], mailbox: 'shared' as const },
  ...pagingLicensed.slice(4, 8).map((upn) => ({ upn, licenses: ['SPB'] })),
  { upn: 'nobody@paging.example', licenses: [], mailbox: 'none' as const },
  ...pagingLicensed.slice(8).map((upn) => ({ upn, licenses: ['EXCHANGESTANDARD'] })),
  { upn: 'room@paging.example', licenses: [], mailbox: 'shared' as const },
];

interface GraphError {
  error: {
    code: string;
    message: string;
    innerError: { date: string; 'request-id': string; 'client-request-id': string };
  };
}

interface GraphCollection<T> {
  '@odata.context': string;
  '@odata.count'?: number;
  '@odata.nextLink'?: string;
  value: T[];
}

interface GraphUser {
  id: string;
  userPrincipalName: string;
  assignedLicenses?: { skuId: string; disabledPlans: string[] }[];
}

interface GraphSubscribedSku {
  id: string;
  skuId: string;
  skuPartNumber: string;
  accountId: string;
  capabilityStatus: string;
  consumedUnits: number;
  prepaidUnits: { enabled: number; lockedOut: number; suspended: number; warning: number };
}

interface EntraError {
  error: string;
  error_description: string;
  error_codes: number[];
  suberror?: string;
  trace_id: string;
  correlation_id: string;
}

interface Counters {
  partners: Record<
    string,
    Record<'identity' | 'partnerCenter' | 'graph', { requests: number; throttled: number }>
  >;
}

function claimsOf(accessToken: string): { oid: string; tid: string; scp: string } {
  const payload = accessToken.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
    oid: string;
    tid: string;
    scp: string;
  };
}

function get(
  emulator: TestEmulator,
  pathOrUrl: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<AxiosResponse> {
  const url = pathOrUrl.startsWith('https://') ? pathOrUrl : `${emulator.url}${pathOrUrl}`;
  return emulator.http.get(url, { headers: { Authorization: `Bearer ${token}`, ...headers } });
}

const eventual = { ConsistencyLevel: 'eventual' };

/** Graph's error body {error: {code, message, innerError}}, with the expected status and code. */
function expectGraphError(response: AxiosResponse, status: number, code: string): GraphError {
  expect(response.status, String(response.data)).to.equal(status);
  expect(String(response.headers['content-type'])).to.match(/^application\/json/);
  const body = json<GraphError>(response);
  expect(body).to.have.all.keys('error');
  expect(body.error.code).to.equal(code);
  expect(body.error.message).to.be.a('string').that.is.not.empty;
  expect(body.error.innerError).to.include.all.keys('date', 'request-id', 'client-request-id');
  return body;
}

/** A refresh-token redemption at a tenant, answered as is (redeem() throws on errors). */
async function tokenAt(
  emulator: TestEmulator,
  tenant: string,
  refreshToken: string,
): Promise<AxiosResponse> {
  return emulator.http.post(
    `${emulator.url}/${tenant}/oauth2/v2.0/token`,
    new URLSearchParams({
      client_id: testClient.clientId,
      client_secret: testClient.clientSecret,
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      scope: graphDefault,
    }).toString(),
    { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
  );
}

/** A Graph token for `tenant` from the user's refresh token. */
async function graphToken(emulator: TestEmulator, tenant: string, refreshToken: string) {
  const tokens = await redeem(
    emulator,
    { grant_type: 'refresh_token', refresh_token: refreshToken, scope: graphDefault },
    tenant,
  );
  return tokens.access_token;
}

describe('Graph emulator (HTTPS)', function () {
  let emulator: TestEmulator;
  /** admin@second.example, consented to Graph: at its home tenant and at its customers. */
  let home: string;
  let explicit: string;
  let paging: string;
  let reports: string;
  /** admin@first.example, consented only to Partner Center and User.Read. */
  let firstRefresh: string;
  let firstCustomers: string[];
  /** mailreader@second.example, consented only to MailboxSettings.Read in Graph. */
  let mailboxOnly: string;

  before(async function () {
    emulator = await startTestEmulator(
      scenarioWith((p) =>
        p.tenantId === secondPartner && Array.isArray(p.customers)
          ? {
              ...p,
              users: [
                ...p.users,
                { upn: 'mailreader@second.example', mfa: true, adminAgent: true },
              ],
              customers: [
                ...p.customers,
                {
                  tenantId: pagingCustomer,
                  name: 'Paging Customer',
                  domain: 'paging.example',
                  subscriptions: [
                    { skuPartNumber: 'SPB', quantity: 10 },
                    { skuPartNumber: 'EXCHANGESTANDARD', quantity: 5 },
                  ],
                  users: pagingUsers,
                },
                {
                  tenantId: reportsCustomer,
                  name: 'Reports Customer',
                  domain: 'reports.example',
                  concealedNamesInReports: false,
                  subscriptions: [{ skuPartNumber: 'SPB', quantity: 5 }],
                  users: reportsUsers,
                },
              ],
            }
          : p,
      ),
    );
    firstCustomers = emulator.state.directory
      .partner(firstPartner)!
      .customers.map((c) => c.tenantId);
    const [second, first, reader] = await Promise.all([
      consentAndRedeem(emulator, 'admin@second.example', graphConsent),
      consentAndRedeem(emulator, 'admin@first.example', [partnerCenterScope, `${graph}/User.Read`]),
      consentAndRedeem(emulator, 'mailreader@second.example', [
        partnerCenterScope,
        `${graph}/MailboxSettings.Read`,
      ]),
    ]);
    firstRefresh = first.refresh_token;
    mailboxOnly = await graphToken(emulator, explicitCustomer, reader.refresh_token);
    [home, explicit, paging, reports] = await Promise.all([
      graphToken(emulator, secondPartner, second.refresh_token),
      graphToken(emulator, explicitCustomer, second.refresh_token),
      graphToken(emulator, pagingCustomer, second.refresh_token),
      graphToken(emulator, reportsCustomer, second.refresh_token),
    ]);
  });

  after(async function () {
    await emulator?.stop();
  });

  it('/v1.0/me answers the signed-in partner user', async function () {
    const response = await get(emulator, '/v1.0/me', home);
    expect(response.status, String(response.data)).to.equal(200);
    const me = json<Record<string, unknown>>(response);
    expect(me['@odata.context']).to.equal(
      'https://graph.microsoft.com/v1.0/$metadata#users/$entity',
    );
    expect(me).to.include.all.keys(
      'businessPhones',
      'displayName',
      'givenName',
      'jobTitle',
      'mail',
      'mobilePhone',
      'officeLocation',
      'preferredLanguage',
      'surname',
      'userPrincipalName',
      'id',
    );
    expect(me.userPrincipalName).to.equal('admin@second.example');
    expect(me.id).to.equal(claimsOf(home).oid);
    expect(me.businessPhones).to.deep.equal([]);
    // The same user, through a token for a customer tenant.
    const viaCustomer = json<Record<string, unknown>>(await get(emulator, '/v1.0/me', explicit));
    expect(viaCustomer.id).to.equal(me.id);
  });

  it('/v1.0/subscribedSkus of a customer: prepaid (enabled) and consumed units', async function () {
    const response = await get(emulator, '/v1.0/subscribedSkus', explicit);
    expect(response.status, String(response.data)).to.equal(200);
    const body = json<GraphCollection<GraphSubscribedSku>>(response);
    expect(body['@odata.context']).to.match(/\$metadata#subscribedSkus$/);
    const byPart = new Map(body.value.map((s) => [s.skuPartNumber, s]));
    expect([...byPart.keys()].sort()).to.deep.equal(['EXCHANGESTANDARD', 'SPB']);
    expect(byPart.get('SPB')).to.deep.include({
      skuId: spbSkuId,
      id: `${explicitCustomer}_${spbSkuId}`,
      accountId: explicitCustomer,
      capabilityStatus: 'Enabled',
      consumedUnits: 2,
    });
    expect(byPart.get('SPB')!.prepaidUnits).to.deep.equal({
      enabled: 15,
      lockedOut: 0,
      suspended: 0,
      warning: 0,
    });
    expect(byPart.get('EXCHANGESTANDARD')).to.deep.include({
      skuId: exchangeSkuId,
      consumedUnits: 1,
    });
    expect(byPart.get('EXCHANGESTANDARD')!.prepaidUnits.enabled).to.equal(3);
  });

  describe('licensed users (advanced query)', function () {
    it('counts them with $count=true and ConsistencyLevel: eventual', async function () {
      const response = await get(
        emulator,
        `/v1.0/users?${advancedQuery}&$select=id,userPrincipalName`,
        explicit,
        eventual,
      );
      expect(response.status, String(response.data)).to.equal(200);
      const body = json<GraphCollection<GraphUser>>(response);
      expect(body['@odata.count']).to.equal(2);
      expect(body.value.map((u) => u.userPrincipalName).sort()).to.deep.equal([
        'a@explicit.example',
        'b@explicit.example',
      ]);
      expect(body['@odata.nextLink']).to.be.undefined;
    });

    it('refuses the filter without the header or without $count: 400 Request_UnsupportedQuery', async function () {
      const withoutHeader = await get(emulator, `/v1.0/users?${advancedQuery}`, explicit);
      const body = expectGraphError(withoutHeader, 400, 'Request_UnsupportedQuery');
      expect(body.error.message).to.include('ConsistencyLevel');
      const withoutCount = await get(
        emulator,
        '/v1.0/users?$filter=assignedLicenses/$count ne 0',
        explicit,
        eventual,
      );
      expectGraphError(withoutCount, 400, 'Request_UnsupportedQuery');
    });

    it('pages with $top through @odata.nextLink, each licensed user once', async function () {
      const seen: string[] = [];
      const pageSizes: number[] = [];
      let next: string | undefined =
        `/v1.0/users?${advancedQuery}&$top=4&$select=id,userPrincipalName,assignedLicenses`;
      let count: number | undefined;
      while (next) {
        // Headers are not carried over by the link: send ConsistencyLevel on every page.
        const response = await get(emulator, next, paging, eventual);
        expect(response.status, String(response.data)).to.equal(200);
        const page = json<GraphCollection<GraphUser>>(response);
        count ??= page['@odata.count'];
        pageSizes.push(page.value.length);
        for (const user of page.value) {
          expect(user.assignedLicenses).to.not.be.empty;
          seen.push(user.userPrincipalName);
        }
        next = page['@odata.nextLink'];
        // Absolute, with the system query options spelled as Graph does ($skiptoken, not %24).
        if (next) expect(next).to.match(/^https:\/\/[^/]+\/v1\.0\/users\?(.+&)?\$skiptoken=[^&]+/);
        expect(pageSizes.length, 'pages').to.be.below(10);
      }
      expect(pageSizes).to.deep.equal([4, 4, 3]);
      expect(count).to.equal(pagingLicensed.length);
      expect(new Set(seen).size).to.equal(seen.length);
      expect([...seen].sort()).to.deep.equal([...pagingLicensed].sort());
    });

    it('/users/$count answers text/plain, and needs the header', async function () {
      const response = await get(emulator, '/v1.0/users/$count', explicit, eventual);
      expect(response.status).to.equal(200);
      expect(String(response.headers['content-type'])).to.match(/^text\/plain/);
      expect(response.data).to.equal('4');
      const paged = await get(emulator, '/v1.0/users/$count', paging, eventual);
      expect(paged.data).to.equal(String(pagingUsers.length));
      expectGraphError(
        await get(emulator, '/v1.0/users/$count', explicit),
        400,
        'Request_UnsupportedQuery',
      );
    });
  });

  it('group by displayName: transitive members count the nested group’s users, direct members do not', async function () {
    const response = await get(emulator, "/v1.0/groups?$filter=displayName eq 'Managed'", explicit);
    expect(response.status, String(response.data)).to.equal(200);
    const groups = json<GraphCollection<{ id: string; displayName: string }>>(response).value;
    expect(groups).to.have.length(1);
    const id = groups[0]!.id;
    const count = async (path: string) => {
      const r = await get(emulator, `/v1.0/groups/${id}/${path}/$count`, explicit, eventual);
      expect(r.status, `${path}: ${String(r.data)}`).to.equal(200);
      expect(String(r.headers['content-type'])).to.match(/^text\/plain/);
      return Number(r.data);
    };
    // Managed = {b@, Support}; Support = {a@}.
    expect(await count('transitiveMembers/microsoft.graph.user')).to.equal(2);
    expect(await count('members')).to.equal(2);
    expect(await count('members/microsoft.graph.user')).to.equal(1);
    expect(await count('transitiveMembers')).to.equal(3);
    const withoutHeader = await get(emulator, `/v1.0/groups/${id}/members/$count`, explicit);
    expectGraphError(withoutHeader, 400, 'Request_UnsupportedQuery');
  });

  it("a delegated token reads no other user's mailbox settings: 403 ErrorAccessDenied, whatever the role", async function () {
    for (const path of [
      '/v1.0/users/a@explicit.example/mailboxSettings/userPurpose',
      '/v1.0/users/info@explicit.example/mailboxSettings',
      '/v1.0/users/c@explicit.example/mailboxSettings',
      `/v1.0/users/${emulator.state.directory.customer(explicitCustomer)!.detail().users[0]!.id}/mailboxSettings/automaticRepliesSetting`,
    ]) {
      const denied = expectGraphError(
        await get(emulator, path, explicit),
        403,
        'ErrorAccessDenied',
      );
      expect(denied.error.message).to.equal('Access is denied. Check credentials and try again.');
    }
    // At the partner's own tenant too, for another partner user.
    const other = emulator.state.directory.user('mailreader@second.example')!;
    expectGraphError(
      await get(emulator, `/v1.0/users/${other.oid}/mailboxSettings`, home),
      403,
      'ErrorAccessDenied',
    );
  });

  it('/me/mailboxSettings answers the signed-in user, who has no mailbox in a customer tenant', async function () {
    const mine = await get(emulator, '/v1.0/me/mailboxSettings', home);
    expect(mine.status, String(mine.data)).to.equal(200);
    expect(json<{ userPurpose: string }>(mine).userPurpose).to.equal('user');
    const purpose = await get(emulator, '/v1.0/me/mailboxSettings/userPurpose', home);
    expect(json<{ value: string }>(purpose).value).to.equal('user');
    const byId = await get(emulator, `/v1.0/users/${claimsOf(home).oid}/mailboxSettings`, home);
    expect(byId.status, String(byId.data)).to.equal(200);
    expectGraphError(
      await get(emulator, '/v1.0/me/mailboxSettings', explicit),
      404,
      'MailboxNotEnabledForRESTAPI',
    );
  });

  it('MailboxSettings.Read alone reads mailbox settings, not the user list', async function () {
    expect(claimsOf(mailboxOnly).scp).to.equal('MailboxSettings.Read');
    expectGraphError(
      await get(emulator, '/v1.0/me/mailboxSettings', mailboxOnly),
      404,
      'MailboxNotEnabledForRESTAPI',
    );
    expectGraphError(
      await get(emulator, '/v1.0/users', mailboxOnly),
      403,
      'Authorization_RequestDenied',
    );
  });

  describe('the mailbox usage report', function () {
    const report = (period = 'D7') => `/v1.0/reports/getMailboxUsageDetail(period='${period}')`;

    /** The report's 302, then its download without the token: the CSV's text. */
    async function download(token: string, period = 'D7'): Promise<string> {
      const answer = await get(emulator, report(period), token);
      expect(answer.status, String(answer.data)).to.equal(302);
      const location = String(answer.headers.location);
      expect(location).to.match(/^https:\/\//);
      const file = await emulator.http.get(location, { responseType: 'arraybuffer' });
      expect(file.status).to.equal(200);
      expect(String(file.headers['content-type'])).to.match(/^application\/octet-stream/);
      return Buffer.from(file.data as ArrayBuffer).toString('utf8');
    }

    /** Rows by UPN (the CSV has one quoted field, handled here). */
    function rowsOf(csv: string): Map<string, Record<string, string>> {
      const lines = csv
        .replace(/^\uFEFF/, '')
        .trim()
        .split('\r\n');
      const split = (line: string) =>
        [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)]
          .slice(0, -1)
          .map((m) => m[1]!.replace(/^"(.*)"$/, '$1').replace(/""/g, '"'));
      const header = split(lines[0]!);
      return new Map(
        lines.slice(1).map((line) => {
          const row = Object.fromEntries(split(line).map((v, i) => [header[i]!, v]));
          return [row['User Principal Name']!, row];
        }),
      );
    }

    it('answers 302 to a pre-authenticated CSV: a BOM, the documented columns, Recipient Type', async function () {
      const csv = await download(reports);
      expect(csv.charCodeAt(0)).to.equal(0xfeff);
      expect(csv.slice(1, csv.indexOf('\r\n'))).to.equal(
        'Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Created Date,Last Activity Date,Item Count,Storage Used (Byte),Issue Warning Quota (Byte),Prohibit Send Quota (Byte),Prohibit Send/Receive Quota (Byte),Deleted Item Count,Deleted Item Size (Byte),Deleted Item Quota (Byte),Has Archive,Recipient Type,Report Period',
      );
      const rows = rowsOf(csv);
      const refresh = new Date(emulator.state.now() - 2 * 24 * 3600 * 1000)
        .toISOString()
        .slice(0, 10);
      expect(rows.get('jo@reports.example')).to.include({
        'Report Refresh Date': refresh,
        'Display Name': 'Smith, "Jo"',
        'Is Deleted': 'False',
        'Recipient Type': 'User',
        'Report Period': '7',
      });
      expect(rows.get('help@reports.example')).to.include({ 'Recipient Type': 'Shared' });
      // Only user and shared mailboxes are listed; users without one neither.
      for (const absent of ['boardroom', 'projector', 'nobox'])
        expect(rows.has(`${absent}@reports.example`), absent).to.equal(false);
    });

    it('is as of its refresh date: newer mailboxes absent, deletions within the period marked', async function () {
      const week = rowsOf(await download(reports, 'D7'));
      expect(week.has('new@reports.example')).to.equal(false);
      expect(week.get('left@reports.example')).to.include({ 'Is Deleted': 'True' });
      expect(week.get('left@reports.example')!['Deleted Date']).to.match(/^\d{4}-\d\d-\d\d$/);
      expect(week.get('yesterday@reports.example')).to.include({
        'Is Deleted': 'False',
        'Recipient Type': 'Shared',
      });
      expect(week.has('longgone@reports.example')).to.equal(false);
      const month = rowsOf(await download(reports, 'D30'));
      expect(month.get('longgone@reports.example')).to.include({
        'Is Deleted': 'True',
        'Report Period': '30',
      });
      // Deleted users are gone from the directory itself.
      expectGraphError(
        await get(emulator, '/v1.0/users/left@reports.example', reports),
        404,
        'Request_ResourceNotFound',
      );
    });

    it('conceals names by default (the tenant setting), keeping the recipient type', async function () {
      const rows = [...rowsOf(await download(explicit)).values()];
      expect(rows).to.have.length(3);
      for (const row of rows) {
        expect(row['User Principal Name']).to.match(/^[0-9A-F]{32}$/);
        expect(row['Display Name']).to.match(/^[0-9A-F]{32}$/);
      }
      expect(rows.map((r) => r['Recipient Type']).sort()).to.deep.equal(['Shared', 'User', 'User']);
    });

    it('refuses a download that carries the bearer token, and an expired or unknown link', async function () {
      const answer = await get(emulator, report(), reports);
      const location = String(answer.headers.location);
      const withToken = await emulator.http.get(location, {
        headers: { Authorization: `Bearer ${reports}` },
      });
      expect(withToken.status).to.equal(401);
      expect((await emulator.http.get(`${location}x`)).status).to.equal(404);
      const clock = emulator.state.clockOffsetMs;
      try {
        await emulator.http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: 6 * 60 });
        expect((await emulator.http.get(location)).status, 'after 6 minutes').to.equal(404);
      } finally {
        emulator.state.clockOffsetMs = clock;
      }
    });

    it('accepts D7, D30, D90, D180 and text/csv; refuses another period or format with 400', async function () {
      for (const period of ['D7', 'D30', 'D90', 'D180'])
        expect((await get(emulator, report(period), reports)).status, period).to.equal(302);
      expect(
        (await get(emulator, `${report()}?$format=text/csv`, reports)).status,
        'text/csv',
      ).to.equal(302);
      expectGraphError(await get(emulator, report('D1'), reports), 400, 'BadRequest');
      expectGraphError(await get(emulator, report('7'), reports), 400, 'BadRequest');
      expectGraphError(
        await get(emulator, `${report()}?$format=application/json`, reports),
        400,
        'BadRequest',
      );
    });

    it('needs Reports.Read.All, and a role that may read reports', async function () {
      const noPermission = expectGraphError(
        await get(emulator, report(), mailboxOnly),
        403,
        'UnknownError',
      );
      expect(noPermission.error.message).to.contain('S2SUnauthorized');
      const customer = emulator.state.directory.customer(reportsCustomer)!;
      customer.delegatedAccess = false;
      try {
        expectGraphError(await get(emulator, report(), reports), 403, 'UnknownError');
      } finally {
        customer.delegatedAccess = true;
      }
    });
  });

  it('a token without the permission gets 403 Authorization_RequestDenied on subscribedSkus', async function () {
    const token = await graphToken(emulator, firstCustomers[0]!, firstRefresh);
    expect(claimsOf(token).scp).to.equal('User.Read');
    expect((await get(emulator, '/v1.0/me', token)).status, 'User.Read suffices for /me').to.equal(
      200,
    );
    const denied = await get(emulator, '/v1.0/subscribedSkus', token);
    const body = expectGraphError(denied, 403, 'Authorization_RequestDenied');
    expect(body.error.message).to.equal('Insufficient privileges to complete the operation.');
  });

  describe('customer tenants that refuse the partner', function () {
    /** Changes `tenant` at the emulator for the length of `check`, then changes it back. */
    async function whilePatched(
      tenant: string,
      patch: { delegatedAccess?: boolean; appConsent?: boolean },
      check: () => Promise<void>,
    ) {
      const patched = await emulator.http.patch(
        `${emulator.url}/_emulator/customers/${tenant}`,
        patch,
      );
      expect(patched.status, String(patched.data)).to.equal(200);
      try {
        await check();
      } finally {
        const restore = Object.fromEntries(Object.keys(patch).map((key) => [key, true]));
        await emulator.http.patch(`${emulator.url}/_emulator/customers/${tenant}`, restore);
      }
    }

    async function expectRefused(tenant: string, aadsts: number): Promise<EntraError> {
      const response = await tokenAt(emulator, tenant, firstRefresh);
      expect(response.status, String(response.data)).to.equal(400);
      const body = json<EntraError>(response);
      expect(body.error).to.equal('invalid_grant');
      expect(body.error_codes).to.deep.equal([aadsts]);
      expect(body.error_description).to.match(new RegExp(`^AADSTS${aadsts}: `));
      return body;
    }

    it('without a delegated admin relationship: AADSTS50020', async function () {
      const tenant = firstCustomers[1]!;
      expect((await tokenAt(emulator, tenant, firstRefresh)).status, 'before').to.equal(200);
      await whilePatched(tenant, { delegatedAccess: false }, async () => {
        await expectRefused(tenant, 50020);
      });
    });

    it('without the app consented there: AADSTS90099', async function () {
      const tenant = firstCustomers[2]!;
      expect((await tokenAt(emulator, tenant, firstRefresh)).status, 'before').to.equal(200);
      await whilePatched(tenant, { appConsent: false }, async () => {
        await expectRefused(tenant, 90099);
      });
    });
  });
});

// Identity and access limits, as microsoft-graph-docs-contrib documents them
// (includes/throttling-identity-and-access.md): resource units per app+tenant per 10 s by
// tenant size (S under 50 users, M 50 to 500, L above), per app across tenants per 20 s;
// base costs GET subscribedSkus 3, GET users 2, GET groups/{id}/transitiveMembers 5, others 1;
// $select -1, $top under 20 -1, never below 1. The quotas are scaled down for the tests.
const documentedCost = {
  subscribedSkus: 3,
  users: 2,
  transitiveMembers: 5,
  other: 1,
  /** users ($select -1, $top=5 under 20 -1: 0, raised to the floor of 1). */
  usersSelectTop: 1,
};
const smallQuota = 30;
const mediumQuota = 60;
/** A customer of the second partner with exactly 50 users: "M - between 50 and 500 users". */
const mediumCustomer = 'eeeeeeee-0000-4000-8000-000000000005';

/**
 * Requests one at a time until the first 429; returns the successes, that 429, and how many
 * should have passed from `budget` units refilled at `refillPerSec`, at `cost` each: the
 * budget's worth, plus what refilled while the requests ran.
 */
async function untilThrottled(
  request: () => Promise<AxiosResponse>,
  most: number,
  { budget, refillPerSec, cost }: { budget: number; refillPerSec: number; cost: number },
): Promise<{ passed: AxiosResponse[]; throttled: AxiosResponse }> {
  const started = Date.now();
  const passed: AxiosResponse[] = [];
  for (let i = 0; i < most; i++) {
    const response = await request();
    if (response.status === 429) {
      const refilled = ((Date.now() - started) / 1000) * refillPerSec;
      expect(passed.length).to.be.within(
        Math.floor(budget / cost),
        Math.floor((budget + refilled) / cost),
      );
      return { passed, throttled: response };
    }
    expect(response.status, String(response.data)).to.equal(200);
    passed.push(response);
  }
  throw new Error(`no 429 in ${most} requests`);
}

function throttledScenario(appResourceUnits: number) {
  const scenario = scenarioWith((p) =>
    p.tenantId === secondPartner && Array.isArray(p.customers)
      ? {
          ...p,
          customers: [
            ...p.customers,
            {
              tenantId: mediumCustomer,
              name: 'Medium Customer',
              domain: 'medium.example',
              users: Array.from({ length: 50 }, (_, i) => ({ upn: `u${i}@medium.example` })),
            },
          ],
        }
      : p,
  );
  return {
    ...scenario,
    graphLimits: {
      smallTenantResourceUnits: smallQuota,
      mediumTenantResourceUnits: mediumQuota,
      largeTenantResourceUnits: 90,
      appResourceUnits,
    },
  };
}

describe('Graph emulator throttling by resource units (HTTPS)', function () {
  let emulator: TestEmulator;
  /** The first partner at two of its (small) customers. */
  let small: { tenant: string; token: string }[];
  let medium: string;
  let groupId: string;

  before(async function () {
    emulator = await startTestEmulator(throttledScenario(100_000));
    const customers = emulator.state.directory.partner(firstPartner)!.customers.slice(0, 2);
    for (const c of customers)
      expect(emulator.state.directory.detail(c).users.length, 'a small tenant').to.be.below(50);
    const [first, second] = await Promise.all([
      consentAndRedeem(emulator, 'admin@first.example', graphConsent),
      consentAndRedeem(emulator, 'admin@second.example', graphConsent),
    ]);
    small = await Promise.all(
      customers.map(async (c) => ({
        tenant: c.tenantId,
        token: await graphToken(emulator, c.tenantId, first.refresh_token),
      })),
    );
    medium = await graphToken(emulator, mediumCustomer, second.refresh_token);
    groupId = emulator.state.directory.detail(customers[1]!).groups[0]!.id;
  });

  after(async function () {
    await emulator?.stop();
  });
  // Each test starts on full budgets: the emulator's clock moves past the 10-second window.
  beforeEach(async function () {
    await emulator.http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: 20 });
  });

  it('spends an app+tenant budget three times faster on subscribedSkus than on a 1-unit read', async function () {
    const [a, b] = small as [(typeof small)[0], (typeof small)[0]];
    const skus = await untilThrottled(() => get(emulator, '/v1.0/subscribedSkus', a.token), 50, {
      budget: smallQuota,
      refillPerSec: smallQuota / 10,
      cost: documentedCost.subscribedSkus,
    });
    for (const r of skus.passed)
      expect(r.headers['x-ms-resource-unit']).to.equal(String(documentedCost.subscribedSkus));
    expectGraphError(skus.throttled, 429, 'TooManyRequests');
    expect(String(skus.throttled.headers['retry-after'])).to.match(/^[1-9]\d*$/);
    expect(skus.throttled.headers['x-ms-throttle-scope']).to.equal(
      `Tenant_Application/ReadWrite/${testClient.clientId}/${a.tenant}`,
    );
    expect(skus.throttled.headers['x-ms-throttle-information']).to.equal(
      'ResourceUnitLimitExceeded',
    );

    // The other tenant has its own budget: a read costing 1 unit goes 30 times.
    const cheap = await untilThrottled(
      () => get(emulator, '/v1.0/users?$select=id&$top=5', b.token),
      100,
      { budget: smallQuota, refillPerSec: smallQuota / 10, cost: documentedCost.usersSelectTop },
    );
    expect(cheap.passed[0]!.headers['x-ms-resource-unit']).to.equal('1');
    // The header appears once more than 0.8 of the budget is spent.
    expect(cheap.passed[20]!.headers['x-ms-throttle-limit-percentage']).to.equal(undefined);
    expect(cheap.passed.at(-1)!.headers['x-ms-throttle-limit-percentage']).to.match(
      /^(0\.[89]|1\.0)$/,
    );

    // Waiting the Retry-After (on the emulator's clock) refills the budget.
    const waitSec = Number(skus.throttled.headers['retry-after']);
    await emulator.http.post(`${emulator.url}/_emulator/clock`, { advanceSeconds: waitSec });
    expect((await get(emulator, '/v1.0/subscribedSkus', a.token)).status).to.equal(200);
  });

  it('costs what the documented table and modifiers say', async function () {
    const b = small[1]!;
    const cost = async (path: string, headers: Record<string, string> = {}) => {
      const response = await get(emulator, path, b.token, headers);
      expect(response.status, String(response.data)).to.equal(200);
      return Number(response.headers['x-ms-resource-unit']);
    };
    expect(await cost('/v1.0/users')).to.equal(documentedCost.users);
    expect(await cost('/v1.0/users?$select=id')).to.equal(documentedCost.users - 1);
    expect(await cost('/v1.0/subscribedSkus?$select=skuId')).to.equal(
      documentedCost.subscribedSkus - 1,
    );
    expect(
      await cost(`/v1.0/groups/${groupId}/transitiveMembers/microsoft.graph.user/$count`, eventual),
    ).to.equal(documentedCost.transitiveMembers);
    expect(await cost(`/v1.0/groups/${groupId}`)).to.equal(documentedCost.other);
  });

  it('gives a tenant of 50 users the medium budget', async function () {
    await untilThrottled(() => get(emulator, '/v1.0/subscribedSkus', medium), 50, {
      budget: mediumQuota,
      refillPerSec: mediumQuota / 10,
      cost: documentedCost.subscribedSkus,
    });
  });
});

describe('Graph emulator throttling of the app across tenants (HTTPS)', function () {
  let emulator: TestEmulator;
  const appQuota = 45;

  after(async function () {
    await emulator?.stop();
  });

  it('refuses every partner and tenant once the app has spent its budget', async function () {
    emulator = await startTestEmulator(throttledScenario(appQuota));
    const tenants = emulator.state.directory.partner(firstPartner)!.customers.slice(0, 2);
    const [first, second] = await Promise.all([
      consentAndRedeem(emulator, 'admin@first.example', graphConsent),
      consentAndRedeem(emulator, 'admin@second.example', graphConsent),
    ]);
    const [a, b] = await Promise.all(
      tenants.map((c) => graphToken(emulator, c.tenantId, first.refresh_token)),
    );
    const other = await graphToken(emulator, explicitCustomer, second.refresh_token);

    // The first tenant spends its whole budget (30 of the app's 45)...
    await untilThrottled(() => get(emulator, '/v1.0/subscribedSkus', a!), 50, {
      budget: smallQuota,
      refillPerSec: smallQuota / 10,
      cost: documentedCost.subscribedSkus,
    });
    // ...so the second tenant, far from its own budget, gets only the app's remaining 15.
    const rest = await untilThrottled(
      () => get(emulator, '/v1.0/users?$select=id&$top=5', b!),
      100,
      { budget: appQuota - smallQuota, refillPerSec: appQuota / 20, cost: 1 },
    );
    expectGraphError(rest.throttled, 429, 'TooManyRequests');
    expect(rest.throttled.headers['x-ms-throttle-scope']).to.equal(
      `Application/ReadWrite/${testClient.clientId}/${tenants[1]!.tenantId}`,
    );
    // Another partner signs in to the same app: its customer is refused too.
    const refused = await get(emulator, '/v1.0/subscribedSkus', other);
    expectGraphError(refused, 429, 'TooManyRequests');

    const counters = json<Counters>(await emulator.http.get(`${emulator.url}/_emulator/counters`));
    expect(counters.partners[secondPartner]!.graph.throttled).to.equal(1);
  });
});
