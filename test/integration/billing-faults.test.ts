import { expect } from 'chai';
import type { PsaKind } from '../../src/psa/client.js';
import { jobIds } from '../../src/queue/catalog.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { startTestPsa, type PsaFixture, type TestPsa } from '../support/psa.js';
import { within } from '../support/within.js';

// How the sync meets a PSA that fails while it writes, for each PSA: busy and down (retried,
// written once), refusing the data (that change fails with the PSA's own words), refusing the
// credentials (the connection is marked broken, the change waits). One customer with SPB 15.

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
const spb = 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46';
const contoso = 'eeeeeeee-0000-4000-8000-000000000011';
const fixture: PsaFixture = {
  products: [{ id: 101, code: 'M365-BP', name: 'Microsoft 365 Business Premium' }],
  companies: [
    {
      id: 1,
      name: 'Contoso',
      domain: 'contoso.example',
      containers: [
        {
          id: 11,
          name: 'Contoso Microsoft 365',
          lines: [{ id: 1001, productId: 101, quantity: 14 }],
        },
      ],
    },
  ],
};

/** The request each PSA's client writes a quantity with, and how it refuses data. */
const writePath: Record<PsaKind, { method: string; path: string; refusal: number }> = {
  connectwise: { method: 'PATCH', path: '/**/finance/agreements/*/additions/*', refusal: 400 },
  // Autotask refuses bad data on a create with a 500 and its messages.
  autotask: { method: 'POST', path: '/**/ContractServiceAdjustments', refusal: 500 },
  halo: { method: 'POST', path: '/api/RecurringInvoice/updatelines', refusal: 400 },
};

interface Change {
  product: string;
  before: number;
  target: number;
  status: string;
  error: string | null;
}

