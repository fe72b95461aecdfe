import { expect } from 'chai';
import { graphResourceUnits } from '../../src/microsoft/graph-costs.js';

// Costs as microsoft-graph-docs-contrib includes/throttling-identity-and-access.md lists them.
describe('Graph resource-unit costs', function () {
  it('charges the documented base costs, 1 for identity paths not listed', () => {
    expect(graphResourceUnits('GET', '/v1.0/subscribedSkus')).to.equal(3);
    expect(graphResourceUnits('GET', '/v1.0/users')).to.equal(2);
    expect(graphResourceUnits('GET', '/v1.0/groups/0b1c/transitiveMembers')).to.equal(5);
    expect(graphResourceUnits('GET', '/v1.0/groups/0b1c/members')).to.equal(3);
    expect(graphResourceUnits('GET', '/v1.0/me/transitiveMemberOf')).to.equal(2);
    expect(graphResourceUnits('GET', '/v1.0/users/a@b.example/transitiveMemberOf')).to.equal(2);
    expect(graphResourceUnits('GET', '/v1.0/groups/0b1c')).to.equal(1);
    expect(graphResourceUnits('GET', '/v1.0/me')).to.equal(1);
  });

  it('applies $select (-1), $expand (+1) and $top under 20 (-1), never below 1', () => {
    expect(graphResourceUnits('GET', '/v1.0/subscribedSkus?$select=skuId')).to.equal(2);
    expect(graphResourceUnits('GET', '/v1.0/users?$expand=manager')).to.equal(3);
    expect(graphResourceUnits('GET', '/v1.0/users?$top=999')).to.equal(2);
    expect(graphResourceUnits('GET', '/v1.0/users?$top=19')).to.equal(1);
    expect(graphResourceUnits('GET', '/v1.0/users?$select=id&$top=1')).to.equal(1);
    expect(
      graphResourceUnits('GET', "/v1.0/groups?$filter=displayName eq 'x'&$select=id"),
    ).to.equal(1);
  });

  it('reads $count segments, casts and absolute next links as the relationship they count', () => {
    expect(
      graphResourceUnits('GET', '/v1.0/groups/0b1c/transitiveMembers/microsoft.graph.user/$count'),
    ).to.equal(5);
    expect(
      graphResourceUnits(
        'GET',
        'https://graph.microsoft.com/v1.0/users?$select=id&$top=999&$skiptoken=MTA',
      ),
    ).to.equal(1);
  });

  it('costs nothing outside identity and access (reports, mailbox settings)', () => {
    expect(graphResourceUnits('GET', "/v1.0/reports/getMailboxUsageDetail(period='D7')")).to.equal(
      0,
    );
    expect(
      graphResourceUnits('GET', '/v1.0/users/a@b.example/mailboxSettings/userPurpose'),
    ).to.equal(0);
  });
});
