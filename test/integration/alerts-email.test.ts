import { expect } from 'chai';
import { Job } from 'bullmq';
import { eq } from 'drizzle-orm';
import { startMailSink, type MailSink } from '../../emulator/mail-sink.js';
import { alertEmail } from '../../src/domain/email-messages.js';
import { jobIds } from '../../src/queue/catalog.js';
import { sendMail } from '../../src/services/email-sender.js';
import { alertDeliveries, alerts } from '../../src/store/schema.js';
import { testSecrets } from '../support/config.js';
import { scenarioWith } from '../support/emulator.js';
import { publicUrl, startHarness, type Harness } from '../support/harness.js';

const partnerTenant = 'aaaaaaaa-0000-4000-8000-000000000001';
/** The mail server's password in SMTP_URL: a secret that no message or log line may carry. */
const smtpPassword = 'smtp-Pa55-not-for-mail-9f2c';

interface ChannelView {
  id: string;
  kind: string;
  addresses?: string[];
  host?: string;
  broken: { reason: string } | null;
}

/**
 * A service whose SMTP_URL points at the sink (with a login), and a consented partner whose
 * initial run has ended. Access tokens live under MSAL's renewal margin, so every job redeems
 * the refresh token and meets a revocation at once.
 */
async function consentedPartner(sink: MailSink | undefined) {
  const h: Harness = await startHarness(
    {
      ...scenarioWith((p) =>
        p.tenantId === partnerTenant ? { ...p, customers: { generate: { seed: 5, count: 2 } } } : p,
      ),
      tokenLifetimes: { accessTokenSec: 299 },
    },
    sink
      ? {
          SMTP_URL: sink.smtpUrl.replace('smtp://', `smtp://alerts:${smtpPassword}@`),
          SMTP_FROM: 'License sync <alerts@license-sync.example>',
        }
      : {},
  );
  const partnerId = (
    (await h.api('post', '/partners', { name: 'Mailed Partner' })).body as { id: string }
  ).id;
  const granted = await h.grant(partnerId, 'admin@first.example');
  expect(granted.outcome.outcome).to.equal('completed');
  const status = await h.api('get', `/partners/${partnerId}/delegated-admin`);
  await h.runEnded((status.body as { run: { id: string } }).run.id);
  return { h, partnerId, consentId: String(granted.outcome.delegatedAdminId) };
}

/** The real state change: tokens revoked at Microsoft, then a refresh meets it. */
async function revokeAndRefresh(h: Harness, partnerId: string): Promise<void> {
  await h.emulator.http.post(`${h.emulator.url}/_emulator/users/admin@first.example/revoke`);
  const started = await h.api('post', `/partners/${partnerId}/refresh`);
  expect(started.status).to.equal(202);
  await h.finished('partners', jobIds.refreshPartner((started.body as { runId: string }).runId));
}

async function addEmailChannel(h: Harness, partnerId: string, addresses: string[]) {
  const res = await h.api('post', `/partners/${partnerId}/notification-channels`, {
    kind: 'email',
    addresses,
  });
  expect(res.status, res.text).to.equal(201);
  return res.body as ChannelView;
}

async function deliveriesOf(h: Harness, partnerId: string) {
  return h.runtime.store.db
    .select({
      id: alertDeliveries.id,
      kind: alertDeliveries.kind,
      status: alertDeliveries.status,
      attempts: alertDeliveries.attempts,
      lastError: alertDeliveries.lastError,
    })
    .from(alertDeliveries)
    .innerJoin(alerts, eq(alerts.id, alertDeliveries.alertId))
    .where(eq(alerts.partnerId, partnerId))
    .orderBy(alertDeliveries.queuedAt);
}

