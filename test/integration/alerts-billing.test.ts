import { expect } from 'chai';
import { reconcileCompanyBilling } from '../../jobs/billing.js';
import { jobIds } from '../../src/queue/catalog.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { testJobContext, testJobDeps } from '../support/job-context.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { startTestPsa, type PsaFixture, type TestPsa } from '../support/psa.js';
import { within } from '../support/within.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// The billing-sync-failed alert: raised with the change the PSA refuses, resolved by the next
// write it takes. One customer with SPB 15, billed 14 in ConnectWise.

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

interface Change {
  product: string;
  before: number;
  target: number;
  status: string;
  error: string | null;
}

for (const kind of ['connectwise'] as const) {
  describe(`billing-sync-failed alert with ${kind}`, function () {
    this.timeout(180_000);
    let h: Harness;
    let psa: TestPsa;
    let receiver: WebhookReceiver;
    let partnerId: string;

    before(async () => {
      psa = await startTestPsa(kind, fixture);
      receiver = await startWebhookReceiver();
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
        { ALLOW_PRIVATE_WEBHOOKS: 'true' },
        { extraCaPem: psa.emulator.ca },
      );
      partnerId = (
        (await h.api('post', '/partners', { name: 'Billing Alerts Partner' })).body as {
          id: string;
        }
      ).id;
      const company = await h.runtime.services.partners.addCompany(
        partnerId,
        { name: 'Contoso Ltd', customerTenantId: contoso, domain: 'contoso.example' },
        'test',
      );
      const hook = await h.api('post', `/partners/${partnerId}/notification-channels`, {
        kind: 'webhook',
        url: receiver.url('/hook'),
        events: ['billingSyncFailed', 'unmappedProducts'],
      });
      expect(hook.status, hook.text).to.equal(201);
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
      await receiver?.close();
    });
    afterEach(() => {
      psa.emulator.base.faults = [];
    });

    /** Reconciles through the API, to the company's rows saved. */
    async function reconcileOnly(): Promise<void> {
      const started = await h.api('post', `/partners/${partnerId}/reconciliation`);
      const jobId = (started.body as { jobId: string }).jobId;
      await within(30_000, 'the reconciliation', h.finished('billing', jobId));
      const [link] = await h.runtime.services.psaConnections.links(partnerId);
      await within(
        60_000,
        'the company reconciliation',
        h.finished('billing', jobIds.reconcileCompanyBilling(link!.companyId, jobId)),
      );
    }

    /** Reconciles through the API and returns the change planned for SPB. */
    async function planned(): Promise<Change> {
      await reconcileOnly();
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
    const messages = () =>
      receiver.received('/hook').map((r) => {
        const m = JSON.parse(r.body) as { type: string; alert: { event: string; summary: string } };
        return { what: `${m.type} ${m.alert.event}`, summary: m.alert.summary };
      });

    it('a change the PSA refuses raises billing-sync-failed once, with the PSA’s words', async () => {
      expect(await planned()).to.include({ before: 14, target: 15 });
      const refusal = 'Quantity exceeds the limit of 12 seats on this agreement';
      psa.emulator.base.addFault({
        method: 'PATCH',
        path: '/**/finance/agreements/*/additions/*',
        status: 400,
        message: refusal,
        count: 1,
      });
      await approveAndApply();
      expect((await changes()).map((c) => c.status)).to.include('failed');
      await receiver.waitFor('/hook', 1, 20_000);
      const [raised] = messages();
      expect(raised!.what).to.equal('alert.raised billingSyncFailed');
      expect(raised!.summary).to.contain(refusal);
      expect(psa.billed(11, 101)).to.equal(14);
    });

    it('the next write the PSA takes resolves it, once', async () => {
      expect(await planned()).to.include({ before: 14, target: 15 });
      await approveAndApply();
      expect(psa.billed(11, 101)).to.equal(15);
      await receiver.waitFor('/hook', 2, 20_000);
      expect(messages().map((m) => m.what)).to.deep.equal([
        'alert.raised billingSyncFailed',
        'alert.resolved billingSyncFailed',
      ]);
    });

    it('a product with seats left unmapped raises unmapped-products once; mapping it again resolves it', async () => {
      const mappings = (
        (await h.api('get', `/partners/${partnerId}/psa/product-mappings`)).body as {
          mappings: { id: string }[];
        }
      ).mappings;
      for (const m of mappings)
        await h.api('delete', `/partners/${partnerId}/psa/product-mappings/${m.id}`);
      await reconcileOnly();
      await reconcileOnly();
      await receiver.waitFor('/hook', 3, 20_000);
      expect(messages().map((m) => m.what)[2]).to.equal('alert.raised unmappedProducts');
      expect(messages()[2]!.summary).to.match(/^1 product with seats/);
      const mapped = await h.api('post', `/partners/${partnerId}/psa/product-mappings`, {
        source: { kind: 'sku', skuId: spb },
        psaProductId: psa.id('product', 101),
        countBasis: 'purchased',
      });
      expect(mapped.status, mapped.text).to.equal(201);
      await reconcileOnly();
      await receiver.waitFor('/hook', 4, 20_000);
      expect(messages().map((m) => m.what)).to.deep.equal([
        'alert.raised billingSyncFailed',
        'alert.resolved billingSyncFailed',
        'alert.raised unmappedProducts',
        'alert.resolved unmappedProducts',
      ]);
    });

    it('refused credentials raise billing-sync-failed once, with the PSA’s words and no secret; fixed ones resolve it', async () => {
      const wrong = await h.api('put', `/partners/${partnerId}/psa-connection`, {
        kind,
        ...psa.wrongSecret,
      });
      expect(wrong.body).to.deep.include({ status: 'broken' });
      await receiver.waitFor('/hook', 5, 20_000);
      const raised = messages()[4]!;
      expect(raised.what).to.equal('alert.raised billingSyncFailed');
      expect(raised.summary).to.match(/^The PSA refused the connection: /);
      const hookBody = receiver.received('/hook')[4]!.body;
      for (const value of Object.values(psa.wrongSecret).filter((v) => v.length >= 8))
        expect(hookBody).not.to.include(value);
      // Refused again: the alert is open already, nothing more is sent.
      await h.api('post', `/partners/${partnerId}/psa-connection/test`);
      const fixed = await h.api('put', `/partners/${partnerId}/psa-connection`, {
        kind,
        ...psa.fields,
      });
      expect(fixed.body).to.deep.include({ status: 'ok' });
      await receiver.waitFor('/hook', 6, 20_000);
      expect(
        messages()
          .map((m) => m.what)
          .slice(4),
      ).to.deep.equal(['alert.raised billingSyncFailed', 'alert.resolved billingSyncFailed']);
      // A test that finds it working again resolves nothing more.
      await h.api('post', `/partners/${partnerId}/psa-connection/test`);
      expect(receiver.received('/hook')).to.have.length(6);
    });

    /** The partner's open billing-sync-failed alerts, as the alerts API lists them. */
    const openSyncAlerts = async () =>
      (
        (await h.api('get', `/partners/${partnerId}/alerts`)).body as {
          alerts: { event: string; resolvedAt: string | null }[];
        }
      ).alerts.filter((a) => a.event === 'billingSyncFailed' && a.resolvedAt === null);

    it('a company’s comparison failing raises nothing while it is retried, then billing-sync-failed on its last attempt with the PSA’s words; a working test resolves it', async () => {
      const outage = 'Scheduled maintenance until 06:00 UTC';
      psa.emulator.base.addFault({ method: 'GET', path: '/**', status: 503, message: outage });
      const [link] = await h.runtime.services.psaConnections.links(partnerId);
      const payload = { partnerId, companyId: link!.companyId };
      const jobDeps = testJobDeps(h.runtime);
      const { deps } = jobDeps;
      try {
        const attempt = (finalAttempt: boolean) =>
          reconcileCompanyBilling(
            payload,
            deps,
            testJobContext({
              jobId: `reconcile-${String(finalAttempt)}`,
              log: h.runtime.log,
              finalAttempt,
            }),
          ).then(
            () => expect.fail('the comparison went through the PSA outage'),
            (error: unknown) => String(error),
          );
        expect(await attempt(false)).to.contain(outage);
        expect(await openSyncAlerts()).to.deep.equal([]);
        expect(await attempt(true)).to.contain(outage);
      } finally {
        await jobDeps.close();
      }
      await receiver.waitFor('/hook', 7, 20_000);
      const raised = messages()[6]!;
      expect(raised.what).to.equal('alert.raised billingSyncFailed');
      expect(raised.summary).to.match(
        /^Comparing Contoso Ltd with the PSA failed: the PSA answered: /,
      );
      expect(raised.summary).to.contain(outage);
      psa.emulator.base.faults = [];
      const tested = await h.api('post', `/partners/${partnerId}/psa-connection/test`);
      expect(tested.body, tested.text).to.deep.include({ ok: true });
      await receiver.waitFor('/hook', 8, 20_000);
      expect(messages()[7]!.what).to.equal('alert.resolved billingSyncFailed');
    });

    it('credentials refused while comparing break the connection at once and raise billing-sync-failed, without retrying', async () => {
      psa.emulator.base.addFault({ method: 'GET', path: '/**/finance/**', status: 401 });
      const [link] = await h.runtime.services.psaConnections.links(partnerId);
      const jobDeps = testJobDeps(h.runtime);
      const { deps } = jobDeps;
      try {
        const outcome = await reconcileCompanyBilling(
          { partnerId, companyId: link!.companyId },
          deps,
          testJobContext({ jobId: 'reconcile-credentials', log: h.runtime.log }),
        );
        expect(outcome).to.have.property('brokenConnection');
      } finally {
        await jobDeps.close();
      }
      expect(await h.runtime.services.psaConnections.get(partnerId)).to.deep.include({
        status: 'broken',
      });
      await receiver.waitFor('/hook', 9, 20_000);
      const raised = messages()[8]!;
      expect(raised.what).to.equal('alert.raised billingSyncFailed');
      expect(raised.summary).to.match(/^The PSA refused the connection: /);
      psa.emulator.base.faults = [];
      const tested = await h.api('post', `/partners/${partnerId}/psa-connection/test`);
      expect(tested.body, tested.text).to.deep.include({ ok: true });
      await receiver.waitFor('/hook', 10, 20_000);
      expect(messages()[9]!.what).to.equal('alert.resolved billingSyncFailed');
    });
  });
}
