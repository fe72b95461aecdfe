import { createHmac } from 'node:crypto';
import type { AlertSeverity } from './alert-events.js';

/** The channels that POST to a URL: generic signed JSON, Teams and Slack. */
export const webhookKinds = ['webhook', 'teams', 'slack'] as const;
type WebhookKind = (typeof webhookKinds)[number];
/** Where alerts can be sent: a webhook of some kind, or email (src/domain/email-messages.ts). */
export type ChannelKind = WebhookKind | 'email';

/** raised: the alert opened; resolved: it closed; test: the channel's test-send. */
type MessageKind = 'raised' | 'resolved' | 'test';

/** What every message says, whatever the channel's format. No secret is ever part of it. */
export interface AlertMessage {
  /** The delivery's id: the same on every retry of one message (receivers deduplicate by it). */
  deliveryId: string;
  kind: MessageKind;
  alertId: string;
  partnerId: string | null;
  event: string;
  key: string;
  severity: AlertSeverity;
  title: string;
  summary: string;
  /** The page that fixes it, absolute. */
  url: string;
  raisedAt: string;
  resolvedAt: string | null;
}

/** The headers of a generic webhook's signature (docs/alerts.md). */
export const signatureHeaders = {
  timestamp: 'License-Sync-Timestamp',
  signature: 'License-Sync-Signature',
  delivery: 'License-Sync-Delivery',
} as const;

/**
 * `v1=` and the hex HMAC-SHA256, keyed by the channel's signing secret (its UTF-8 bytes), of
 * `<timestamp>.<body>`: the Unix time in seconds as sent, a full stop, the raw body bytes.
 */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

const headline = (m: AlertMessage) =>
  m.kind === 'resolved'
    ? `Resolved: ${m.title}`
    : m.kind === 'test'
      ? 'Test message from license-sync'
      : m.title;

const body = (m: AlertMessage) =>
  m.kind === 'resolved'
    ? `This no longer needs attention. It was raised at ${m.raisedAt}.`
    : m.kind === 'test'
      ? 'This channel receives license-sync alerts.'
      : m.summary;

/** The generic JSON webhook's body. */
function genericBody(m: AlertMessage) {
  return {
    id: m.deliveryId,
    type: m.kind === 'test' ? 'test' : `alert.${m.kind}`,
    alert: {
      id: m.alertId,
      partnerId: m.partnerId,
      event: m.event,
      key: m.key,
      severity: m.severity,
      title: m.title,
      summary: m.summary,
      url: m.url,
      raisedAt: m.raisedAt,
      resolvedAt: m.resolvedAt,
    },
  };
}

/**
 * A Teams message with one Adaptive Card holding `body` (and `actions`), the envelope Teams
 * documents for incoming webhooks; alerts and digests differ only in the card's content.
 */
export function teamsCard(body: object[], actions: object[] = []) {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(actions.length > 0 ? { actions } : {}),
        },
      },
    ],
  };
}

/** Escapes what Slack's mrkdwn treats as control characters. */
export const slackText = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Microsoft Teams incoming webhook (Workflows or connector): a message with one Adaptive Card
 * attachment, the shape Teams documents for webhooks (docs/alerts.md cites it).
 */
function teamsBody(m: AlertMessage) {
  return teamsCard(
    [
      {
        type: 'TextBlock',
        size: 'Medium',
        weight: 'Bolder',
        wrap: true,
        text: headline(m),
        ...(m.kind === 'raised' && m.severity === 'critical' ? { color: 'Attention' } : {}),
      },
      { type: 'TextBlock', wrap: true, text: body(m) },
      {
        type: 'FactSet',
        facts: [
          { title: 'Severity', value: m.severity },
          { title: 'Event', value: m.event },
        ],
      },
    ],
    [{ type: 'Action.OpenUrl', title: 'Open license-sync', url: m.url }],
  );
}

/** Slack incoming webhook: `text` (the notification's fallback) and Block Kit blocks. */
function slackBody(m: AlertMessage) {
  return {
    text: slackText(headline(m)),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: headline(m).slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: slackText(body(m)) } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${m.severity} · ${m.event} · <${m.url}|Open>` }],
      },
    ],
  };
}

/** The JSON body a channel of `kind` receives for the message. */
export function messageBody(kind: WebhookKind, message: AlertMessage): string {
  const shape =
    kind === 'teams'
      ? teamsBody(message)
      : kind === 'slack'
        ? slackBody(message)
        : genericBody(message);
  return JSON.stringify(shape);
}
