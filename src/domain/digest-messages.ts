import type { AlertSeverity } from './alert-events.js';
import type { AlertEmail } from './email-messages.js';
import { slackText, teamsCard } from './webhook-messages.js';

/** One alert in a digest: what happened to it since the last digest, and where to fix it. */
export interface DigestEntry {
  alertId: string;
  partnerId: string;
  /** The partner's name, for an operators' channel that hears every partner. */
  partnerName: string | null;
  event: string;
  key: string;
  severity: AlertSeverity;
  title: string;
  /** The page that fixes it, absolute. */
  url: string;
  /** The digest tells of the alert being raised (it may also have been resolved since). */
  raised: boolean;
  raisedAt: string;
  resolvedAt: string | null;
}

/** One channel's daily digest. */
export interface AlertDigest {
  /** Stable per channel and day: a digest sent again carries the same id (receivers dedupe). */
  digestId: string;
  /** The UTC day (YYYY-MM-DD) whose digest this is. */
  day: string;
  entries: DigestEntry[];
}

const severityWords = { critical: 'Critical', warning: 'Warning', info: 'Info' } as const;

/** What happened to the alert, in a few words. */
function stateOf(e: DigestEntry): string {
  if (!e.resolvedAt) return `raised ${e.raisedAt}`;
  return e.raised
    ? `raised ${e.raisedAt}, resolved ${e.resolvedAt}`
    : `resolved ${e.resolvedAt} (raised ${e.raisedAt})`;
}

const headlineOf = (d: AlertDigest) =>
  `license-sync daily digest for ${d.day}: ${d.entries.length} ${d.entries.length === 1 ? 'alert' : 'alerts'}`;

const entryLine = (e: DigestEntry) =>
  `${severityWords[e.severity]}: ${e.title}${e.partnerName ? ` (${e.partnerName})` : ''}, ${stateOf(e)}`;

/** The generic webhook's `alert.digest` body (docs/alerts.md). */
function genericBody(d: AlertDigest) {
  return {
    id: d.digestId,
    type: 'alert.digest',
    day: d.day,
    alerts: d.entries.map((e) => ({
      id: e.alertId,
      partnerId: e.partnerId,
      event: e.event,
      key: e.key,
      severity: e.severity,
      title: e.title,
      url: e.url,
      raisedAt: e.raisedAt,
      resolvedAt: e.resolvedAt,
    })),
  };
}

/** A Teams message with one Adaptive Card: a headline and, per alert, its line and link. */
function teamsBody(d: AlertDigest) {
  return teamsCard([
    { type: 'TextBlock', size: 'Medium', weight: 'Bolder', wrap: true, text: headlineOf(d) },
    ...d.entries.map((e) => ({
      type: 'TextBlock',
      wrap: true,
      // Teams renders a Markdown link in a TextBlock.
      text: `${entryLine(e).replace(/[[\]]/g, '')} [Open](${e.url})`,
    })),
  ]);
}

/** Slack's largest message has 50 blocks: the header, then at most 48 alerts and a remainder. */
const slackMaxEntries = 48;

function slackBody(d: AlertDigest) {
  const shown = d.entries.slice(0, slackMaxEntries);
  const rest = d.entries.length - shown.length;
  return {
    text: slackText(headlineOf(d)),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: headlineOf(d).slice(0, 150) } },
      ...shown.map((e) => ({
        type: 'section',
        text: { type: 'mrkdwn', text: `${slackText(entryLine(e))} · <${e.url}|Open>` },
      })),
      ...(rest > 0
        ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `and ${rest} more` }] }]
        : []),
    ],
  };
}

/** The JSON body a webhook channel of `kind` receives for the digest. */
export function digestBody(kind: 'webhook' | 'teams' | 'slack', digest: AlertDigest): string {
  const shape =
    kind === 'teams'
      ? teamsBody(digest)
      : kind === 'slack'
        ? slackBody(digest)
        : genericBody(digest);
  return JSON.stringify(shape);
}

const escapeHtml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

const oneLine = (s: string) => s.replace(/[\r\n\t]+/g, ' ').trim();

/** The digest as one email: plain text and simple HTML, one link per alert, no tracking. */
export function digestEmail(digest: AlertDigest, context: { messageIdDomain: string }): AlertEmail {
  const title = headlineOf(digest);
  const text = [
    title,
    '',
    ...digest.entries.flatMap((e) => [oneLine(entryLine(e)), `Open: ${e.url}`, '']),
    '-- ',
    'Sent by license-sync. Change which alerts reach this address under Notification settings.',
    '',
  ].join('\n');
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family: sans-serif; line-height: 1.4; color: #222">
<h1 style="font-size: 1.2em">${escapeHtml(title)}</h1>
<ul>
${digest.entries
  .map((e) => `<li>${escapeHtml(entryLine(e))} <a href="${escapeHtml(e.url)}">Open</a></li>`)
  .join('\n')}
</ul>
<p style="color: #666; font-size: 0.9em">Sent by license-sync. Change which alerts reach this address under Notification settings.</p>
</body></html>
`;
  return {
    subject: oneLine(`[license-sync] ${title}`),
    text,
    html,
    messageId: `<alert-digest.${digest.digestId}@${context.messageIdDomain}>`,
  };
}
