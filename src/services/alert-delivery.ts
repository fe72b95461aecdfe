import type { Config } from '../../config/index.js';

import type { Services } from '../dependencies.js';
import { describeAlert } from '../domain/alert-events.js';
import { refusedRecipientsSentence } from '../domain/delivery-states.js';
import { alertEmail, mailtoAddresses } from '../domain/email-messages.js';
import {
  messageBody,
  signatureHeaders,
  webhookSignature,
  type AlertMessage,
} from '../domain/webhook-messages.js';
import { parseRetryAfter } from '../http-client.js';
import { jobIds } from '../queue/catalog.js';
import type { JobQueues } from '../queue/job-queues.js';
import type { JobContext } from '../queue/worker-pool.js';
import type { ChannelTarget } from '../store/notification-channels.js';
import { sendMail, type MailOutcome } from './email-sender.js';
import { postWebhook, type PostOutcome, type WebhookPolicy } from './webhook-sender.js';

/** The configuration sending reads: the URL rules, the mail server, the origin links point at. */
export type SendConfig = Pick<Config, 'nodeEnv' | 'allowPrivateWebhooks' | 'publicUrl' | 'smtp'>;

/** Why email cannot be sent: no mail server is configured. */
export const noSmtpReason =
  'Email is not configured: set SMTP_URL (and SMTP_FROM) to the mail server and restart.';

/** A receiver that does not answer within this many ms is retried. Default: 10 s */
export const sendTimeoutMs = 10_000;
/** The longest Retry-After honoured; a longer one waits this long. Default: 1 hour */
const maxRetryAfterMs = 3_600_000;

/** Which webhook URLs the service may reach, from its configuration. */
export const webhookPolicy = (config: Pick<Config, 'nodeEnv' | 'allowPrivateWebhooks'>) =>
  ({
    requireHttps: config.nodeEnv === 'production',
    allowPrivate: config.allowPrivateWebhooks,
  }) satisfies WebhookPolicy;

/**
 * Queues one job per delivery, after the transaction that wrote them committed. A failure here
 * loses nothing: the rows are pending, and the reconciler queues them again.
 */
export async function enqueueAlertDeliveries(
  queues: JobQueues,
  deliveryIds: readonly string[],
): Promise<void> {
  for (const deliveryId of deliveryIds) {
    await queues
      .enqueue('deliverAlert', { deliveryId }, { jobId: jobIds.deliverAlert(deliveryId) })
      .catch(() => undefined);
  }
}

/**
 * What one send came to, in the words stored on the delivery and the channel: refused breaks
 * the channel, failed ends the delivery alone (the service's setup, not the channel, is wrong).
 */
export type SendVerdict =
  /** `note`: what the history keeps of a send that reached some recipients only. */
  | { verdict: 'sent'; note?: string }
  | { verdict: 'retry'; error: string; afterMs?: number }
  | { verdict: 'refused'; error: string }
  | { verdict: 'failed'; error: string };

/** 2xx sent; 429, 5xx and no answer retried; any other answer refused for good. */
export function verdictOf(outcome: PostOutcome): SendVerdict {
  if (!outcome.answered) {
    return outcome.refused
      ? { verdict: 'refused', error: outcome.message }
      : { verdict: 'retry', error: `No answer: ${outcome.message}` };
  }
  const said = `The receiver answered ${outcome.status}${outcome.text ? `: ${outcome.text}` : ''}`;
  if (outcome.status >= 200 && outcome.status < 300) return { verdict: 'sent' };
  if (outcome.status === 429) {
    const afterMs = parseRetryAfter(outcome.retryAfter);
    return {
      verdict: 'retry',
      error: said,
      ...(afterMs !== undefined ? { afterMs: Math.min(afterMs, maxRetryAfterMs) } : {}),
    };
  }
  if (outcome.status >= 500) return { verdict: 'retry', error: said };
  return { verdict: 'refused', error: said };
}

/** Signs a generic webhook's body; the chat formats carry their credential in the URL. */
export function headersFor(
  target: ChannelTarget,
  deliveryId: string,
  body: string,
): Record<string, string> {
  if (target.kind !== 'webhook' || !target.signingSecret) return {};
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    [signatureHeaders.timestamp]: String(timestamp),
    [signatureHeaders.signature]: webhookSignature(target.signingSecret, timestamp, body),
    [signatureHeaders.delivery]: deliveryId,
  };
}

/**
 * Sent (noting the recipients refused while others were accepted; sending again would repeat it
 * to those), 4xx and no answer retried, 5xx (every recipient refused too) refused.
 */
export function mailVerdictOf(outcome: MailOutcome, recipients: number): SendVerdict {
  if (outcome.sent) {
    return outcome.rejected.length === 0
      ? { verdict: 'sent' }
      : { verdict: 'sent', note: refusedRecipientsSentence(outcome.rejected, recipients) };
  }
  return outcome.permanent
    ? { verdict: 'refused', error: outcome.message }
    : { verdict: 'retry', error: outcome.message };
}

async function sendEmail(
  config: SendConfig,
  target: ChannelTarget,
  message: AlertMessage,
  partnerName: string | null,
  signal?: AbortSignal,
): Promise<SendVerdict> {
  if (!config.smtp.url) return { verdict: 'failed', error: noSmtpReason };
  const mail = alertEmail(message, {
    partnerName,
    messageIdDomain: new URL(config.publicUrl).hostname,
  });
  const to = mailtoAddresses(target.url);
  const outcome = await sendMail({ url: config.smtp.url, from: config.smtp.from }, to, mail, {
    timeoutMs: sendTimeoutMs,
    ...(signal ? { signal } : {}),
  });
  return mailVerdictOf(outcome, to.length);
}