describe('alerts by email: sent over SMTP to a real server on loopback', function () {
  this.timeout(90_000);
  let h: Harness | undefined;
  let sink: MailSink | undefined;

  afterEach(async function () {
    await sink?.close();
    await h?.close(this.currentTest?.state === 'failed');
    h = sink = undefined;
  });

  it('tokens revoked: one consent-needed email to every address, once; a new consent sends one "resolved"; no secret in any message', async () => {
    sink = await startMailSink();
    const p = await consentedPartner(sink);
    h = p.h;
    const channel = await addEmailChannel(h, p.partnerId, [
      'it@mailed.example',
      ' Ops@Mailed.EXAMPLE ',
      'IT@mailed.example',
    ]);
    // Checked, domain lower-cased, each once; shown in clear.
    expect(channel.addresses).to.deep.equal(['it@mailed.example', 'Ops@mailed.example']);

    await revokeAndRefresh(h, p.partnerId);
    const [raised] = await sink.waitFor(1);
    expect(raised!.envelope.to).to.deep.equal(['it@mailed.example', 'Ops@mailed.example']);
    expect(raised!.from).to.equal('"License sync" <alerts@license-sync.example>');
    expect(raised!.subject).to.equal(
      '[license-sync] Critical: Partner Center consent must be granted again (Mailed Partner)',
    );
    const page = `${publicUrl}/partners/${p.partnerId}/delegated-admin`;
    expect(raised!.text).to.include('Grant Partner Center Consent.');
    expect(raised!.text).to.include(`Open: ${page}`);
    expect(raised!.text).to.include('Partner: Mailed Partner');
    expect(raised!.html).to.include(`<a href="${page}">`);
    expect(raised!.html).not.to.match(/<img|<script|<link/i);
    const [delivery] = await deliveriesOf(h, p.partnerId);
    const history = await h.api('get', `/partners/${p.partnerId}/alerts`);
    expect(history.body.alerts[0].deliveries[0].channel).to.deep.equal({
      kind: 'email',
      addresses: ['it@mailed.example', 'Ops@mailed.example'],
    });
    expect(raised!.messageId).to.equal(`<alert-delivery.${delivery!.id}@localhost>`);

    // The same change again adds nothing: the consent is no longer active, and the key is open.
    expect(await h.runtime.services.partners.needsReconsent(p.consentId, 'Again.')).to.deep.equal(
      [],
    );
    const reconciled = await h.runtime.queues.enqueue(
      'reconcile',
      {},
      { jobId: `reconcile-${Date.now()}` },
    );
    expect((await h.finished('maintenance', reconciled.id!)).alertDeliveries).to.equal(0);
    expect(sink.offered()).to.equal(1);
    expect((await deliveriesOf(h, p.partnerId)).map((d) => [d.kind, d.status])).to.deep.equal([
      ['raised', 'sent'],
    ]);

    // A sign-in in the second of the revocation is revoked too, as at Entra (tokensValidFrom).
    await h.emulator.http.post(`${h.emulator.url}/_emulator/clock`, { advanceSeconds: 1 });
    const again = await h.grant(p.partnerId, 'admin@first.example');
    expect(again.outcome.outcome).to.equal('completed');
    const [, resolved] = await sink.waitFor(2);
    expect(resolved!.subject).to.equal(
      '[license-sync] Resolved: Partner Center consent must be granted again (Mailed Partner)',
    );
    expect(resolved!.text).to.include('This no longer needs attention.');
    expect(resolved!.envelope.to).to.deep.equal(['it@mailed.example', 'Ops@mailed.example']);

    // The test-send goes the same way, answered at once.
    const tested = await h.api(
      'post',
      `/partners/${p.partnerId}/notification-channels/${channel.id}/test`,
    );
    expect(tested.body).to.deep.equal({
      ok: true,
      outcome: 'Delivered: the mail server accepted it.',
    });
    const [, , test] = await sink.waitFor(3);
    expect(test!.subject).to.equal(
      '[license-sync] Test message from license-sync (Mailed Partner)',
    );

    // The sink's page and JSON: newest first; the HTML part only inside a sandboxed frame.
    const listed = (await (await fetch(`${sink.pageUrl}messages.json`)).json()) as {
      messages: { subject: string; to: string[]; html: string }[];
    };
    expect(listed.messages.map((m) => m.subject.split(':')[0])).to.deep.equal([
      '[license-sync] Test message from license-sync (Mailed Partner)',
      '[license-sync] Resolved',
      '[license-sync] Critical',
    ]);
    const shown = await (await fetch(sink.pageUrl)).text();
    expect(shown).to.include('<h1>Mail received (3)</h1>');
    expect(shown).to.include('<iframe sandbox="" title="HTML part" srcdoc="&lt;!doctype html&gt;');
    expect(shown).not.to.include('<a href=');

    // No token the emulator issued, no password and no service secret in any message or log.
    const issued = Object.values(
      JSON.parse(
        (await h.emulator.http.get<string>(`${h.emulator.url}/_emulator/issued`)).data,
      ) as Record<string, string[]>,
    )
      .flat()
      .filter((t) => t.length >= 16);
    expect(issued).not.to.be.empty;
    const secrets = [
      ...issued,
      smtpPassword,
      testSecrets.ADMIN_API_TOKEN,
      testSecrets.MICROSOFT_CLIENT_SECRET,
      testSecrets.SESSION_SECRET,
      testSecrets.ENCRYPTION_KEYS.split(':')[1]!,
    ];
    // Decoded as well as raw: quoted-printable may fold a secret across a soft line break.
    const mail = sink
      .received()
      .flatMap((m) => [m.raw, m.subject, m.text, m.html ?? ''])
      .join('\n');
    const logs = h.logLines.join('');
    for (const secret of secrets) {
      expect(mail).not.to.include(secret);
      expect(logs).not.to.include(secret);
    }
  });

  it('a mail server answering 451 then accepting gets the alert on the retry, with the same Message-ID', async () => {
    sink = await startMailSink({
      answer: (n) => (n === 0 ? { code: 451, message: '4.3.0 Try again later' } : undefined),
    });
    const p = await consentedPartner(sink);
    h = p.h;
    await addEmailChannel(h, p.partnerId, ['it@mailed.example']);
    await revokeAndRefresh(h, p.partnerId);
    const [delivered] = await sink.waitFor(1);
    const [row] = await deliveriesOf(h, p.partnerId);
    expect(await h.finished('alerts', jobIds.deliverAlert(row!.id))).to.deep.equal({ sent: true });
    expect(sink.offered()).to.equal(2);
    // The refused message and the accepted one are the same message: a server recognises it.
    const [refused] = sink.refused();
    expect(refused!.messageId).to.equal(`<alert-delivery.${row!.id}@localhost>`);
    expect(delivered!.messageId).to.equal(refused!.messageId);
    expect(delivered!.subject).to.equal(refused!.subject);
    const [after] = await deliveriesOf(h, p.partnerId);
    expect(after).to.include({ status: 'sent', attempts: 2, lastError: null });
  });

  it('a mail server answering 550 fails the delivery at once and marks the channel broken with its reply', async () => {
    sink = await startMailSink({
      answer: () => ({ code: 550, message: '5.1.1 Mailbox unavailable' }),
    });
    const p = await consentedPartner(sink);
    h = p.h;
    const channel = await addEmailChannel(h, p.partnerId, ['gone@mailed.example']);
    await revokeAndRefresh(h, p.partnerId);
    const [row] = await deliveriesOf(h, p.partnerId);
    const result = await h.finished('alerts', jobIds.deliverAlert(row!.id));
    expect(result).to.deep.include({ channelBroken: true });
    const job = await Job.fromId(h.runtime.queues.get('alerts'), jobIds.deliverAlert(row!.id));
    // One attempt, completed: no retry follows.
    expect(await job!.getState()).to.equal('completed');
    expect(job!.attemptsMade).to.equal(1);
    expect(sink.offered()).to.equal(1);
    const reply = 'The mail server answered 550 5.1.1 Mailbox unavailable';
    // The test-send says the same at once.
    const tested = await h.api(
      'post',
      `/partners/${p.partnerId}/notification-channels/${channel.id}/test`,
    );
    expect(tested.body).to.deep.equal({ ok: false, outcome: reply });
    expect((await deliveriesOf(h, p.partnerId))[0]).to.include({
      status: 'failed',
      attempts: 1,
      lastError: reply,
    });
    const base = `/partners/${p.partnerId}/notification-channels`;
    const [shown] = ((await h.api('get', base)).body as { channels: ChannelView[] }).channels;
    expect(shown!.broken!.reason).to.equal(reply);
    // New addresses clear the mark, as a new URL does for a webhook.
    const fixed = await h.api('patch', `${base}/${channel.id}`, {
      addresses: ['it@mailed.example'],
    });
    expect(fixed.body).to.deep.include({ broken: null, addresses: ['it@mailed.example'] });
  });

  it('without SMTP_URL an email channel is refused with a sentence, and an existing one fails with the reason', async () => {
    const p = await consentedPartner(undefined);
    h = p.h;
    const base = `/partners/${p.partnerId}/notification-channels`;
    const refused = await h.api('post', base, { kind: 'email', addresses: ['it@mailed.example'] });
    expect(refused.status).to.equal(400);
    expect(refused.body.error.message).to.equal(
      'Email channels cannot be added. Email is not configured: set SMTP_URL (and SMTP_FROM) to the mail server and restart.',
    );
    // Bad addresses, too many, or a URL: a 400 naming the field, and nothing saved.
    const bad = await h.api('post', base, { kind: 'email', addresses: ['not-an-address'] });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.message).to.match(
      /^Invalid request: addresses\.0: expected an email address/,
    );
    const many = Array.from({ length: 21 }, (_, i) => `person${i}@mailed.example`);
    expect(
      (await h.api('post', base, { kind: 'email', addresses: many })).body.error.message,
    ).to.equal('Invalid request: addresses: expected at most 20 addresses.');
    const withUrl = await h.api('post', base, {
      kind: 'email',
      addresses: ['it@mailed.example'],
      url: 'https://example.com',
    });
    expect(withUrl.status).to.equal(400);
    expect(((await h.api('get', base)).body as { channels: unknown[] }).channels).to.be.empty;

    // A channel made while SMTP_URL was set, read by a service without it.
    await h.runtime.services.notificationChannels.create(
      p.partnerId,
      { kind: 'email', url: 'mailto:it@mailed.example' },
      'test',
    );
    await revokeAndRefresh(h, p.partnerId);
    const [row] = await deliveriesOf(h, p.partnerId);
    expect(await h.finished('alerts', jobIds.deliverAlert(row!.id))).to.deep.equal({
      failed:
        'Email is not configured: set SMTP_URL (and SMTP_FROM) to the mail server and restart.',
      channelBroken: false,
    });
    const [shown] = ((await h.api('get', base)).body as { channels: ChannelView[] }).channels;
    expect(shown).to.deep.include({ addresses: ['it@mailed.example'], broken: null });
  });
});

