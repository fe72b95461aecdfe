import { expect } from 'chai';
import { withoutCustomerTenantTokens } from '../../src/microsoft/token-cache-pruning.js';

const home = 'aaaaaaaa-0000-4000-8000-000000000001';
const customer = 'cccccccc-0000-4000-8000-000000000002';
const account = `11111111-2222-4333-8444-555555555555.${home}`;

/** A cache in MSAL's serialized shape: one account, its refresh token, tokens in two tenants. */
function cache() {
  const entry = (realm: string, secret: string) => ({
    home_account_id: account,
    environment: 'login.example',
    realm,
    secret,
  });
  return {
    Account: { [`${account}-login.example-${home}`]: entry(home, '') },
    IdToken: {
      [`${account}-idtoken-${home}`]: entry(home, 'id-home'),
      [`${account}-idtoken-${customer}`]: entry(customer, 'id-customer'),
    },
    AccessToken: {
      [`${account}-accesstoken-${home}`]: entry(home, 'at-home'),
      [`${account}-accesstoken-${customer.toUpperCase()}`]: entry(customer, 'at-customer'),
    },
    RefreshToken: { [`${account}-refreshtoken`]: { home_account_id: account, secret: 'rt' } },
    AppMetadata: {},
  };
}

describe("a partition's stored token cache", () => {
  it("keeps the refresh token and the home tenant's tokens, and drops a customer tenant's", () => {
    const pruned = JSON.parse(withoutCustomerTenantTokens(JSON.stringify(cache()))) as ReturnType<
      typeof cache
    >;
    const secrets = (section: Record<string, { secret: string }>) =>
      Object.values(section).map((e) => e.secret);
    expect(secrets(pruned.AccessToken)).to.deep.equal(['at-home']);
    expect(secrets(pruned.IdToken)).to.deep.equal(['id-home']);
    expect(secrets(pruned.RefreshToken)).to.deep.equal(['rt']);
    expect(Object.keys(pruned.Account)).to.have.length(1);
  });

  it('is returned unchanged when it holds only home-tenant entries', () => {
    const homeOnly = cache();
    delete (homeOnly.IdToken as Record<string, unknown>)[`${account}-idtoken-${customer}`];
    delete (homeOnly.AccessToken as Record<string, unknown>)[
      `${account}-accesstoken-${customer.toUpperCase()}`
    ];
    const serialized = JSON.stringify(homeOnly);
    expect(withoutCustomerTenantTokens(serialized)).to.equal(serialized);
  });
});
