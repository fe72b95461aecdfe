import { expect } from 'chai';
import type { ScenarioInput } from '../../emulator/scenario.js';
import type { AutotaskState } from '../../emulator/psa/autotask/state.js';
import type { PsaRequestEvents } from '../../emulator/psa/base.js';
import { jobIds } from '../../src/queue/catalog.js';
import { scenarioWith } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { startService, type ServiceProcess } from '../support/process.js';
import { startTestPsa, type PsaFixture, type TestPsa } from '../support/psa.js';
import { within } from '../support/within.js';

// An Autotask adjustment is a delta, create-only, with no idempotency key: a worker killed
// after Autotask took the adjustment and before the ledger row was written must not add the
// delta again when the change is applied once more. The worker is a process of its own,
// killed with SIGKILL while the emulator holds the adjustment (a delay-only fault).

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
const contoso = 'eeeeeeee-0000-4000-8000-000000000001';
const spb = 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46';

/** Contoso buys 15 Business Premium seats from Microsoft; Autotask bills 10. */
const customers: ScenarioInput['partners'][number]['customers'] = [
  {
    tenantId: contoso,
    name: 'Contoso Ltd',
    domain: 'contoso.example',
    subscriptions: [{ skuPartNumber: 'SPB', quantity: 15 }],
    users: Array.from({ length: 3 }, (_, i) => ({
      upn: `staff${i + 1}@contoso.example`,
      licenses: ['SPB'],
    })),
  },
];
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
          lines: [{ id: 1001, productId: 101, quantity: 10 }],
        },
      ],
    },
  ],
};
const adjustmentsPath = '/zone5/atservicesrest/v1.0/ContractServiceAdjustments';