describe('the SMTP sender: what each answer of a real server comes to', function () {
  this.timeout(30_000);
  let sink: MailSink | undefined;
  afterEach(async () => {
    await sink?.close();
    sink = undefined;
  });

  const mail = alertEmail(
    {
      deliveryId: 'd1',
      kind: 'raised',
      alertId: 'a1',
      partnerId: 'p1',
      event: 'consentNeeded',
      key: 'consent-needed',
      severity: 'critical',
      title: 'Partner Center consent must be granted again',
      summary: 'The consent was revoked.',
      url: `${publicUrl}/partners/p1/delegated-admin`,
      raisedAt: '2026-12-01T10:00:00.000Z',
      resolvedAt: null,
    },
    { partnerName: 'Mailed Partner', messageIdDomain: 'localhost' },
  );
  const send = (url: string) =>
    sendMail({ url, from: 'alerts@license-sync.example' }, ['it@mailed.example'], mail, {
      timeoutMs: 5_000,
    });

  it('4xx and 503 may pass later, 5xx never; a refused login and no server are retried', async () => {
    const replies = [
      { code: 421, message: '4.7.0 Try again later' },
      { code: 452, message: '4.3.1 Insufficient system storage' },
      { code: 503, message: '5.5.1 Bad sequence of commands' },
      { code: 550, message: '5.1.1 Mailbox unavailable' },
      { code: 554, message: '5.7.1 Message rejected as spam' },
    ];
    sink = await startMailSink({ answer: (n) => replies[n] });
    const outcomes = [];
    for (let i = 0; i < replies.length; i++) outcomes.push(await send(sink.smtpUrl));
    expect(outcomes.map((o) => (o.sent ? 'sent' : o.permanent))).to.deep.equal([
      false,
      false,
      false,
      true,
      true,
    ]);
    expect(outcomes[3]).to.deep.include({
      message: 'The mail server answered 550 5.1.1 Mailbox unavailable',
    });
    expect(await send(sink.smtpUrl)).to.deep.equal({ sent: true, rejected: [] });
    await sink.close();

    sink = await startMailSink({ refuseLogin: true });
    const refused = await send(sink.smtpUrl.replace('smtp://', `smtp://alerts:${smtpPassword}@`));
    expect(refused).to.deep.include({ sent: false, permanent: false });
    expect(refused.sent ? '' : refused.message).to.match(
      /^The mail server refused the service's SMTP login \(check SMTP_URL\): .*535/,
    );
    expect(JSON.stringify(refused)).not.to.include(smtpPassword);
    expect(sink.offered()).to.equal(0);

    const port = Number(new URL(sink.smtpUrl).port);
    await sink.close();
    sink = undefined;
    const unreachable = await send(`smtp://127.0.0.1:${port}`);
    expect(unreachable).to.deep.include({ sent: false, permanent: false });
    expect(unreachable.sent ? '' : unreachable.message).to.match(
      /^No answer from the mail server: .*ECONNREFUSED/,
    );
  });
});
