import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import { auditEvents } from '../../src/store/schema.js';
import { startHarness, type Harness } from '../support/harness.js';

/** The Explicit Customer of the emulator's second partner: SPB and Exchange seats. */
const explicitCustomer = 'cccccccc-0000-4000-8000-000000000003';

interface CompanyEntry {
  id: string;
  name: string;
  domain: string | null;
  customerTenantId: string | null;
  delegatedAdminId: string | null;
  visibility: string;
  licensesRefreshedAt: string | null;
  licenses: { skuPartNumber: string; activeUnits: number; consumedUnits: number }[];
}

describe('company edit API: PATCH and GET /partners/:id/companies/:companyId', function () {
  this.timeout(120_000);
  let h: Harness;
  let partnerId: string;
  let otherPartnerId: string;
  let legacyId: string;

  before(async () => {
    h = await startHarness();
    partnerId = (
      (await h.api('post', '/partners', { name: 'Editing Partner' })).body as { id: string }
    ).id;
    otherPartnerId = (
      (await h.api('post', '/partners', { name: 'Other Partner' })).body as { id: string }
    ).id;
    legacyId = (
      (
        await h.api('post', `/partners/${partnerId}/delegated-admins`, {
          // Another domain than the consent's, so the consent does not replace it.
          username: 'sync@legacy.example',
          password: 'legacy-pw-test-only',
        })
      ).body as { id: string }
    ).id;
    await h.grant(partnerId, 'admin@second.example');
    const { run } = (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      run: { id: string };
    };
    expect(await h.runEnded(run.id)).to.include({ status: 'completed' });
  });
  after(async function () {
    await h?.close(this.currentTest?.state === 'failed');
  });

  const addCompany = async (ofPartner: string, body: object) => {
    const res = await h.api('post', `/partners/${ofPartner}/companies`, body);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as CompanyEntry;
  };
  const patch = (companyId: string, body: object, ofPartner = partnerId) =>
    h.api('patch', `/partners/${ofPartner}/companies/${companyId}`, body);
  const listed = async (companyId: string) => {
    const res = await h.api('get', `/partners/${partnerId}/companies`);
    expect(res.status).to.equal(200);
    return (res.body as { companies: CompanyEntry[] }).companies.find((c) => c.id === companyId);
  };
  const updates = (companyId: string) =>
    h.runtime.store.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'company.updated'), eq(auditEvents.subjectId, companyId)));
  const messageOf = (res: { body: unknown }) =>
    (res.body as { error: { message: string } }).error.message;

  it('changes name, domain and account; the listing and the one-company view show it', async () => {
    const company = await addCompany(partnerId, { name: 'Fabrikam', domain: 'fabrikam.example' });

    const renamed = await patch(company.id, { name: 'Fabrikam Inc', domain: 'Fabrikam.COM' });
    expect(renamed.status, JSON.stringify(renamed.body)).to.equal(200);
    expect(renamed.body).to.include({
      id: company.id,
      name: 'Fabrikam Inc',
      domain: 'fabrikam.com',
      customerTenantId: null,
    });
    expect(await listed(company.id)).to.deep.equal(renamed.body);
    const one = await h.api('get', `/partners/${partnerId}/companies/${company.id}`);
    expect(one.status).to.equal(200);
    expect(one.body).to.deep.equal(renamed.body);

    // A field left out keeps its value; null takes the company off its legacy account.
    const attached = await patch(company.id, { delegatedAdminId: legacyId });
    expect(attached.body).to.include({ name: 'Fabrikam Inc', delegatedAdminId: legacyId });
    const detached = await patch(company.id, { delegatedAdminId: null });
    expect(detached.body).to.include({ domain: 'fabrikam.com', delegatedAdminId: null });

    const audited = await updates(company.id);
    expect(audited.map((a) => a.actor)).to.deep.equal(['admin-api', 'admin-api', 'admin-api']);
    expect(audited.map((a) => a.details)).to.deep.include({
      name: 'Fabrikam Inc',
      domain: 'fabrikam.com',
      customerTenantId: null,
      delegatedAdminId: legacyId,
    });
  });

  it('links a company to a Partner Center customer: the next refresh reads its licenses', async () => {
    const company = await addCompany(partnerId, { name: 'Explicit', domain: 'elsewhere.example' });
    expect((await listed(company.id))!.licenses).to.deep.equal([]);

    const linked = await patch(company.id, { customerTenantId: explicitCustomer.toUpperCase() });
    expect(linked.status, JSON.stringify(linked.body)).to.equal(200);
    expect(linked.body).to.include({ customerTenantId: explicitCustomer, visibility: 'unknown' });

    const started = await h.api('post', `/partners/${partnerId}/refresh`);
    expect(started.status).to.equal(202);
    expect(await h.runEnded((started.body as { runId: string }).runId)).to.include({
      status: 'completed',
    });
    const refreshed = (await listed(company.id))!;
    expect(refreshed.visibility).to.equal('visible');
    expect(refreshed.licensesRefreshedAt).to.be.a('string');
    expect(refreshed.licenses.map((l) => l.skuPartNumber)).to.have.members([
      'SPB',
      'EXCHANGESTANDARD',
    ]);
    expect(refreshed.licenses.find((l) => l.skuPartNumber === 'SPB')).to.include({
      activeUnits: 15,
      consumedUnits: 2,
    });

    // Unlinked (it keeps its domain), its tenant is free for another company.
    const unlinked = await patch(company.id, { customerTenantId: null });
    expect(unlinked.status, JSON.stringify(unlinked.body)).to.equal(200);
    expect(unlinked.body).to.include({ customerTenantId: null, domain: 'elsewhere.example' });
    // The customer's licenses went with the link: they are no longer this company's.
    expect((unlinked.body as CompanyEntry).licenses).to.deep.equal([]);
    const [update] = (await updates(company.id)).slice(-1);
    expect(update!.details).to.include({
      customerTenantId: null,
      previousCustomerTenantId: explicitCustomer,
    });
  });

  it('refuses bad input with a 400 naming the field, and changes nothing', async () => {
    const company = await addCompany(partnerId, { name: 'Contoso', domain: 'contoso.example' });
    const other = await addCompany(otherPartnerId, { name: 'Theirs', domain: 'theirs.example' });
    const theirAdmin = (
      (
        await h.api('post', `/partners/${otherPartnerId}/delegated-admins`, {
          username: 'sync@theirs.example',
          password: 'legacy-pw-test-only',
        })
      ).body as { id: string }
    ).id;
    const cases: [object, RegExp][] = [
      [{ name: '' }, /^Invalid request: name: /],
      [{ name: null }, /^Invalid request: name: /],
      [{ domain: 'not a domain' }, /^Invalid request: domain: expected a DNS domain\.$/],
      [{ customerTenantId: 'nope' }, /^Invalid request: customerTenantId: expected a GUID\.$/],
      [{ delegatedAdminId: 'nope' }, /^Invalid request: delegatedAdminId: expected a GUID\.$/],
      [{ delegatedAdminId: theirAdmin }, /^delegatedAdminId is not an account of this partner\.$/],
      [{ visibility: 'visible' }, /^Invalid request: body: .*"visibility"/],
      // Neither tenant nor domain would be left to find the company by.
      [{ domain: null }, /^Invalid request: body: give customerTenantId or domain\.$/],
    ];
    for (const [body, message] of cases) {
      const res = await patch(company.id, body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(messageOf(res), JSON.stringify(body)).to.match(message);
    }
    expect(await listed(company.id)).to.include({
      name: 'Contoso',
      domain: 'contoso.example',
      customerTenantId: null,
      delegatedAdminId: null,
    });
    expect(await updates(company.id)).to.deep.equal([]);
    expect(await h.runtime.services.partners.company(otherPartnerId, other.id)).to.include({
      name: 'Theirs',
    });
  });

  it("answers 404 for another partner's company or an unknown one, and changes nothing", async () => {
    const theirs = await addCompany(otherPartnerId, { name: 'Northwind', domain: 'nw.example' });
    for (const path of [
      `/partners/${partnerId}/companies/${theirs.id}`,
      `/partners/${partnerId}/companies/${randomUUID()}`,
      `/partners/${partnerId}/companies/not-a-company`,
      `/partners/${randomUUID()}/companies/${theirs.id}`,
    ]) {
      const changed = await h.api('patch', path, { name: 'Taken Over' });
      expect(changed.status, path).to.equal(404);
      expect((await h.api('get', path)).status, path).to.equal(404);
    }
    expect(await h.runtime.services.partners.company(otherPartnerId, theirs.id)).to.include({
      name: 'Northwind',
    });
    expect(await updates(theirs.id)).to.deep.equal([]);
  });

  it('answers 409 when another company of the partner has the customer tenant', async () => {
    const tenant = randomUUID();
    await addCompany(partnerId, { name: 'Tailspin', customerTenantId: tenant });
    const second = await addCompany(partnerId, { name: 'Tailspin Copy', domain: 'copy.example' });
    const res = await patch(second.id, {
      name: 'Tailspin Two',
      customerTenantId: tenant.toUpperCase(),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(409);
    expect(messageOf(res)).to.equal(
      'A company with this customer tenant already exists for this partner.',
    );
    expect(await listed(second.id)).to.include({ name: 'Tailspin Copy', customerTenantId: null });
    expect(await updates(second.id)).to.deep.equal([]);
    // Another partner may have a company of the same tenant.
    const elsewhere = await addCompany(otherPartnerId, { name: 'Theirs', domain: 't.example' });
    expect(
      (await patch(elsewhere.id, { customerTenantId: tenant }, otherPartnerId)).status,
    ).to.equal(200);
  });
});
