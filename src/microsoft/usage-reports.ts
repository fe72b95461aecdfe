import { CsvError, parse } from 'csv-parse/sync';
import { stepSentences } from './error-table.js';

// Microsoft 365 usage reports as Graph v1.0 delivers them: a CSV file (RFC 4180 quoting,
// a UTF-8 byte order mark, CRLF or LF line ends).

/** Rows of fields: quoted fields may hold commas, doubled quotes and line breaks. */
export function parseCsv(text: string): string[][] {
  try {
    return parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true });
  } catch (error) {
    if (error instanceof CsvError)
      throw new UsageReportFormatError(stepSentences.reportNotCsv(error.message));
    throw error;
  }
}

/** User and shared mailboxes in a mailbox usage report, as of its refresh date. */
export interface MailboxCounts {
  user: number;
  shared: number;
  /** The report's "Report Refresh Date" (YYYY-MM-DD): its data is as of that day. */
  refreshDate: string | null;
}

export class UsageReportFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageReportFormatError';
  }
}

/**
 * Counts the mailboxes of getMailboxUsageDetail's CSV by Recipient Type, leaving out deleted
 * ones. Columns are found by name; names themselves are not needed, so concealed names count.
 */
export function countMailboxes(csv: string): MailboxCounts {
  const [header, ...rows] = parseCsv(csv);
  const column = (name: string) => {
    const index = (header ?? []).findIndex((h) => h.trim().toLowerCase() === name.toLowerCase());
    if (index < 0) throw new UsageReportFormatError(stepSentences.reportColumnMissing(name));
    return index;
  };
  const type = column('Recipient Type');
  const deleted = column('Is Deleted');
  const refresh = column('Report Refresh Date');
  const counts: MailboxCounts = { user: 0, shared: 0, refreshDate: null };
  for (const row of rows) {
    counts.refreshDate ??= row[refresh] || null;
    if ((row[deleted] ?? '').trim().toLowerCase() === 'true') continue;
    // The admin center documents "User" and "Shared"; the Exchange names are accepted too.
    const kind = (row[type] ?? '').trim().toLowerCase();
    if (kind === 'user' || kind === 'usermailbox') counts.user += 1;
    else if (kind === 'shared' || kind === 'sharedmailbox') counts.shared += 1;
  }
  return counts;
}