async function send(
  config: SendConfig,
  target: ChannelTarget,
  message: AlertMessage,
  partnerName: string | null,
  signal?: AbortSignal,
): Promise<SendVerdict> {
  if (target.kind === 'email') return sendEmail(config, target, message, partnerName, signal);
  const body = messageBody(target.kind, message);
  const outcome = await postWebhook(
    target.url,
    body,
    headersFor(target, message.deliveryId, body),
    {
      ...webhookPolicy(config),
      timeoutMs: sendTimeoutMs,
      ...(signal ? { signal } : {}),
    },
  );
  return verdictOf(outcome);
}

export type DeliveryResult =
  { skipped: string } | { sent: true; note?: string } | { failed: string; channelBroken: boolean };

/**
 * Sends one outbox row: nothing when it is no longer pending (a repeat job) or while its
 * channel is broken (it waits for the fix); otherwise posts it and records the outcome.
 * Retryable failures throw (the queue's backoff applies) or wait out Retry-After; a refusal
 * fails the delivery and marks the channel broken, which holds the channel's other deliveries.
 */
export async function deliverAlert(
  deps: Pick<Services, 'alerts' | 'notificationChannels' | 'partners'> & { config: SendConfig },
  ctx: JobContext,
  deliveryId: string,
): Promise<DeliveryResult> {
  const row = await deps.alerts.delivery(deliveryId);
  if (!row || row.delivery.status !== 'pending')
    return { skipped: row?.delivery.status ?? 'missing' };
  const { delivery, alert, channel } = row;
  // The daily digest sends it (src/services/alert-digest.ts); it stays pending until then.
  if (channel.digest && alert.severity !== 'critical') return { skipped: 'digest' };
  // Held: it stays pending, and the channel's fix queues it again (src/services/channel-changes.ts).
  if (channel.brokenAt) return { skipped: 'channel broken' };
  const text = describeAlert(alert.event, alert.partnerId, alert.details);
  const message: AlertMessage = {
    deliveryId,
    kind: delivery.kind,
    alertId: alert.id,
    partnerId: alert.partnerId,
    event: alert.event,
    key: alert.key,
    severity: alert.severity,
    title: text.title,
    summary: text.summary,
    url: new URL(text.path, deps.config.publicUrl).toString(),
    raisedAt: alert.raisedAt.toISOString(),
    resolvedAt: alert.resolvedAt?.toISOString() ?? null,
  };
  const partnerName = (await deps.partners.get(alert.partnerId))?.name ?? null;
  const result = await send(
    deps.config,
    deps.notificationChannels.target(channel),
    message,
    partnerName,
    ctx.signal,
  );
  if (result.verdict === 'sent') {
    await deps.alerts.finish(deliveryId, { sent: true, note: result.note ?? null });
    return result.note ? { sent: true, note: result.note } : { sent: true };
  }
  if (result.verdict === 'refused') {
    await deps.alerts.finish(deliveryId, { failed: result.error });
    await deps.notificationChannels.markBroken(channel.id, result.error);
    ctx.log.warn({ deliveryId, channelId: channel.id }, 'alert refused: channel marked broken');
    return { failed: result.error, channelBroken: true };
  }
  if (result.verdict === 'failed') {
    await deps.alerts.finish(deliveryId, { failed: result.error });
    return { failed: result.error, channelBroken: false };
  }
  if (ctx.finalAttempt && result.afterMs === undefined) {
    await deps.alerts.finish(deliveryId, { failed: result.error });
    return { failed: result.error, channelBroken: false };
  }
  await deps.alerts.recordAttempt(deliveryId, result.error);
  if (result.afterMs !== undefined) return ctx.retryAfter(result.afterMs);
  throw new Error(result.error);
}

/** A channel's test-send: the same formats and checks, answered at once, nothing stored. */
export async function testSend(
  deps: Pick<Services, 'notificationChannels' | 'partners'> & { config: SendConfig },
  channelId: string,
  partnerId: string | null,
): Promise<{ ok: boolean; outcome: string }> {
  const channel = await deps.notificationChannels.get(partnerId, channelId);
  if (!channel) return { ok: false, outcome: 'No such channel.' };
  const now = new Date().toISOString();
  const partnerName = partnerId ? ((await deps.partners.get(partnerId))?.name ?? null) : null;
  const target = deps.notificationChannels.target(channel);
  const result = await send(
    deps.config,
    target,
    {
      deliveryId: `test-${Date.now()}`,
      kind: 'test',
      alertId: 'test',
      partnerId,
      event: 'test',
      key: 'test',
      severity: 'info',
      title: 'Test message from license-sync',
      summary: 'This channel receives license-sync alerts.',
      url: new URL(
        partnerId ? `/partners/${partnerId}/delegated-admin` : '/operator',
        deps.config.publicUrl,
      ).toString(),
      raisedAt: now,
      resolvedAt: null,
    },
    partnerName,
  );
  if (result.verdict === 'sent')
    return {
      ok: true,
      outcome:
        target.kind === 'email'
          ? `Delivered: the mail server accepted it.${result.note ? ` ${result.note}` : ''}`
          : 'Delivered: the receiver answered 2xx.',
    };
  return { ok: false, outcome: result.error };
}