describe('billing sync: an Autotask adjustment survives a worker killed before its record', function () {
  this.timeout(180_000);
  let h: Harness;
  let psa: TestPsa;
  let partnerId: string;
  let companyId: string;
  const workers: ServiceProcess[] = [];

  const startWorker = async () => {
    const worker = startService('workers/main.ts', { ...h.env, LOG_LEVEL: 'info' });
    workers.push(worker);
    await within(
      60_000,
      'the worker start',
      worker.waitForLog((l) => l.msg === 'workers started'),
    );
    return worker;
  };
  const state = () => psa.emulator.state as AutotaskState;

  before(async () => {
    psa = await startTestPsa('autotask', fixture);
    h = await startHarness(
      scenarioWith((p) => (p.tenantId === partnerTenant ? { ...p, customers } : p)),
      // A killed worker's job comes back within seconds, not the production half-minute.
      { PARTNER_CENTER_REQUESTS_PER_SECOND: '200', JOB_LOCK_SECONDS: '2' },
      { workers: false, extraCaPem: psa.emulator.ca },
    );
  });
  after(async function () {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await h?.close(suiteFailed(this));
    await psa?.emulator.stop();
  });

  /**
   * Partner, PSA connection, link and mapping, then consent and its refresh run, then the
   * run's reconciliation: one change planned. The PSA is set up first so that whichever
   * reconciler pass queues the run's reconciliation, it finds the company linked.
   */
  async function plannedChange(): Promise<string> {
    partnerId = (
      (await h.api('post', '/partners', { name: 'Crash Partner' })).body as { id: string }
    ).id;
    const legacy = (
      await h.api('post', `/partners/${partnerId}/delegated-admins`, {
        username: 'sync@first.example',
        password: 'legacy-pw-test-only',
      })
    ).body as { id: string };
    companyId = (
      await h.runtime.services.partners.addCompany(
        partnerId,
        {
          name: 'Contoso Ltd',
          customerTenantId: contoso,
          domain: 'contoso.example',
          delegatedAdminId: legacy.id,
        },
        'test',
      )
    ).id;
    const saved = await h.api('put', `/partners/${partnerId}/psa-connection`, {
      kind: 'autotask',
      ...psa.fields,
    });
    expect((saved.body as { status: string }).status, saved.text).to.equal('ok');
    const linked = await h.api('put', `/partners/${partnerId}/companies/${companyId}/psa-link`, {
      psaCompanyId: psa.id('company', 1),
      containerId: psa.id('container', 11),
    });
    expect(linked.status, linked.text).to.equal(200);
    const mapped = await h.api('post', `/partners/${partnerId}/psa/product-mappings`, {
      source: { kind: 'sku', skuId: spb },
      psaProductId: psa.id('product', 101),
      countBasis: 'purchased',
      applyMode: 'approval',
    });
    expect(mapped.status, mapped.text).to.equal(201);
    await h.grant(partnerId, 'admin@first.example');
    const status = (await h.api('get', `/partners/${partnerId}/delegated-admin`)).body as {
      run: { id: string };
    };
    expect((await within(60_000, 'the refresh run', h.runEnded(status.run.id))).status).to.equal(
      'completed',
    );
    // The reconciler queues the run's reconciliation, as in production, and marks it queued:
    // a worker starting later queues none of its own.
    const reconciler = await h.runtime.queues.enqueue('reconcile', {}, { jobId: 'reconcile-test' });
    await within(30_000, 'the reconciler', h.finished('maintenance', reconciler.id!));
    const runId = status.run.id;
    await within(
      30_000,
      'the reconciliation',
      h.finished('billing', jobIds.reconcileBilling(partnerId, runId)),
    );
    await within(
      30_000,
      'the company reconciliation',
      h.finished('billing', jobIds.reconcileCompanyBilling(companyId, runId)),
    );
    const planned = await h.runtime.services.psaSync.changes(partnerId, ['planned']);
    expect(planned.map((c) => [c.before, c.target])).to.deep.equal([[10, 15]]);
    return planned[0]!.id;
  }

  /** Resolves with the first emulator event of `name` that `matches`. */
  function emulatorEvent<N extends keyof PsaRequestEvents>(
    name: N,
    matches: (...args: PsaRequestEvents[N]) => boolean,
  ): Promise<PsaRequestEvents[N][0]> {
    const requests = psa.emulator.base.requests;
    return new Promise((resolve) => {
      const listener = (...args: PsaRequestEvents[N]) => {
        if (!matches(...args)) return;
        requests.off(name, listener as never);
        resolve(args[0]);
      };
      requests.on(name, listener as never);
    });
  }

  /** Resolves once an apply job of the company completed; listening starts at the call. */
  function applyCompleted(): Promise<void> {
    const events = h.events('billing');
    return new Promise((resolve) => {
      const listener = ({ jobId }: { jobId: string }) => {
        if (!jobId.startsWith(`apply-billing-${companyId}-`)) return;
        events.off('completed', listener);
        resolve();
      };
      events.on('completed', listener);
    });
  }

  it('after kill -9 between the adjustment and its ledger row, the delta is applied once', async () => {
    const first = await startWorker();
    const changeId = await plannedChange();
    expect(psa.billed(11, 101)).to.equal(10);

    // The adjustment is held long enough to kill its sender while Autotask has it.
    psa.emulator.base.addFault({ method: 'POST', path: adjustmentsPath, delayMs: 1_000, count: 1 });
    const isAdjustment = (r: { method: string; path: string }) =>
      r.method === 'POST' && r.path === adjustmentsPath;
    const arrived = emulatorEvent('arrived', isAdjustment).then(() => {
      first.child.kill('SIGKILL');
    });
    const answered = emulatorEvent('answered', isAdjustment);
    const approved = await h.api('post', `/partners/${partnerId}/billing-sync/approve`, {});
    expect(approved.status, approved.text).to.equal(202);
    await within(30_000, 'the adjustment reaching Autotask', arrived);
    expect(await within(10_000, 'the worker’s death', first.exited)).to.equal('SIGKILL');
    // Autotask still applies what it received from a client that is gone.
    expect(await within(10_000, 'the held adjustment’s end', answered)).to.include({
      status: 200,
      clientGone: true,
    });
    expect(state().adjustments.map((a) => a.unitChange)).to.deep.equal([5]);
    expect(psa.billed(11, 101)).to.equal(15);
    const [change] = await h.runtime.services.psaSync.changes(partnerId, ['applying']);
    expect(change?.id, 'the change left applying').to.equal(changeId);
    expect(await h.runtime.services.psaSync.ledger(partnerId)).to.deep.equal([]);

    // A new worker runs the apply again (the stalled job, or the one its reconciler queues):
    // it reads 15 back and writes nothing.
    const completed = applyCompleted();
    await startWorker();
    await within(60_000, 'the apply job after the restart', completed);
    expect(state().adjustments, 'adjustments in Autotask').to.have.length(1);
    expect(psa.billed(11, 101)).to.equal(15);
    const [ended] = (await h.runtime.services.psaSync.changes(partnerId)).filter(
      (c) => c.id === changeId,
    );
    expect(ended).to.include({ status: 'applied', error: null });
    const ledger = (
      (await h.api('get', `/partners/${partnerId}/billing-sync/ledger?companyId=${companyId}`))
        .body as { entries: { changeId: string; after: number; alreadyApplied: boolean }[] }
    ).entries;
    expect(ledger).to.have.length(1);
    expect(ledger[0]).to.include({ changeId, after: 15, alreadyApplied: true });
    // The reconciliation shows what Autotask bills now, without waiting for the next one.
    const rows = (
      (await h.api('get', `/partners/${partnerId}/reconciliation`)).body as {
        rows: { product: { skuId?: string }; psaBilled: number | null; difference: number }[];
      }
    ).rows;
    expect(rows.find((r) => r.product.skuId === spb)).to.include({ psaBilled: 15, difference: 0 });
  });
});
