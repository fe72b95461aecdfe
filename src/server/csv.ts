import { stringify } from 'csv-stringify/sync';
import type { Request } from 'express';

/** Whether the caller asked for CSV (Accept: text/csv, or ?format=csv from a page link). */
export const wantsCsv = (req: Request) =>
  req.query.format === 'csv' || req.accepts(['application/json', 'text/csv']) === 'text/csv';

/**
 * RFC 4180 CSV (CRLF records, a header row) of records that share their keys. Booleans are
 * written "true" and "false" (csv-stringify's own default is "1" and an empty field, which
 * reads as unknown).
 */
export const toCsv = (records: Record<string, string | number | boolean>[]) =>
  stringify(records, {
    header: true,
    record_delimiter: '\r\n',
    cast: { boolean: (value) => String(value) },
  });