for (const kind of ['connectwise', 'autotask', 'halo'] as const) {
  describe(`billing sync meeting a failing ${kind}`, function () {
    this.timeout(180_000);
    let h: Harness;
    let psa: TestPsa;
    let partnerId: string;

    before(async () => {
      psa = await startTestPsa(kind, fixture);
      h = await startHarness(
        scenarioWith((p) =>
          p.tenantId === partnerTenant
            ? {
                ...p,
                customers: [
                  {
                    tenantId: contoso,
                    name: 'Contoso Ltd',
                    domain: 'contoso.example',
                    subscriptions: [{ skuPartNumber: 'SPB', quantity: 15 }],
                    users: [{ upn: 'staff@contoso.example', licenses: ['SPB'] }],
                  },
                ],
              }
            : p,
        ),
        {},
        { extraCaPem: psa.emulator.ca },
      );
      partnerId = (
        (await h.api('post', '/partners', { name: 'Faults Partner' })).body as { id: string }
      ).id;
      const company = await h.runtime.services.partners.addCompany(
        partnerId,
        { name: 'Contoso Ltd', customerTenantId: contoso, domain: 'contoso.example' },
        'test',
      );
      await h.grant(partnerId, 'admin@first.example');
      const status = (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
        run: { id: string };
      };
      expect((await h.runEnded(status.run.id)).status).to.equal('completed');
      const saved = await h.api('put', `/partners/${partnerId}/psa-connection`, {
        kind,
        ...psa.fields,
      });
      expect((saved.body as { status: string }).status, saved.text).to.equal('ok');
      const linked = await h.api('put', `/partners/${partnerId}/companies/${company.id}/psa-link`, {
        psaCompanyId: psa.id('company', 1),
        containerId: psa.id('container', 11),
      });
      expect(linked.status, linked.text).to.equal(200);
      const mapped = await h.api('post', `/partners/${partnerId}/psa/product-mappings`, {
        source: { kind: 'sku', skuId: spb },
        psaProductId: psa.id('product', 101),
        countBasis: 'purchased',
      });
      expect(mapped.status, mapped.text).to.equal(201);
    });
    after(async function () {
      await h?.close(suiteFailed(this));
      await psa?.emulator.stop();
    });
    afterEach(() => {
      psa.emulator.base.faults = [];
    });

    /** Reconciles through the API and returns the change planned for SPB. */
    async function planned(): Promise<Change> {
      const started = await h.api('post', `/partners/${partnerId}/reconciliation`);
      const jobId = (started.body as { jobId: string }).jobId;
      await within(30_000, 'the reconciliation', h.finished('billing', jobId));
      const [link] = await h.runtime.services.psaConnections.links(partnerId);
      await within(
        60_000,
        'the company reconciliation',
        h.finished('billing', jobIds.reconcileCompanyBilling(link!.companyId, jobId)),
      );
      const plan = (await h.api('get', `/partners/${partnerId}/billing-sync/plan`)).body as {
        changes: Change[];
      };
      const change = plan.changes.find((c) => c.status === 'planned');
      expect(change, JSON.stringify(plan)).to.not.equal(undefined);
      return change!;
    }

    /** Approves every planned change and resolves when the company's apply job completed. */
    async function approveAndApply(): Promise<void> {
      const events = h.events('billing');
      const done = within(
        90_000,
        'the apply job',
        new Promise<void>((resolve) => {
          const listener = ({ jobId }: { jobId: string }) => {
            if (!jobId.startsWith('apply-billing-')) return;
            events.off('completed', listener);
            resolve();
          };
          events.on('completed', listener);
        }),
      );
      const approved = await h.api('post', `/partners/${partnerId}/billing-sync/approve`, {});
      expect(approved.status, approved.text).to.equal(202);
      await done;
    }

    const changes = async () =>
      (
        (await h.api('get', `/partners/${partnerId}/billing-sync/plan`)).body as {
          changes: Change[];
        }
      ).changes;
    const ledger = async () =>
      (
        (await h.api('get', `/partners/${partnerId}/billing-sync/ledger`)).body as {
          entries: { before: number; after: number }[];
        }
      ).entries;

    it('retries a write the PSA answered with 429 and then 500, and writes it once', async () => {
      expect(await planned()).to.include({ before: 14, target: 15 });
      const { method, path } = writePath[kind];
      psa.emulator.base.addFault({ method, path, status: 429, retryAfterSec: 1, count: 1 });
      psa.emulator.base.addFault({ method, path, status: 503, count: 1 });
      const writesBefore = psa.writes();
      await approveAndApply();
      expect(psa.billed(11, 101)).to.equal(15);
      expect(psa.writes() - writesBefore).to.equal(1);
      expect((await ledger()).map((e) => [e.before, e.after])).to.deep.equal([[14, 15]]);
    });

    it('fails a change the PSA refuses, with the PSA’s own words, and writes nothing', async () => {
      // Someone lowered the PSA's quantity by hand: the sync plans it back.
      const client = (await h.runtime.services.psaConnections.open(partnerId))!;
      const direct = h.runtime.services.psaRegistry.create(
        kind,
        { settings: client.connection.settings, secrets: client.secrets },
        { http: h.runtime.services.psaHttp },
      );
      await direct.setQuantity({
        containerId: psa.id('container', 11),
        productId: psa.id('product', 101),
        target: 10,
        effectiveDate: new Date().toISOString().slice(0, 10),
      });
      expect(await planned()).to.include({ before: 10, target: 15 });
      const refusal = 'Quantity exceeds the limit of 12 seats on this agreement';
      const { method, path, refusal: status } = writePath[kind];
      psa.emulator.base.addFault({ method, path, status, message: refusal, count: 1 });
      await approveAndApply();
      const failed = (await changes()).find((c) => c.status === 'failed');
      expect(failed?.error, JSON.stringify(await changes())).to.include(refusal);
      expect(psa.billed(11, 101)).to.equal(10);
    });

    it('marks the connection broken when the PSA refuses the credentials, and keeps the change', async () => {
      await planned();
      const { method, path } = writePath[kind];
      psa.emulator.base.addFault({ method, path, status: 401, count: 1 });
      // Halo's client signs in again once on a 401: the new sign-in is refused too.
      if (kind === 'halo')
        psa.emulator.base.addFault({ method: 'POST', path: '/auth/token', status: 401 });
      await approveAndApply();
      const connection = (await h.api('get', `/partners/${partnerId}/psa-connection`)).body as {
        status: string;
      };
      expect(connection.status).to.equal('broken');
      expect((await changes()).some((c) => c.status === 'applying')).to.equal(true);
      expect(psa.billed(11, 101)).to.equal(10);
    });
  });
}
