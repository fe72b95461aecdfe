import type { AlertMessage } from './webhook-messages.js';

/** The most addresses one email channel sends to: a team's list, not a mailing list. */
export const maxEmailAddresses = 20;

/**
 * An email channel's addresses as one `mailto:` URI (RFC 6068: comma-separated addresses), the
 * form kept in the channel's URL column; and the sentence shown in place of a URL's host.
 */
export function mailtoUrl(addresses: readonly string[]): string {
  return `mailto:${addresses.map((a) => encodeURIComponent(a).replace(/%40/g, '@')).join(',')}`;
}

/** The addresses of a `mailto:` URI written by mailtoUrl. */
export function mailtoAddresses(url: string): string[] {
  if (!url.startsWith('mailto:')) return [];
  return url
    .slice('mailto:'.length)
    .split(',')
    .filter(Boolean)
    .map((a) => decodeURIComponent(a));
}

/** What people see of an email channel's target: its addresses, in clear (not a secret). */
export const addressesLabel = (addresses: readonly string[]) => addresses.join(', ');

/**
 * Addresses as given, checked elsewhere, made into the list a channel keeps: the domain in
 * lower case (the local part is the server's to interpret), each address once.
 */
export function normalizedAddresses(addresses: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of addresses) {
    const at = raw.lastIndexOf('@');
    const address = `${raw.slice(0, at)}@${raw.slice(at + 1).toLowerCase()}`;
    if (seen.has(address.toLowerCase())) continue;
    seen.add(address.toLowerCase());
    out.push(address);
  }
  return out;
}

/** One alert's mail: subject, plain text and simple HTML, built from the message alone. */
export interface AlertEmail {
  subject: string;
  text: string;
  html: string;
  /**
   * Stable per delivery, so a message sent again after a lost answer is recognisable as the
   * same one (mail clients and servers drop a repeated Message-ID).
   */
  messageId: string;
}

const severityWords = { critical: 'Critical', warning: 'Warning', info: 'Info' } as const;

const escapeHtml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

/** A header line keeps to one line, whatever a partner's name holds. */
const oneLine = (s: string) => s.replace(/[\r\n\t]+/g, ' ').trim();

function headline(m: AlertMessage): string {
  if (m.kind === 'resolved') return `Resolved: ${m.title}`;
  if (m.kind === 'test') return 'Test message from license-sync';
  return m.title;
}

function lines(m: AlertMessage): string[] {
  if (m.kind === 'resolved') {
    return [`This no longer needs attention. It was raised at ${m.raisedAt}.`];
  }
  if (m.kind === 'test') return ['This address receives license-sync alerts.'];
  return [m.summary];
}

/**
 * Renders an alert as an email. The partner's name is the one the service stores; every value
 * is escaped in the HTML, which has no image, script, style sheet or tracking of any kind: one
 * link, to the page that fixes it.
 */
export function alertEmail(
  m: AlertMessage,
  context: { partnerName: string | null; messageIdDomain: string },
): AlertEmail {
  const partner = context.partnerName ? oneLine(context.partnerName) : null;
  const severity = severityWords[m.severity];
  const title = headline(m);
  const subject = oneLine(
    `[license-sync] ${m.kind === 'raised' ? `${severity}: ` : ''}${title}${partner ? ` (${partner})` : ''}`,
  );
  const facts: [string, string][] = [
    ['Partner', partner ?? 'every partner (operators’ channel)'],
    ['Severity', severity],
    ['Event', m.event],
    ['Raised', m.raisedAt],
    ...(m.resolvedAt ? ([['Resolved', m.resolvedAt]] as [string, string][]) : []),
  ];
  const text = [
    title,
    '',
    ...lines(m),
    '',
    ...facts.map(([k, v]) => `${k}: ${v}`),
    '',
    `Open: ${m.url}`,
    '',
    '-- ',
    'Sent by license-sync. Change which alerts reach this address under Notification settings.',
    '',
  ].join('\n');
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family: sans-serif; line-height: 1.4; color: #222">
<h1 style="font-size: 1.2em">${escapeHtml(title)}</h1>
${lines(m)
  .map((l) => `<p>${escapeHtml(l)}</p>`)
  .join('\n')}
<table style="border-collapse: collapse">
${facts
  .map(
    ([k, v]) =>
      `<tr><th style="text-align: left; padding-right: 1em">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`,
  )
  .join('\n')}
</table>
<p><a href="${escapeHtml(m.url)}">${escapeHtml(m.kind === 'resolved' ? 'Open license-sync' : 'Open the page that fixes it')}</a></p>
<p style="color: #666; font-size: 0.9em">Sent by license-sync. Change which alerts reach this address under Notification settings.</p>
</body></html>
`;
  return {
    subject,
    text,
    html,
    messageId: `<alert-delivery.${m.deliveryId}@${context.messageIdDomain}>`,
  };
}
