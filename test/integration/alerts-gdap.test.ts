import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { ScenarioInput } from '../../emulator/scenario.js';
import { jobIds } from '../../src/queue/catalog.js';
import { gdapCustomers, gdapScenario } from '../support/gdap.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

interface Message {
  type: string;
  alert: { event: string; key: string; summary: string };
}

type Relationship = { endDateTime: string } & Record<string, unknown>;
const scenarioGdap = (tenantId: string): Relationship[] =>
  (
    (
      JSON.parse(
        readFileSync(new URL('../../emulator/scenarios/gdap.json', import.meta.url), 'utf8'),
      ) as ScenarioInput
    ).partners[0]!.customers as { tenantId: string; gdap?: Relationship[] }[]
  ).find((c) => c.tenantId === tenantId)!.gdap!;

describe('GDAP alerts: raised by the access read that shows the condition, resolved by the one that no longer does', function () {
  this.timeout(120_000);
  let h: Harness;
  let receiver: WebhookReceiver;
  let partnerId: string;
  const messages = () =>
    receiver.received('/hook').map((r) => {
      const m = JSON.parse(r.body) as Message;
      return `${m.type} ${m.alert.event}`;
    });

  const patchCustomer = async (tenantId: string, body: object) => {
    const res = await h.emulator.http.patch(
      `${h.emulator.url}/_emulator/customers/${tenantId}`,
      body,
    );
    expect(res.status, JSON.stringify(res.data)).to.equal(200);
  };
  const readAccess = async () => {
    const read = await h.api('post', `/partners/${partnerId}/access/refresh`);
    expect(read.status).to.equal(202);
    await h.finished('partners', (read.body as { jobId: string }).jobId);
  };

  before(async function () {
    h = await startHarness(gdapScenario(), {
      PARTNER_CENTER_REQUESTS_PER_SECOND: '15',
      ALLOW_PRIVATE_WEBHOOKS: 'true',
    });
    receiver = await startWebhookReceiver();
    partnerId = (
      (await h.api('post', '/partners', { name: 'GDAP Partner' })).body as { id: string }
    ).id;
    const hook = await h.api('post', `/partners/${partnerId}/notification-channels`, {
      kind: 'webhook',
      url: receiver.url('/hook'),
      events: ['gdapEnded', 'gdapEnding7Days', 'gdapEnding30Days', 'appConsentMissing'],
    });
    expect(hook.status, hook.text).to.equal(201);
    for (const [name, tenantId] of Object.entries(gdapCustomers)) {
      await h.runtime.services.partners.addCompany(
        partnerId,
        { name: `${name} company`, customerTenantId: tenantId },
        'test',
      );
    }
    await h.grant(partnerId, 'admin@s365l.com');
    const status = await h.api('get', `/partners/${partnerId}/delegated-admin`);
    await h.runEnded((status.body as { run: { id: string } }).run.id);
  });
  after(async function () {
    await receiver?.close();
    await h?.close(suiteFailed(this));
  });

  it('the first run raises ended, ending within 30 days and app consent missing, once each; a second read sends nothing', async () => {
    await receiver.waitFor('/hook', 3, 20_000);
    await readAccess();
    const alerts = (
      (await h.api('get', `/partners/${partnerId}/alerts`)).body as {
        alerts: { event: string; key: string; resolvedAt: string | null; details: unknown }[];
      }
    ).alerts;
    expect(
      alerts
        .filter((a) => a.resolvedAt === null && a.event !== 'runFinishedWithFailures')
        .map((a) => a.event),
    ).to.have.members(['gdapEnded', 'gdapEnding30Days', 'appConsentMissing']);
    const ending = alerts.find((a) => a.event === 'gdapEnding30Days')!;
    expect(ending.key).to.match(/^gdap-ending-30-\d{4}-\d{2}-\d{2}$/);
    expect(ending.details).to.deep.include({ customers: 1 });
    expect(alerts.find((a) => a.event === 'gdapEnded')!.details).to.deep.equal({ customers: 1 });
    expect(messages()).to.have.members([
      'alert.raised gdapEnded',
      'alert.raised gdapEnding30Days',
      'alert.raised appConsentMissing',
    ]);
  });

  it('a relationship now ending within 7 days resolves the 30-day alert and raises the 7-day one', async () => {
    const [relationship] = scenarioGdap(gdapCustomers.expiring);
    await patchCustomer(gdapCustomers.expiring, {
      gdap: [{ ...relationship, endDateTime: '+P5D' }],
    });
    await readAccess();
    const all = await receiver.waitFor('/hook', 5, 20_000);
    expect(all).to.have.length(5);
    expect(messages().slice(3)).to.have.members([
      'alert.resolved gdapEnding30Days',
      'alert.raised gdapEnding7Days',
    ]);
    const raised = JSON.parse(
      all.find((r) => r.body.includes('"gdapEnding7Days"'))!.body,
    ) as Message;
    expect(raised.alert.summary).to.contain('1 customer end within 7 days');
  });

  it('renewed relationships and the app consented: the next run resolves each alert once', async () => {
    await patchCustomer(gdapCustomers.expiring, {
      gdap: scenarioGdap(gdapCustomers.expiring).map((r) => ({ ...r, endDateTime: '+P400D' })),
    });
    await patchCustomer(gdapCustomers.expired, {
      gdap: scenarioGdap(gdapCustomers.allGood),
    });
    for (const tenant of [gdapCustomers.notConsented, gdapCustomers.partlyConsented])
      await patchCustomer(tenant, { appConsent: true });
    const started = await h.api('post', `/partners/${partnerId}/refresh`);
    expect(started.status).to.equal(202);
    await h.finished('partners', jobIds.refreshPartner((started.body as { runId: string }).runId));
    await h.runEnded((started.body as { runId: string }).runId);
    await receiver.waitFor('/hook', 8, 20_000);
    expect(messages().slice(5)).to.have.members([
      'alert.resolved gdapEnded',
      'alert.resolved gdapEnding7Days',
      'alert.resolved appConsentMissing',
    ]);
    await readAccess();
    expect(receiver.received('/hook')).to.have.length(8);
  });
});
