import { expect } from 'chai';
import { eq, inArray } from 'drizzle-orm';
import type request from 'supertest';
import { loadConfig } from '../../config/index.js';
import { webhookSignature } from '../../src/domain/webhook-messages.js';
import { createApp } from '../../src/server/app.js';
import { nextDigestTime } from '../../src/domain/digest-schedule.js';
import { mailtoUrl } from '../../src/domain/email-messages.js';
import { when } from '../../src/server/views/layout.js';
import { raiseAlert, resolveAlert } from '../../src/store/alert-outbox.js';
import {
  alertDeliveries,
  alerts,
  auditEvents,
  notificationChannels,
} from '../../src/store/schema.js';
import { testScenario } from '../support/emulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, csrfOf, loggedIn } from '../support/pages.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

type Agent = ReturnType<typeof request.agent>;

/** A public address the checks accept; nothing here ever sends to it (no worker runs). */
const publicHook = 'https://93.184.215.14/hooks/T0001/B0002/k3y-in-the-path';

/** Text as the page shows it, entities decoded. */
const decoded = (s: string) =>
  s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');

/** A form's part of the page: its `<details id=…>` element. */
function formOf(html: string, id: string): string {
  const start = html.indexOf(`<details id="${id}"`);
  if (start < 0) throw new Error(`no form ${id} on the page`);
  return html.slice(start, html.indexOf('</details>', start));
}
const inputValue = (form: string, name: string) =>
  decoded(new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(form)?.[1] ?? '');
const tickedEvents = (form: string) =>
  [...form.matchAll(/name="events" value="(\w+)" checked/g)].map((m) => m[1]);
const isTicked = (form: string, name: string) => new RegExp(`name="${name}" checked`).test(form);

