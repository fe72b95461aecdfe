import { createHash, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { CustomerDetail, DirectoryUser } from './tenants.js';
import { sendGraphError } from './errors.js';
import { originOf } from './identity-request.js';
import type { EmulatorState } from './state.js';

// Microsoft 365 usage reports: the mailbox usage detail, answered as Graph v1.0 does, with a
// 302 to a pre-authenticated, short-lived CSV download (docs/emulator.md, "Usage reports").

/** The CSV's columns: Graph's documented list, with Recipient Type before Report Period. */
const mailboxUsageColumns = [
  'Report Refresh Date',
  'User Principal Name',
  'Display Name',
  'Is Deleted',
  'Deleted Date',
  'Created Date',
  'Last Activity Date',
  'Item Count',
  'Storage Used (Byte)',
  'Issue Warning Quota (Byte)',
  'Prohibit Send Quota (Byte)',
  'Prohibit Send/Receive Quota (Byte)',
  'Deleted Item Count',
  'Deleted Item Size (Byte)',
  'Deleted Item Quota (Byte)',
  'Has Archive',
  'Recipient Type',
  'Report Period',
] as const;

/** The periods Graph accepts, in days. */
const periods: Record<string, number> = { D7: 7, D30: 30, D90: 90, D180: 180 };

/** Days the report's data trails the clock ("usually covers up to the last 24 to 48 hours"). */
const reportLagDays = 2;

/** How long a download URL works ("a few minutes"). */
const downloadLifetimeMs = 5 * 60_000;

/** Exchange Online's default quotas of a 50 GB mailbox, in bytes. */
const quotas = {
  issueWarning: 52_613_349_376,
  prohibitSend: 53_150_220_288,
  prohibitSendReceive: 53_687_091_200,
  deletedItems: 32_212_254_720,
};

const dayMs = 24 * 3600 * 1000;

interface Download {
  csv: string;
  expiresAt: number;
}

/** Downloads issued per emulator state (a new scenario starts with none). */
const downloadsByState = new WeakMap<EmulatorState, Map<string, Download>>();

function downloadsOf(state: EmulatorState): Map<string, Download> {
  let downloads = downloadsByState.get(state);
  if (!downloads) {
    downloads = new Map();
    downloadsByState.set(state, downloads);
  }
  return downloads;
}

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
const csvField = (value: string) =>
  /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;

/** The concealed form of a name: an MD5 hash, as the reports setting shows it. */
const conceal = (tenantId: string, value: string) =>
  createHash('md5').update(`${tenantId}|${value}`).digest('hex').toUpperCase();

/**
 * The mailbox usage detail as of its refresh date (now minus the lag): user and shared
 * mailboxes that existed then, deleted ones marked while their deletion is within the period.
 */
function mailboxUsageCsv(
  detail: CustomerDetail,
  options: { tenantId: string; concealNames: boolean; periodDays: number; now: number },
): string {
  const refresh = options.now - reportLagDays * dayMs;
  const daysAgo = (days: number) => options.now - days * dayMs;
  const rows: string[][] = [];
  for (const user of [...detail.users, ...detail.deletedUsers]) {
    const type = recipientType(user);
    if (!type) continue;
    const created = daysAgo(user.mailboxCreatedDaysAgo);
    if (created > refresh) continue; // not in the report's data yet
    const deleted = user.deletedDaysAgo === undefined ? undefined : daysAgo(user.deletedDaysAgo);
    // Deleted after the refresh date: the report still shows it as it was.
    const deletedByRefresh = deleted !== undefined && deleted <= refresh;
    if (deletedByRefresh && deleted < refresh - options.periodDays * dayMs) continue;
    const seed = parseInt(user.id.slice(0, 8), 16);
    const items = type === 'Shared' ? seed % 5000 : seed % 40_000;
    const name = (value: string) =>
      options.concealNames ? conceal(options.tenantId, value) : value;
    rows.push([
      isoDate(refresh),
      name(user.upn),
      name(user.displayName),
      deletedByRefresh ? 'True' : 'False',
      deletedByRefresh ? isoDate(deleted) : '',
      isoDate(created),
      type === 'User' ? isoDate(Math.max(created, refresh - (seed % 5) * dayMs)) : '',
      String(items),
      String(items * 71_000),
      String(quotas.issueWarning),
      String(quotas.prohibitSend),
      String(quotas.prohibitSendReceive),
      String(seed % 300),
      String((seed % 300) * 48_000),
      String(quotas.deletedItems),
      'False',
      type,
      String(options.periodDays),
    ]);
  }
  const lines = [mailboxUsageColumns.join(','), ...rows.map((r) => r.map(csvField).join(','))];
  // The file starts with a UTF-8 byte order mark, as Microsoft's report downloads do.
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** The report's recipient type: "Either Shared or User"; other mailboxes are not listed. */
function recipientType(user: DirectoryUser): 'User' | 'Shared' | undefined {
  if (user.mailbox === 'user') return 'User';
  if (user.mailbox === 'shared') return 'Shared';
  return undefined;
}

/**
 * GET /v1.0/reports/getMailboxUsageDetail(period='D7'), after Graph's token check: the
 * period, the format, the permission and the caller's role, then a 302 to the download.
 */
export function answerMailboxUsageDetail(
  state: EmulatorState,
  req: Request,
  res: Response,
  caller: {
    tenantId: string;
    scopes: string[];
    detail: CustomerDetail;
    concealNames: boolean;
    /** Holds a role that may read usage reports in this tenant. */
    mayReadReports: boolean;
  },
  period: string,
): void {
  const periodDays = periods[period.toUpperCase()];
  if (!periodDays)
    return sendGraphError(
      res,
      400,
      'BadRequest',
      `Invalid value '${period}' for parameter 'period'. Supported values are D7, D30, D90 and D180.`,
    );
  const format = typeof req.query.$format === 'string' ? req.query.$format : undefined;
  if (format !== undefined && format.toLowerCase() !== 'text/csv')
    return sendGraphError(
      res,
      400,
      'BadRequest',
      `The format '${format}' is not supported by this report in v1.0: only text/csv.`,
    );
  if (!caller.scopes.includes('Reports.Read.All') || !caller.mayReadReports)
    return sendGraphError(
      res,
      403,
      'UnknownError',
      JSON.stringify({ error: { code: 'S2SUnauthorized', message: 'Invalid permission.' } }),
    );
  const now = state.now();
  const downloads = downloadsOf(state);
  for (const [id, d] of downloads) if (d.expiresAt <= now) downloads.delete(id);
  const id = randomBytes(24).toString('base64url');
  downloads.set(id, {
    csv: mailboxUsageCsv(caller.detail, {
      tenantId: caller.tenantId,
      concealNames: caller.concealNames,
      periodDays,
      now,
    }),
    expiresAt: now + downloadLifetimeMs,
  });
  res
    .status(302)
    .type('text/plain')
    .set('Location', `${originOf(req)}/data/download/${id}`)
    .end();
}

/**
 * GET /data/download/{id}: the pre-authenticated download. It needs no Authorization header
 * and refuses one, as Microsoft's pre-authenticated download URLs do; it expires.
 */
export function serveReportDownload(state: EmulatorState, req: Request, res: Response): void {
  if (req.get('authorization'))
    return void res
      .status(401)
      .type('text/plain')
      .send('This URL is pre-authenticated: send no Authorization header.');
  const id = String(req.params.id ?? '');
  const download = downloadsOf(state).get(id);
  if (!download || download.expiresAt <= state.now())
    return void res.status(404).type('text/plain').send('The download link is unknown or expired.');
  res.status(200).type('application/octet-stream').send(Buffer.from(download.csv, 'utf8'));
}
