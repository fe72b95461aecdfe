import type { Services } from '../dependencies.js';
import { describeAlert } from '../domain/alert-events.js';
import {
  digestBody,
  digestEmail,
  type AlertDigest,
  type DigestEntry,
} from '../domain/digest-messages.js';
import { latestDigestTime } from '../domain/digest-schedule.js';
import { mailtoAddresses } from '../domain/email-messages.js';
import type { JobContext } from '../queue/worker-pool.js';
import type { DigestItem, DigestOutcome, NotificationChannel } from '../store/alerts.js';
import {
  headersFor,
  mailVerdictOf,
  noSmtpReason,
  sendTimeoutMs,
  verdictOf,
  webhookPolicy,
  type SendConfig,
  type SendVerdict,
} from './alert-delivery.js';
import { sendMail } from './email-sender.js';
import { postWebhook } from './webhook-sender.js';

/** The digest's entries: one per alert, its raised and resolved messages merged. */
async function entriesOf(
  deps: Pick<Services, 'partners'> & { config: SendConfig },
  items: DigestItem[],
): Promise<DigestEntry[]> {
  const names = new Map<string, string | null>();
  const entries = new Map<string, DigestEntry>();
  for (const { delivery, alert } of items) {
    if (!names.has(alert.partnerId))
      names.set(alert.partnerId, (await deps.partners.get(alert.partnerId))?.name ?? null);
    const text = describeAlert(alert.event, alert.partnerId, alert.details);
    const entry = entries.get(alert.id) ?? {
      alertId: alert.id,
      partnerId: alert.partnerId,
      partnerName: names.get(alert.partnerId) ?? null,
      event: alert.event,
      key: alert.key,
      severity: alert.severity,
      title: text.title,
      url: new URL(text.path, deps.config.publicUrl).toString(),
      raised: false,
      raisedAt: alert.raisedAt.toISOString(),
      resolvedAt: alert.resolvedAt?.toISOString() ?? null,
    };
    if (delivery.kind === 'raised') entry.raised = true;
    entries.set(alert.id, entry);
  }
  return [...entries.values()];
}

async function sendDigest(
  config: SendConfig,
  deps: Pick<Services, 'notificationChannels'>,
  channel: NotificationChannel,
  digest: AlertDigest,
  signal?: AbortSignal,
): Promise<SendVerdict> {
  const target = deps.notificationChannels.target(channel);
  if (target.kind === 'email') {
    if (!config.smtp.url) return { verdict: 'failed', error: noSmtpReason };
    const mail = digestEmail(digest, { messageIdDomain: new URL(config.publicUrl).hostname });
    const to = mailtoAddresses(target.url);
    const outcome = await sendMail({ url: config.smtp.url, from: config.smtp.from }, to, mail, {
      timeoutMs: sendTimeoutMs,
      ...(signal ? { signal } : {}),
    });
    return mailVerdictOf(outcome, to.length);
  }
  const body = digestBody(target.kind, digest);
  const outcome = await postWebhook(target.url, body, headersFor(target, digest.digestId, body), {
    ...webhookPolicy(config),
    timeoutMs: sendTimeoutMs,
    ...(signal ? { signal } : {}),
  });
  return verdictOf(outcome);
}

export interface DigestSummary {
  /** Channels sent their digest. */
  sent: number;
  /** Channels whose digest failed for good (its deliveries failed with the reason). */
  failed: number;
  /** Channels to try again: their deliveries stay pending. */
  retry: number;
}

/**
 * Sends each digest channel one message with what waits for it, and marks the deliveries it
 * covers with the outcome in the same transaction. A channel sent is not sent again: its
 * deliveries are no longer pending. Throws after trying every channel when one is to be
 * retried, so the queue's backoff applies to those alone.
 */
export async function sendAlertDigests(
  deps: Pick<Services, 'alerts' | 'notificationChannels' | 'partners'> & {
    config: SendConfig & { queues: { alertDigestHourUtc: number } };
  },
  ctx: Pick<JobContext, 'log' | 'finalAttempt'> & { signal?: AbortSignal },
  now = new Date(),
): Promise<DigestSummary> {
  const { day } = latestDigestTime(now, deps.config.queues.alertDigestHourUtc);
  const summary: DigestSummary = { sent: 0, failed: 0, retry: 0 };
  const errors: string[] = [];
  for (const channel of await deps.alerts.digestChannels()) {
    const channelId = channel.id;
    const verdict = await deps.alerts.withDigest(channelId, async (items) => {
      const result: SendVerdict = await sendDigest(
        deps.config,
        deps,
        channel,
        { digestId: `digest-${channelId}-${day}`, day, entries: await entriesOf(deps, items) },
        ctx.signal,
      );
      const outcome: DigestOutcome =
        result.verdict === 'sent'
          ? { sent: true, note: result.note ?? null }
          : result.verdict === 'retry'
            ? { retry: result.error }
            : { failed: result.error };
      return { result, outcome };
    });
    if (!verdict) continue;
    if (verdict.verdict === 'sent') summary.sent += 1;
    else if (verdict.verdict === 'retry') {
      summary.retry += 1;
      errors.push(verdict.error);
    } else {
      summary.failed += 1;
      if (verdict.verdict === 'refused') {
        await deps.notificationChannels.markBroken(channelId, verdict.error);
        ctx.log.warn({ channelId }, 'alert digest refused: channel marked broken');
      }
    }
  }
  // On the last attempt the deliveries stay pending: the next day's digest carries them.
  if (errors.length > 0 && !ctx.finalAttempt) throw new Error(errors.join('; '));
  return summary;
}