describe('pages: Alerts (channels, test-send, broken, history) and the operators’ channels', function () {
  this.timeout(60_000);
  let h: Harness;
  let partnerId: string;
  let otherPartnerId: string;
  let people: Awaited<ReturnType<typeof createPeople>>;
  let otherPeople: Awaited<ReturnType<typeof createPeople>>;
  let receiver: WebhookReceiver;

  before(async () => {
    // No workers: nothing is delivered behind the test's back; test-sends are synchronous.
    h = await startHarness(testScenario(), {}, { workers: false });
    partnerId = (await h.runtime.services.partners.create('Alerted Partner', 'test')).id;
    otherPartnerId = (await h.runtime.services.partners.create('Other Partner', 'test')).id;
    people = await createPeople(h, partnerId);
    otherPeople = await createPeople(h, otherPartnerId);
    receiver = await startWebhookReceiver();
  });
  // Each test starts with no channel, so any one runs alone and a failure spreads to no other.
  beforeEach(async () => {
    await h.runtime.store.db.delete(notificationChannels);
  });
  after(async function () {
    await receiver?.close();
    await h?.close(suiteFailed(this));
  });

  const channels = (scope: string | null) => h.runtime.services.notificationChannels.list(scope);

  /**
   * Posts a form of the page at `base` as the page would. A change leads back to the page
   * (303) with its sentence on top; a refusal answers the page (400) with it beside the form.
   */
  async function submit(agent: Agent, base: string, path: string, fields: object, form?: string) {
    const page = await agent.get(base);
    const res = await agent
      .post(`${base}${path}`)
      .type('form')
      .send({ ...fields, _csrf: csrfOf(page.text) });
    if (res.status === 400) {
      const said = new RegExp(`id="${form ?? 'add-channel'}-error">([^<]*)<`).exec(res.text)?.[1];
      return { status: 400, text: res.text, said: decoded(said ?? 'nothing beside the form') };
    }
    if (res.status !== 303) return { status: res.status, text: res.text, said: '' };
    expect(res.headers.location).to.equal(base);
    const next = await agent.get(base);
    const flash = /data-testid="flash">([^<]*)</.exec(next.text)?.[1] ?? '';
    return { status: 303, text: next.text, said: decoded(flash), headers: next.headers };
  }

  it('refuses a channel beside the form with the input kept, then adds it; a webhook’s secret is shown once', async () => {
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const base = `/partners/${partnerId}/alerts`;
    const page = await agent.get(base);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('<h1>Alerted Partner · Alerts</h1>');
    expect(page.text).to.contain(`href="${base}" aria-current="page">Alerts</a>`);
    expect(page.text).to.contain('data-testid="no-channels"');

    const metadata = 'http://169.254.169.254/latest/meta-data/';
    const ssrf = await submit(agent, base, '/channels', {
      kind: 'teams',
      url: metadata,
      events: ['consentNeeded', 'gdapEnded'],
      digest: 'on',
    });
    expect(ssrf.status).to.equal(400);
    expect(ssrf.said).to.equal(
      'url: 169.254.169.254 is a link-local address (cloud metadata lives there), which webhooks may not reach.',
    );
    const kept = formOf(ssrf.text, 'add-channel');
    expect(kept).to.match(/^<details id="add-channel" open/);
    expect(inputValue(kept, 'url')).to.equal(metadata);
    expect(kept).to.match(/<option value="teams" selected/);
    expect(tickedEvents(kept)).to.deep.equal(['consentNeeded', 'gdapEnded']);
    expect(isTicked(kept, 'notifyResolved')).to.equal(false);
    expect(isTicked(kept, 'digest')).to.equal(true);
    expect(ssrf.text).not.to.contain('data-testid="flash"');

    const refusals: [object, string][] = [
      [{ kind: 'webhook', url: '' }, 'Invalid request: url: '],
      [{ kind: 'pigeon', url: publicHook }, 'Invalid request: kind: '],
      [{ kind: 'slack', url: 'ftp://hooks.example.com/x' }, 'url: expected an http(s) URL.'],
      [{ kind: 'webhook', url: 'http://10.1.2.3/hook' }, 'url: 10.1.2.3 is a private address'],
    ];
    for (const [fields, words] of refusals) {
      const refused = await submit(agent, base, '/channels', fields);
      expect(refused.status, JSON.stringify(fields)).to.equal(400);
      expect(refused.said, JSON.stringify(fields)).to.contain(words);
    }
    expect(await channels(partnerId)).to.deep.equal([]);

    const added = await submit(agent, base, '/channels', {
      kind: 'webhook',
      url: publicHook,
      events: 'consentNeeded',
      notifyResolved: 'on',
    });
    expect(added.said).to.equal(
      'Added the Generic webhook (signed JSON) channel to 93.184.215.14.',
    );
    const [saved] = await channels(partnerId);
    expect(saved).to.deep.include({ kind: 'webhook', events: ['consentNeeded'], digest: false });
    const secret = h.runtime.services.notificationChannels.target(saved!).signingSecret!;
    expect(secret).to.match(/^whsec_/);
    const shown = /data-testid="signing-secret-value">([^<]+)</.exec(added.text)?.[1];
    expect(shown).to.equal(secret);
    expect(added.headers!['cache-control']).to.equal('no-store');
    // Only the host, ever: not the path, which carries a credential for chat webhooks.
    expect(added.text).not.to.contain('k3y-in-the-path');
    expect(added.text).to.contain('<td data-label="Sends to">93.184.215.14</td>');

    const again = await agent.get(base);
    expect(again.text).not.to.contain('data-testid="signing-secret"');
    expect(again.text).not.to.contain(secret);
    const operator = await loggedIn(h.app, people.operator.email);
    expect((await operator.get(base)).text).not.to.contain(secret);
    // A Teams channel has no secret to show: its URL is the credential.
    const teams = await submit(agent, base, '/channels', { kind: 'teams', url: publicHook });
    expect(teams.said).to.equal('Added the Microsoft Teams channel to 93.184.215.14.');
    expect(teams.text).not.to.contain('data-testid="signing-secret"');
    const audited = await h.runtime.store.db
      .select()
      .from(auditEvents)
      .where(
        inArray(
          auditEvents.subjectId,
          (await channels(partnerId)).map((c) => c.id),
        ),
      );
    expect(audited.map((a) => [a.action, a.actor, a.partnerId])).to.deep.equal([
      ['notification_channel.created', people.partnerUser!.email, partnerId],
      ['notification_channel.created', people.partnerUser!.email, partnerId],
    ]);
  });

  it('adds an email channel by its addresses once email is configured, and edits them', async () => {
    const base = `/partners/${partnerId}/alerts`;
    // Without SMTP_URL the page says why email cannot be added, and adds nothing.
    const plain = await loggedIn(h.app, people.partnerUser!.email);
    const unconfigured = await submit(plain, base, '/channels', {
      kind: 'email',
      addresses: 'billing@partner.example',
    });
    expect(unconfigured.status).to.equal(400);
    expect(unconfigured.said).to.match(/^Email channels cannot be added\. .*SMTP_URL/);
    const withMail = createApp({
      ...h.runtime,
      config: loadConfig({ ...h.env, SMTP_URL: 'smtp://127.0.0.1:2525' }).config,
    });
    const agent = await loggedIn(withMail, people.partnerUser!.email);
    const bad = await submit(agent, base, '/channels', {
      kind: 'email',
      addresses: 'billing@partner.example, not-an-address',
    });
    expect(bad.status).to.equal(400);
    expect(bad.said).to.contain('expected an email address');
    expect(formOf(bad.text, 'add-channel')).to.contain(
      'billing@partner.example, not-an-address</textarea>',
    );
    expect(await channels(partnerId)).to.deep.equal([]);

    const added = await submit(agent, base, '/channels', {
      kind: 'email',
      addresses: 'billing@Partner.example\nops@partner.example, billing@partner.example',
    });
    expect(added.said).to.equal(
      'Added the Email channel to billing@partner.example, ops@partner.example.',
    );
    const [saved] = await channels(partnerId);
    expect(saved).to.deep.include({
      kind: 'email',
      urlHost: 'billing@partner.example, ops@partner.example',
    });
    // A URL is not an email channel's, and blank addresses keep the saved ones.
    const edited = await submit(
      agent,
      base,
      `/channels/${saved!.id}`,
      {
        addresses: '',
        events: 'consentNeeded',
      },
      `channel-${saved!.id}`,
    );
    expect(edited.said).to.equal(
      'Saved the channel to billing@partner.example, ops@partner.example.',
    );
    const moved = await submit(
      agent,
      base,
      `/channels/${saved!.id}`,
      {
        addresses: 'alerts@partner.example',
      },
      `channel-${saved!.id}`,
    );
    expect(moved.said).to.equal('Saved the channel to alerts@partner.example.');
    expect((await channels(partnerId))[0]).to.deep.include({
      urlHost: 'alerts@partner.example',
      events: null,
    });
  });

  it('edits a channel’s events and settings: a private new URL refused with the input kept, then saved', async () => {
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const base = `/partners/${partnerId}/alerts`;
    const { channel } = await h.runtime.services.notificationChannels.create(
      partnerId,
      { kind: 'slack', url: publicHook },
      'test',
    );
    const form = `channel-${channel.id}`;
    const refused = await submit(
      agent,
      base,
      `/channels/${channel.id}`,
      { url: 'http://192.168.0.10/hook', events: ['gdapEnded'], digest: 'on' },
      form,
    );
    expect(refused.status).to.equal(400);
    expect(refused.said).to.equal(
      'url: 192.168.0.10 is a private address, which webhooks may not reach.',
    );
    const kept = formOf(refused.text, form);
    expect(kept).to.match(new RegExp(`^<details id="${form}" open`));
    expect(inputValue(kept, 'url')).to.equal('http://192.168.0.10/hook');
    expect(tickedEvents(kept)).to.deep.equal(['gdapEnded']);
    expect(isTicked(kept, 'digest')).to.equal(true);
    const unknown = await submit(
      agent,
      base,
      `/channels/${channel.id}`,
      { events: ['consentNeeded', 'nothingHappened'] },
      form,
    );
    expect(unknown.said).to.match(/^Invalid request: events\.1: /);
    expect(await h.runtime.services.notificationChannels.get(partnerId, channel.id)).to.deep.equal(
      channel,
    );

    // A blank URL keeps the saved one; unticked boxes turn their setting off.
    const saved = await submit(agent, base, `/channels/${channel.id}`, {
      url: '',
      events: ['gdapEnded', 'gdapEnding7Days'],
      digest: 'on',
    });
    expect(saved.said).to.equal('Saved the channel to 93.184.215.14.');
    const after = await h.runtime.services.notificationChannels.get(partnerId, channel.id);
    expect(after).to.deep.include({
      events: ['gdapEnded', 'gdapEnding7Days'],
      notifyResolved: false,
      digest: true,
    });
    expect(h.runtime.services.notificationChannels.target(after!).url).to.equal(publicHook);
    // None ticked: every event.
    await submit(agent, base, `/channels/${channel.id}`, { notifyResolved: 'on' });
    expect(
      await h.runtime.services.notificationChannels.get(partnerId, channel.id),
    ).to.deep.include({ events: null, notifyResolved: true, digest: false });
  });

  it('sends a test and shows its outcome, marks a broken channel fixed, and deletes after a confirmation', async () => {
    // Where ALLOW_PRIVATE_WEBHOOKS lets the receiver on loopback in.
    const permissive = createApp({
      ...h.runtime,
      config: loadConfig({ ...h.env, ALLOW_PRIVATE_WEBHOOKS: 'true' }).config,
    });
    const agent = await loggedIn(permissive, people.partnerUser!.email);
    const base = `/partners/${partnerId}/alerts`;
    const added = await submit(agent, base, '/channels', {
      kind: 'webhook',
      url: receiver.url('/tested'),
    });
    const secret = /data-testid="signing-secret-value">([^<]+)</.exec(added.text)![1]!;
    const [channel] = await channels(partnerId);
    const tested = await submit(agent, base, `/channels/${channel!.id}/test`, {});
    expect(tested.said).to.equal(
      `Test message sent to 127.0.0.1:${receiver.port}. Delivered: the receiver answered 2xx.`,
    );
    // The receiver verifies it with the secret the page showed.
    const [test] = receiver.received('/tested');
    expect(JSON.parse(test!.body).type).to.equal('test');
    const timestamp = Number(test!.headers['license-sync-timestamp']);
    expect(test!.headers['license-sync-signature']).to.equal(
      webhookSignature(secret, timestamp, test!.body),
    );

    // Where loopback is refused, the same channel's test says why, and nothing is sent.
    const strict = await loggedIn(h.app, people.partnerUser!.email);
    const refused = await submit(strict, base, `/channels/${channel!.id}/test`, {});
    expect(refused.said).to.equal(
      `The test to 127.0.0.1:${receiver.port} failed: url: 127.0.0.1 is a loopback address, which webhooks may not reach.`,
    );
    expect(receiver.received('/tested')).to.have.length(1);

    await h.runtime.services.notificationChannels.markBroken(
      channel!.id,
      'The receiver answered 410: gone',
    );
    const broken = await agent.get(base);
    expect(broken.text).to.match(
      /data-testid="channel-state"><span class="bad">Broken since \d{4}-\d\d-\d\d \d\d:\d\d UTC: The receiver answered 410: gone</,
    );
    const fixed = await submit(agent, base, `/channels/${channel!.id}/fixed`, {});
    expect(fixed.said).to.equal(
      `Marked the channel to 127.0.0.1:${receiver.port} as fixed: alerts are sent to it again.`,
    );
    expect(fixed.text).to.contain('data-testid="channel-state"><span class="ok">OK</span>');
    expect(fixed.text).not.to.contain('Mark as fixed');
    expect(
      await h.runtime.services.notificationChannels.get(partnerId, channel!.id),
    ).to.deep.include({ brokenAt: null, brokenReason: null });

    // Delete asks first, on a page of its own; asking changes nothing.
    const confirm = await agent.get(`${base}/channels/${channel!.id}/delete`);
    expect(confirm.status).to.equal(200);
    expect(confirm.text).to.contain(
      `Delete the Generic webhook (signed JSON) channel sending to 127.0.0.1:${receiver.port}?`,
    );
    expect(confirm.text).to.contain(`action="${base}/channels/${channel!.id}/delete"`);
    expect(confirm.text).to.contain(`href="${base}">Cancel</a>`);
    expect(await channels(partnerId)).to.have.length(1);
    const deleted = await agent
      .post(`${base}/channels/${channel!.id}/delete`)
      .type('form')
      .send({ _csrf: csrfOf(confirm.text) });
    expect(deleted.status).to.equal(303);
    expect(await channels(partnerId)).to.deep.equal([]);
    const gone = await agent.get(`${base}/channels/${channel!.id}/delete`);
    expect(gone.status).to.equal(404);
  });

  it('says beside each digest channel when digests go; lists a broken channel’s message as waiting; says what a delete left unsent', async () => {
    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const base = `/partners/${partnerId}/alerts`;
    const hour = h.runtime.config.queues.alertDigestHourUtc;
    const label = `${String(hour).padStart(2, '0')}:00 UTC`;
    const hooks = h.runtime.services.notificationChannels;
    const { channel: daily } = await hooks.create(
      partnerId,
      { kind: 'slack', url: publicHook, digest: true },
      'test',
    );
    const { channel: mailed } = await hooks.create(
      partnerId,
      { kind: 'email', url: mailtoUrl(['it@mailed.example', 'gone@mailed.example']) },
      'test',
    );
    const before = nextDigestTime(new Date(), hour);
    const page = await agent.get(base);
    const after = nextDigestTime(new Date(), hour);
    const cells = [...page.text.matchAll(/data-testid="channel-digest">(.*?)<\/td>/g)].map((m) =>
      m[1]!
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim(),
    );
    // The one at the hour's turn may show either next time.
    expect([before, after].map((next) => `On: daily at ${label} next ${when(next)}`)).to.include(
      cells[0],
    );
    expect(cells[1]).to.equal('Off');
    // The forms say it too, beside the box that turns the digest on.
    expect(decoded(formOf(page.text, 'add-channel'))).to.contain(
      `Collect non-critical alerts into a daily digest, sent at ${label}`,
    );

    // A critical alert goes at once, digest or not: while the channel is broken it waits.
    await hooks.markBroken(daily.id, 'The receiver answered 410: gone');
    const raised = await h.runtime.store.db.transaction((tx) =>
      raiseAlert(tx, {
        event: 'consentNeeded',
        partnerId,
        details: { reason: 'The consent was revoked.' },
      }),
    );
    // Only the email channel's was queued; its mail server refused one address of two.
    expect(raised).to.have.length(1);
    const refusedOne =
      'The mail server refused 1 of 2 recipients: gone@mailed.example (550 5.1.1 Mailbox unavailable).';
    await h.runtime.services.alerts.finish(raised[0]!, { sent: true, note: refusedOne });
    const history = await agent.get(base);
    const shown = [...history.text.matchAll(/data-testid="delivery">([^]*?)<\/li>/g)].map((m) =>
      decoded(m[1]!.replace(/<[^>]+>/g, '')),
    );
    expect(shown).to.have.members([
      'Slack · 93.184.215.14: Waiting for the channel to be fixed.',
      `Email · ${mailed.urlHost}: sent (1 attempt): ${refusedOne}`,
    ]);
    const confirm = await agent.get(`${base}/channels/${daily.id}/delete`);
    await agent
      .post(`${base}/channels/${daily.id}/delete`)
      .type('form')
      .send({ _csrf: csrfOf(confirm.text) });
    const next = await agent.get(base);
    expect(decoded(/data-testid="flash">([^<]*)</.exec(next.text)?.[1] ?? '')).to.equal(
      'Deleted the channel to 93.184.215.14. One alert message waiting for it was not sent.',
    );
    // The history test below starts with none.
    await h.runtime.store.db.delete(alerts).where(eq(alerts.partnerId, partnerId));
  });

  it('lists the alert history newest first, with each channel’s delivery status and the fixing page', async () => {
    const hooks = h.runtime.services.notificationChannels;
    const { channel: webhook } = await hooks.create(
      partnerId,
      { kind: 'webhook', url: publicHook },
      'test',
    );
    const { channel: slack } = await hooks.create(
      partnerId,
      { kind: 'slack', url: 'https://93.184.215.15/services/x', events: ['gdapEnded'] },
      'test',
    );
    const db = h.runtime.store.db;
    const [consent] = await db.transaction((tx) =>
      raiseAlert(tx, {
        event: 'consentNeeded',
        partnerId,
        details: { reason: 'The consent was revoked.' },
      }),
    );
    await h.runtime.services.alerts.finish(consent!, { sent: true });
    const gdapIds = await db.transaction((tx) =>
      raiseAlert(tx, { event: 'gdapEnded', partnerId, details: { customers: 3 } }),
    );
    const gdapRows = await db
      .select()
      .from(alertDeliveries)
      .where(inArray(alertDeliveries.id, gdapIds));
    const toSlack = gdapRows.find((d) => d.channelId === slack.id)!.id;
    const toWebhook = gdapRows.find((d) => d.channelId === webhook.id)!.id;
    await h.runtime.services.alerts.finish(toSlack, {
      failed: 'The receiver answered 404: channel_not_found',
    });
    await h.runtime.services.alerts.recordAttempt(toWebhook, 'The receiver answered 503: busy');
    await h.runtime.services.alerts.recordAttempt(toWebhook, 'The receiver answered 503: busy');
    await db.transaction((tx) => resolveAlert(tx, partnerId, 'consent-needed'));

    const agent = await loggedIn(h.app, people.partnerUser!.email);
    const page = await agent.get(`/partners/${partnerId}/alerts`);
    const rows = [...page.text.matchAll(/<tr data-testid="alert">([\s\S]*?)<\/tr>/g)].map(
      (m) => m[1]!,
    );
    expect(rows).to.have.length(2);
    const [gdap, revoked] = rows as [string, string];
    expect(gdap).to.contain('GDAP ended for 3 customers');
    expect(gdap).to.contain(`href="/partners/${partnerId}/access?show=expired"`);
    expect(gdap).to.contain('<td data-label="Severity" class="bad">critical</td>');
    expect(gdap).to.contain('<td data-label="Resolved" class="nowrap">not yet</td>');
    const deliveries = (row: string) =>
      [...row.matchAll(/<li data-testid="delivery">([\s\S]*?)<\/li>/g)].map((m) =>
        decoded(m[1]!.replace(/<[^>]+>/g, '')),
      );
    expect(deliveries(gdap)).to.have.members([
      'Generic webhook (signed JSON) · 93.184.215.14: pending (2 attempts so far; last: The receiver answered 503: busy)',
      'Slack · 93.184.215.15: failed after 1 attempt: The receiver answered 404: channel_not_found',
    ]);
    expect(revoked).to.contain('Partner Center consent must be granted again');
    expect(revoked).to.contain(`href="/partners/${partnerId}/delegated-admin"`);
    expect(revoked).to.match(
      /<td data-label="Resolved" class="nowrap">\d{4}-\d\d-\d\d \d\d:\d\d UTC/,
    );
    // The Slack channel takes GDAP only; the resolved message waits for its send.
    expect(deliveries(revoked)).to.deep.equal([
      'Generic webhook (signed JSON) · 93.184.215.14: sent (1 attempt)',
      'Generic webhook (signed JSON) · 93.184.215.14, resolved message: pending',
    ]);
    // The tab of another partner shows none of it.
    const other = await loggedIn(h.app, otherPeople.partnerUser!.email);
    expect((await other.get(`/partners/${otherPartnerId}/alerts`)).text).to.contain(
      'data-testid="no-alerts"',
    );
  });

  it("refuses another partner's tab and forms with a 404 page, and the operators' page with a 403, changing nothing", async () => {
    const { channel } = await h.runtime.services.notificationChannels.create(
      partnerId,
      { kind: 'slack', url: publicHook },
      'test',
    );
    await h.runtime.services.notificationChannels.markBroken(
      channel.id,
      'The receiver answered 410',
    );
    const before = await channels(partnerId);
    const stranger = await loggedIn(h.app, otherPeople.partnerUser!.email);
    const tab = await stranger.get(`/partners/${partnerId}/alerts`).accept('html');
    expect(tab.status).to.equal(404);
    expect(tab.headers['content-type']).to.match(/^text\/html/);
    expect(tab.text).to.contain('<h1>Page not found</h1>');
    expect(tab.text).not.to.contain('Alerted Partner');
    const _csrf = csrfOf((await stranger.get(`/partners/${otherPartnerId}/alerts`)).text);
    const attempts: [string, object][] = [
      ['/channels', { kind: 'slack', url: publicHook }],
      [`/channels/${channel.id}`, { events: 'gdapEnded' }],
      [`/channels/${channel.id}/test`, {}],
      [`/channels/${channel.id}/fixed`, {}],
      [`/channels/${channel.id}/delete`, {}],
    ];
    for (const [path, fields] of attempts) {
      const res = await stranger
        .post(`/partners/${partnerId}/alerts${path}`)
        .type('form')
        .send({ ...fields, _csrf });
      expect(res.status, path).to.equal(404);
      // Nor through their own partner's address with this partner's channel.
      if (path === '/channels') continue;
      const cross = await stranger
        .post(`/partners/${otherPartnerId}/alerts${path}`)
        .type('form')
        .send({ ...fields, _csrf });
      expect(cross.status, `cross ${path}`).to.equal(404);
    }
    expect(
      (await stranger.get(`/partners/${partnerId}/alerts/channels/${channel.id}/delete`)).status,
    ).to.equal(404);
    const operators = await stranger.get('/operator/alerts');
    expect(operators.status).to.equal(403);
    expect(operators.text).to.contain('<h1>Not allowed</h1>');
    const global = await stranger
      .post('/operator/alerts/channels')
      .type('form')
      .send({ kind: 'slack', url: publicHook, _csrf });
    expect(global.status).to.equal(403);
    expect(await channels(partnerId)).to.deep.equal(before);
    expect(await channels(otherPartnerId)).to.deep.equal([]);
    expect(await channels(null)).to.deep.equal([]);
  });

  it("lets operators add, edit and delete a global channel, and lists every partner's broken channel", async () => {
    const operator = await loggedIn(h.app, people.operator.email);
    const base = '/operator/alerts';
    const empty = await operator.get(base);
    expect(empty.text).to.contain('<h1>Alert channels</h1>');
    expect(empty.text).to.contain('data-testid="no-broken-channels"');

    const refused = await submit(operator, base, '/channels', {
      kind: 'slack',
      url: 'http://[::1]:9/hook',
      events: 'billingSyncFailed',
    });
    expect(refused.status).to.equal(400);
    expect(refused.said).to.equal('url: ::1 is a loopback address, which webhooks may not reach.');
    expect(inputValue(formOf(refused.text, 'add-channel'), 'url')).to.equal('http://[::1]:9/hook');
    const added = await submit(operator, base, '/channels', {
      kind: 'slack',
      url: publicHook,
      events: 'billingSyncFailed',
      notifyResolved: 'on',
    });
    expect(added.said).to.equal('Added the Slack channel to 93.184.215.14.');
    const [global] = await channels(null);
    expect(global).to.deep.include({
      partnerId: null,
      kind: 'slack',
      events: ['billingSyncFailed'],
    });
    expect(await channels(partnerId)).to.deep.equal([]);
    const edited = await submit(operator, base, `/channels/${global!.id}`, {
      events: ['billingSyncFailed', 'consentNeeded'],
    });
    expect(edited.said).to.equal('Saved the channel to 93.184.215.14.');
    expect((await channels(null))[0]!.events).to.deep.equal(['billingSyncFailed', 'consentNeeded']);

    // Broken channels of every partner, and global ones, most recently broken first.
    const { channel: partners } = await h.runtime.services.notificationChannels.create(
      otherPartnerId,
      { kind: 'teams', url: 'https://93.184.215.16/workflows/x' },
      'test',
    );
    await h.runtime.services.notificationChannels.markBroken(
      partners.id,
      'The receiver answered 404: not found',
    );
    await h.runtime.services.notificationChannels.markBroken(
      global!.id,
      'The receiver answered 410: channel_is_archived',
    );
    const listing = await operator.get(base);
    const broken = [
      ...listing.text.matchAll(/<tr data-testid="broken-channel">([\s\S]*?)<\/tr>/g),
    ].map((m) => decoded(m[1]!.replace(/<td[^>]*>/g, '|').replace(/<[^>]+>/g, '')));
    expect(broken).to.have.length(2);
    expect(broken[0]).to.match(
      /^\|Global \(operators\)\|Slack\|93\.184\.215\.14\|The receiver answered 410: channel_is_archived\|\d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
    );
    expect(broken[1]).to.match(
      /^\|Other Partner\|Microsoft Teams\|93\.184\.215\.16\|The receiver answered 404: not found\|/,
    );
    expect(listing.text).to.contain(
      `<a href="/partners/${otherPartnerId}/alerts">Other Partner</a>`,
    );
    const partnersPage = await operator.get('/operator');
    expect(partnersPage.text).to.contain(
      'data-testid="broken-channel-count">2 channels are broken.',
    );
    expect(partnersPage.text).to.contain('href="/operator/alerts"');
    // Operators see and fix any partner's channel from its tab.
    const fixed = await submit(
      operator,
      `/partners/${otherPartnerId}/alerts`,
      `/channels/${partners.id}/fixed`,
      {},
    );
    expect(fixed.said).to.match(/^Marked the channel to 93\.184\.215\.16 as fixed/);

    const confirm = await operator.get(`${base}/channels/${global!.id}/delete`);
    expect(confirm.text).to.contain('Delete the Slack channel sending to 93.184.215.14?');
    const deleted = await submit(operator, base, `/channels/${global!.id}/delete`, {});
    expect(deleted.said).to.equal('Deleted the channel to 93.184.215.14.');
    expect(await channels(null)).to.deep.equal([]);
    const actors = await h.runtime.store.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.subjectId, global!.id));
    expect(actors.map((a) => [a.action, a.actor, a.partnerId])).to.deep.equal([
      ['notification_channel.created', people.operator.email, null],
      ['notification_channel.changed', people.operator.email, null],
      ['notification_channel.deleted', people.operator.email, null],
    ]);

    // A global generic webhook's secret is shown once too.
    const hook = await submit(operator, base, '/channels', { kind: 'webhook', url: publicHook });
    const secret = /data-testid="signing-secret-value">([^<]+)</.exec(hook.text)?.[1];
    expect(secret).to.equal(
      h.runtime.services.notificationChannels.target((await channels(null))[0]!).signingSecret,
    );
    expect((await operator.get(base)).text).not.to.contain(secret);
  });
});
