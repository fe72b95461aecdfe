import { expect } from 'chai';
import type { PsaKind } from '../../src/psa/client.js';
import { jobIds } from '../../src/queue/catalog.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { startTestPsa, type TestPsa } from '../support/psa.js';
import {
  customers,
  fixture,
  partnerTenant,
  seedBillingPartner,
  sku,
  tenant,
} from '../support/billing-fixture.js';
import { within } from '../support/within.js';

// The billing sync end to end, for each PSA: a real refresh against the Microsoft emulator,
// then the PSA's emulator through the API: connection, suggestions, mappings, reconciliation,
// the dry run, approval, the writes and the ledger. Every expected number is written by hand
// from the two scenarios in test/support/billing-fixture.ts.

interface Row {
  companyId: string;
  customerTenantId: string;
  product: { name: string; skuId?: string };
  microsoftPurchased: number | null;
  microsoftAssigned: number | null;
  psaBilled: number | null;
  difference: number | null;
  mapped: boolean;
}
interface Change {
  id: string;
  companyId: string;
  product: string;
  action: string;
  before: number;
  target: number;
  status: string;
  error: string | null;
}

const kinds: PsaKind[] = ['connectwise', 'autotask', 'halo'];

for (const kind of kinds) {
  describe(`billing sync with ${kind}`, function () {
    this.timeout(120_000);
    let h: Harness;
    let psa: TestPsa;
    let partnerId: string;
    let company: Record<string, string>;

    before(async () => {
      psa = await startTestPsa(kind, fixture);
      h = await startHarness(
        scenarioWith((p) => (p.tenantId === partnerTenant ? { ...p, customers } : p)),
        { PARTNER_CENTER_REQUESTS_PER_SECOND: '200' },
        { extraCaPem: psa.emulator.ca },
      );
      ({ partnerId, company } = await seedBillingPartner(h, 'Billing Partner'));
    });
    after(async function () {
      await h?.close(suiteFailed(this));
      await psa?.emulator.stop();
    });

    /** Starts a reconciliation through the API and waits for it and its company jobs. */
    async function reconcile(): Promise<void> {
      const started = await h.api('post', `/partners/${partnerId}/reconciliation`);
      expect(started.status, started.text).to.equal(202);
      const jobId = (started.body as { jobId: string }).jobId;
      await within(30_000, 'the reconciliation', h.finished('billing', jobId));
      const linked = await h.runtime.services.psaConnections.links(partnerId);
      await Promise.all(
        linked.map((l) =>
          within(
            60_000,
            `the reconciliation of ${l.psaCompanyName}`,
            h.finished('billing', jobIds.reconcileCompanyBilling(l.companyId, jobId)),
          ),
        ),
      );
    }

    /** Resolves when `n` apply jobs completed; listening starts before the action. */
    function appliesCompleted(n: number): Promise<void> {
      const events = h.events('billing');
      let seen = 0;
      return within(
        60_000,
        `${n} apply jobs`,
        new Promise<void>((resolve) => {
          const listener = ({ jobId }: { jobId: string }) => {
            if (!jobId.startsWith('apply-billing-')) return;
            seen += 1;
            if (seen === n) {
              events.off('completed', listener);
              resolve();
            }
          };
          events.on('completed', listener);
        }),
      );
    }

    const rows = async (query = '') =>
      (
        (await h.api('get', `/partners/${partnerId}/reconciliation${query}`)).body as {
          rows: Row[];
        }
      ).rows;
    const plan = async () =>
      (
        (await h.api('get', `/partners/${partnerId}/billing-sync/plan`)).body as {
          changes: Change[];
        }
      ).changes;
    const writes = () => psa.writes();

    it('refuses a wrong secret with the PSA’s reason and marks the connection broken', async () => {
      const saved = await h.api('put', `/partners/${partnerId}/psa-connection`, {
        kind,
        ...psa.wrongSecret,
      });
      expect(saved.status, saved.text).to.equal(200);
      const body = saved.body as { status: string; test: { ok: boolean; kind: string } };
      expect(body.test).to.include({ ok: false, kind: 'credentials' });
      expect(body.status).to.equal('broken');
      expect(saved.text).to.not.include('not-the-key');
    });

    it('connects, and suggests each customer’s PSA company by domain, none for a stranger', async () => {
      const saved = await h.api('put', `/partners/${partnerId}/psa-connection`, {
        kind,
        ...psa.fields,
      });
      expect((saved.body as { test: { ok: boolean } }).test.ok, saved.text).to.equal(true);
      expect((saved.body as { status: string }).status).to.equal('ok');
      const matches = (await h.api('get', `/partners/${partnerId}/psa/companies`)).body as {
        companies: {
          customerTenantId: string;
          suggestion: { candidateId: string; reason: string } | null;
        }[];
      };
      const of = (t: string) => matches.companies.find((c) => c.customerTenantId === t)!.suggestion;
      expect(of(tenant.contoso)).to.include({
        candidateId: psa.id('company', 1),
        reason: 'domain',
      });
      expect(of(tenant.fabrikam)).to.include({
        candidateId: psa.id('company', 2),
        reason: 'domain',
      });
      expect(of(tenant.northwind)).to.equal(null);
    });

    it('links companies and maps products, refusing a basis a product cannot bill', async () => {
      for (const [t, psaCompany, container] of [
        [tenant.contoso, 1, 11],
        [tenant.fabrikam, 2, 21],
      ] as const) {
        const linked = await h.api(
          'put',
          `/partners/${partnerId}/companies/${company[t]}/psa-link`,
          {
            psaCompanyId: psa.id('company', psaCompany),
            containerId: psa.id('container', container),
          },
        );
        expect(linked.status, linked.text).to.equal(200);
      }
      const map = (
        skuId: string,
        productId: number,
        countBasis: string,
        applyMode = 'approval',
        term?: string,
      ) =>
        h.api('post', `/partners/${partnerId}/psa/product-mappings`, {
          source: { kind: 'sku', skuId, ...(term ? { term } : {}) },
          psaProductId: psa.id('product', productId),
          countBasis,
          applyMode,
        });
      const refused = await map(sku.spb, 101, 'assigned', 'approval', 'P1Y');
      expect(refused.status).to.equal(400);
      expect(refused.text).to.include('only be billed as purchased');
      for (const [skuId, productId, basis, mode] of [
        [sku.spb, 101, 'purchased', 'approval'],
        [sku.exchange, 102, 'assigned', 'approval'],
        [sku.basic, 103, 'purchased', 'automatic'],
        [sku.visio, 104, 'purchased', 'approval'],
      ] as const) {
        const mapped = await map(skuId, productId, basis, mode);
        expect(mapped.status, mapped.text).to.equal(201);
      }
    });

    it('reconciles Microsoft beside the PSA, and applies only what maps automatically', async () => {
      const before = writes();
      const automatic = appliesCompleted(1);
      await reconcile();
      await automatic;
      const all = await rows();
      const row = (t: string, skuId: string) =>
        all.find((r) => r.customerTenantId === t && r.product.skuId === skuId);
      expect(row(tenant.contoso, sku.spb)).to.include({
        microsoftPurchased: 15,
        microsoftAssigned: 12,
        psaBilled: 14,
        difference: 1,
        mapped: true,
      });
      expect(row(tenant.contoso, sku.exchange)).to.include({
        microsoftPurchased: 3,
        microsoftAssigned: 2,
        psaBilled: 3,
        difference: -1,
      });
      expect(row(tenant.contoso, sku.visio)).to.include({
        microsoftPurchased: 0,
        psaBilled: 2,
        difference: -2,
      });
      expect(row(tenant.fabrikam, sku.spb)).to.include({ psaBilled: 4, difference: 0 });
      expect(row(tenant.northwind, sku.spb)).to.include({
        microsoftPurchased: 1,
        psaBilled: null,
        difference: null,
        mapped: false,
      });
      // Business Basic maps automatically: Fabrikam's new line is written without a person.
      expect(psa.billed(21, 103)).to.equal(2);
      expect(writes() - before).to.equal(1);
      const differences = await rows('?differences=true');
      expect(differences.map((r) => r.difference).sort()).to.deep.equal([-1, -2, 1]);
    });

    it('shows the rest as a dry run that writes nothing until approved', async () => {
      const changes = await plan();
      const planned = changes.filter((c) => c.status === 'planned');
      expect(planned.map((c) => [c.product, c.action, c.before, c.target]).sort()).to.deep.equal(
        [
          ['Exchange Online (Plan 1)', 'set_quantity', 3, 2],
          ['Microsoft 365 Business Premium', 'set_quantity', 14, 15],
          ['Visio Plan 2', 'cancel', 2, 0],
        ].sort(),
      );
      expect(psa.billed(11, 101)).to.equal(14);
    });

    it('writes approved changes, cancels without deleting, and records each in the ledger', async () => {
      const applied = appliesCompleted(1);
      const approved = await h.api('post', `/partners/${partnerId}/billing-sync/approve`, {});
      expect(approved.status, approved.text).to.equal(202);
      await applied;
      expect(psa.billed(11, 101)).to.equal(15);
      expect(psa.billed(11, 102)).to.equal(2);
      expect(psa.billed(11, 104)).to.equal(0);
      expect(psa.billed(11, 105)).to.equal(5);
      expect(psa.emulator.base.log.some((e) => e.method === 'DELETE')).to.equal(false);
      const ledger = (
        (
          await h.api(
            'get',
            `/partners/${partnerId}/billing-sync/ledger?companyId=${company[tenant.contoso]}`,
          )
        ).body as {
          entries: { product: string; before: number; after: number; approvedBy: string }[];
        }
      ).entries;
      expect(ledger.map((e) => [e.product, e.before, e.after, e.approvedBy]).sort()).to.deep.equal(
        [
          ['Exchange Online (Plan 1)', 3, 2, 'admin-api'],
          ['Microsoft 365 Business Premium', 14, 15, 'admin-api'],
          ['Visio Plan 2', 2, 0, 'admin-api'],
        ].sort(),
      );
    });

    it('plans nothing more once the PSA bills what Microsoft counts', async () => {
      const before = writes();
      await reconcile();
      expect((await plan()).filter((c) => c.status === 'planned')).to.deep.equal([]);
      const mapped = (await rows()).filter((r) => r.mapped);
      expect(
        mapped.every((r) => r.difference === 0),
        JSON.stringify(mapped),
      ).to.equal(true);
      expect(writes()).to.equal(before);
    });

    it('reconciles as soon as a refresh run completes, not at the reconciler’s next pass', async () => {
      // The reconciler's schedule is gone for this test (the watchdog restores it only after
      // RECONCILE_INTERVAL_SECONDS, 60 here): only the run's own end can queue the work.
      await h.runtime.queues.get('maintenance').removeJobScheduler('reconcile');
      const events = h.events('billing');
      const reconciled = new Promise<string>((resolve) => {
        const listener = ({ jobId }: { jobId: string }) => {
          if (!jobId.startsWith(`reconcile-billing-${partnerId}-`)) return;
          events.off('completed', listener);
          resolve(jobId);
        };
        events.on('completed', listener);
      });
      const started = await h.api('post', `/partners/${partnerId}/refresh`);
      expect(started.status, started.text).to.equal(202);
      const runId = (started.body as { runId: string }).runId;
      const run = await h.runEnded(runId);
      expect(run.status).to.equal('completed');
      expect(await within(20_000, 'the run’s reconciliation', reconciled)).to.equal(
        jobIds.reconcileBilling(partnerId, runId),
      );
      const linked = await h.runtime.services.psaConnections.links(partnerId);
      await Promise.all(
        linked.map((l) =>
          within(
            20_000,
            `the reconciliation of ${l.psaCompanyName}`,
            h.finished('billing', jobIds.reconcileCompanyBilling(l.companyId, runId)),
          ),
        ),
      );
      const stored = await h.runtime.services.psaSync.reconciliation(partnerId);
      const ofLinked = stored.filter((r) => linked.some((l) => l.companyId === r.companyId));
      expect(ofLinked).to.not.deep.equal([]);
      for (const r of ofLinked)
        expect(r.checkedAt.getTime()).to.be.at.least(run.finishedAt!.getTime());
      expect((await h.runtime.services.runs.get(runId))!.billingQueuedAt).to.not.equal(null);
    });

    it('exports the rows as CSV when asked for text/csv', async () => {
      const csv = await h
        .api('get', `/partners/${partnerId}/reconciliation?unmapped=true`)
        .then(() =>
          // supertest's helper sets JSON; ask for CSV by the query the pages use.
          h.api('get', `/partners/${partnerId}/reconciliation?unmapped=true&format=csv`),
        );
      expect(csv.headers['content-type']).to.match(/^text\/csv/);
      const lines = csv.text.trim().split('\r\n');
      expect(lines[0]).to.match(/^company,company_id,customer_tenant_id,product,sku_id/);
      expect(
        lines.some((l) => l.startsWith('Northwind Traders,') && l.includes(tenant.northwind)),
      ).to.equal(true);
    });
  });
}
