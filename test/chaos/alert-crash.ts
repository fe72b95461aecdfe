import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startMailSink, type MailSink } from '../../emulator/mail-sink.js';
import { poll, within, type ChaosStack } from './stack.js';

// Scenario 8: an alert survives a crash. The partner's tokens are revoked at Microsoft, a
// refresh meets the refusal and raises consent-needed for three channels (a signed webhook, a
// Teams channel whose URL carries its secret in the path, an email channel through the mail
// sink). The receiver holds the webhook's first request; meanwhile the worker is killed with
// kill -9 and every key of the deployment's prefix is deleted, so the killed send and any job
// still queued are gone. A new worker starts; the reconciler alone must bring the messages.

const prefix = '{chaos}';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the alert scenario delivered and the secrets it used, for the secret scan. */
export const deliveredPayloads = {
  requests: [] as Received[],
  mails: [] as ReturnType<MailSink['received']>,
  secrets: new Map<string, string>(),
};

/** A receiver on loopback that records every request and holds the first one to `holdPath`. */
async function holdingReceiver(holdPath: string) {
  const requests: Received[] = [];
  let held: ServerResponse | undefined;
  let arrived: () => void = () => {};
  const firstArrived = new Promise<void>((resolve) => (arrived = resolve));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const first = path === holdPath && !requests.some((r) => r.path === holdPath);
      requests.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (first) {
        held = res;
        arrived();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    requests,
    firstArrived,
    /** Answers the held request (its client is gone by then). */
    release: () => held?.writeHead(200).end('ok'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Deletes every key of the deployment's prefix, nothing else. */
async function deletePrefixKeys(stack: ChaosStack): Promise<number> {
  const redis = stack.redisClient();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

async function outbox(stack: ChaosStack, partnerId: string) {
  const { rows } = await stack.db.query<{ id: string; kind: string; status: string }>(
    `select d.id, d.kind, d.status from alert_deliveries d join alerts a on a.id = d.alert_id
      where a.partner_id = $1 and a.key = 'consent-needed' order by d.queued_at`,
    [partnerId],
  );
  return rows;
}

export async function alertCrash(
  stack: ChaosStack,
  partnerId: string,
  /** Grants consent again; the attempt's status (with the callback's answer unless 303). */
  reconsent: () => Promise<string>,
): Promise<{ did: string; expected: string; seen: string; ok: boolean }> {
  const receiver = await holdingReceiver('/hook');
  const sink = await startMailSink();
  try {
    const smtpPassword = `smtp-pw-${randomBytes(12).toString('hex')}`;
    deliveredPayloads.secrets.set(smtpPassword, 'SMTP password');
    await stack.restartServices({
      ALLOW_PRIVATE_WEBHOOKS: 'true',
      SMTP_URL: sink.smtpUrl.replace('smtp://', `smtp://alerts:${smtpPassword}@`),
      SMTP_FROM: 'License sync <alerts@license-sync.example>',
    });
    const base = `/partners/${partnerId}/notification-channels`;
    const hook = await stack.api_('POST', base, { kind: 'webhook', url: receiver.url('/hook') });
    const teamsUrl = receiver.url(`/teams/${randomBytes(16).toString('hex')}`);
    const teamsPath = new URL(teamsUrl).pathname;
    const teams = await stack.api_('POST', base, { kind: 'teams', url: teamsUrl });
    const email = await stack.api_('POST', base, {
      kind: 'email',
      addresses: ['it@chaos.example', 'ops@chaos.example'],
    });
    for (const [name, res] of [
      ['webhook', hook],
      ['teams', teams],
      ['email', email],
    ] as const) {
      if (res.status !== 201) throw new Error(`adding the ${name} channel answered ${res.status}`);
    }
    const signingSecret = (hook.body as { signingSecret: string }).signingSecret;
    deliveredPayloads.secrets.set(signingSecret, 'signing secret');
    deliveredPayloads.secrets.set(teamsUrl, 'Teams URL');
    deliveredPayloads.secrets.set(teamsPath.slice('/teams/'.length), 'Teams URL secret');

    // The state change: tokens revoked at Microsoft, a refresh meets the refusal.
    await stack.emulator.http.post(
      `${stack.emulator.url}/_emulator/users/admin@first.example/revoke`,
    );
    const started = await stack.api_('POST', `/partners/${partnerId}/refresh`);
    if (started.status !== 202) throw new Error(`sync now answered ${started.status}`);
    const t0 = Date.now();
    await within(120_000, 'the webhook to receive the raised alert', receiver.firstArrived);
    const raisedAfter = Date.now() - t0;
    // Mid-send: the worker killed, then the prefix's keys deleted before anything restarts.
    const worker = stack.workers.at(-1)!;
    worker.child.kill('SIGKILL');
    await within(30_000, 'the killed worker to exit', worker.exited);
    const pendingAtKill = (await outbox(stack, partnerId)).filter(
      (d) => d.status === 'pending',
    ).length;
    const keysDeleted = await deletePrefixKeys(stack);
    receiver.release();
    const restartedAt = Date.now();
    await stack.startWorker();
    let rows = await outbox(stack, partnerId);
    const sentIn = await poll(120_000, 'the raised alert to be sent on every channel', async () => {
      rows = await outbox(stack, partnerId);
      return rows.length === 3 && rows.every((d) => d.status === 'sent')
        ? Math.round((Date.now() - restartedAt) / 1000)
        : undefined;
    }).catch(() => undefined);
    const raisedOnly = rows.map((d) => `${d.kind} ${d.status}`).join(', ');

    // A new consent resolves it: one "resolved" message per channel.
    await stack.emulator.http.post(`${stack.emulator.url}/_emulator/clock`, {
      advanceSeconds: 1,
    });
    const consent = await reconsent();
    const resolvedIn = await poll(120_000, 'the resolved messages to be sent', async () => {
      rows = await outbox(stack, partnerId);
      return rows.length === 6 && rows.every((d) => d.status === 'sent') ? true : undefined;
    }).catch(() => false);
    // Only consent-needed's messages: other alerts the refusal raises go to the same channels.
    const title = 'Partner Center consent must be granted again';
    const hooks = receiver.requests.filter(
      (r) => r.path === '/hook' && r.body.includes('"key":"consent-needed"'),
    );
    const hookBodies = hooks.map((r) => JSON.parse(r.body) as { id: string; type: string });
    const hookRaised = hookBodies.filter((b) => b.type === 'alert.raised');
    const hookResolved = hookBodies.filter((b) => b.type === 'alert.resolved');
    const hookIds = new Set(
      hooks
        .filter((_, i) => hookBodies[i]!.type === 'alert.raised')
        .map((r) => String(r.headers['license-sync-delivery'])),
    );
    const idsMatchBody = hooks.every(
      (r, i) => r.headers['license-sync-delivery'] === hookBodies[i]!.id,
    );
    const teamsMessages = receiver.requests.filter(
      (r) => r.path === teamsPath && r.body.includes(title),
    );
    const teamsResolved = teamsMessages.filter((r) => r.body.includes('Resolved: ')).length;
    const teamsRaised = teamsMessages.length - teamsResolved;
    const mails = sink.received().filter((m) => m.subject.includes(title));
    const mailResolved = mails.filter((m) => m.subject.includes('Resolved:')).length;
    const mailRaised = mails.length - mailResolved;
    const mailIds = new Set(
      mails.filter((m) => !m.subject.includes('Resolved:')).map((m) => m.messageId),
    );
    const ids = new Map(rows.map((d) => [d.id, d.kind]));
    const hookIdKnown = [...hookIds].every((id) => ids.get(id) === 'raised');
    deliveredPayloads.requests.push(...receiver.requests);
    deliveredPayloads.mails.push(...sink.received());

    const atMostOnceMore = (n: number) => n >= 1 && n <= 2;
    return {
      did: `a signed webhook, a Teams channel (secret in its URL's path) and an email channel (2 addresses, through the mail sink with an SMTP password); tokens revoked at Microsoft and a refresh; the receiver held the webhook's first request (${Math.round(raisedAfter / 1000)} s after the refresh), the worker killed with kill -9 meanwhile (${pendingAtKill} of 3 outbox rows pending then), ${keysDeleted} Redis keys of the deployment's prefix deleted, the held request answered 200 to a gone client, a new worker started; then a new consent`,
      expected:
        "each channel gets the raised alert at least once: a second copy only for a send the crash cut short, repeating its delivery id (the webhook's License-Sync-Delivery header and body id, the email's Message-ID) so a receiver drops it; every outbox row ends sent; one resolved message per channel after the new consent",
      seen: `${sentIn === undefined ? `raised NOT all sent within 120 s (${raisedOnly})` : `raised sent on every channel ${sentIn} s after the restart`}; webhook ${hookRaised.length} raised (${hookIds.size} delivery id${hookIds.size === 1 ? '' : 's'}, ${idsMatchBody ? 'header = body id' : 'HEADER ≠ BODY ID'}), Teams ${teamsRaised}, email ${mailRaised} (${mailIds.size} Message-ID${mailIds.size === 1 ? '' : 's'}); new consent ${consent}; resolved: webhook ${hookResolved.length}, Teams ${teamsResolved}, email ${mailResolved}; outbox ${rows.length} rows: ${rows.filter((d) => d.status === 'sent').length} sent`,
      ok:
        sentIn !== undefined &&
        resolvedIn === true &&
        atMostOnceMore(hookRaised.length) &&
        hookIds.size === 1 &&
        hookIdKnown &&
        idsMatchBody &&
        teamsRaised === 1 &&
        atMostOnceMore(mailRaised) &&
        mailIds.size === 1 &&
        hookResolved.length === 1 &&
        teamsResolved === 1 &&
        mailResolved === 1 &&
        consent === 'completed',
    };
  } finally {
    await receiver.close();
    await sink.close();
  }
}
