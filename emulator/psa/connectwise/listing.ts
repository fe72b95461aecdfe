import type { Request, Response } from 'express';
import { compareValues, ConditionsError, matches, parseConditions, valueAt } from './conditions.js';
import { sendBadQuery } from './errors.js';

// What every ConnectWise list endpoint shares: `conditions`, `orderBy`, `fields`, paging by
// `page`/`pageSize` with a Link header, forward-only paging by `pageId`, and `/count`.

const defaultPageSize = 25;
const maxPageSize = 1000;

type Row = { id: number } & Record<string, unknown>;

const text = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** The records the `conditions` parameter keeps; undefined once a 400 has been sent. */
function filtered(req: Request, res: Response, rows: Row[]): Row[] | undefined {
  const conditions = text(req.query.conditions)?.trim();
  if (!conditions) return rows;
  try {
    const condition = parseConditions(conditions);
    return rows.filter((row) => matches(row, condition));
  } catch (error) {
    if (!(error instanceof ConditionsError)) throw error;
    sendBadQuery(res, `conditions: ${error.message}.`);
    return undefined;
  }
}

/** GET …/count: {"count": n} of the records matching `conditions`. */
export function sendCount(req: Request, res: Response, rows: Row[]): void {
  const kept = filtered(req, res, rows);
  if (kept) res.json({ count: kept.length });
}

function ordered(rows: Row[], orderBy: string | undefined): Row[] | string {
  if (!orderBy?.trim()) return [...rows].sort((a, b) => a.id - b.id);
  const keys: { path: string[]; sign: number }[] = [];
  for (const part of orderBy.split(',')) {
    const m = /^\s*([A-Za-z0-9_/]+)(?:\s+(asc|desc))?\s*$/i.exec(part);
    if (!m) return `orderBy: cannot read "${part.trim()}".`;
    keys.push({ path: m[1]!.split('/'), sign: m[2]?.toLowerCase() === 'desc' ? -1 : 1 });
  }
  return [...rows].sort((a, b) => {
    for (const key of keys) {
      const order = compareValues(valueAt(a, key.path), valueAt(b, key.path));
      if (order !== 0) return key.sign * order;
    }
    return a.id - b.id;
  });
}

/** Keeps only the `fields` asked for (a/b paths keep nested members). */
function project(row: Row, fields: string[][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of fields) {
    const value = valueAt(row, path);
    if (value === undefined) continue;
    let target = out;
    for (const step of path.slice(0, -1)) {
      const inner = (target[step] ?? {}) as Record<string, unknown>;
      target[step] = inner;
      target = inner;
    }
    target[path.at(-1)!] = value;
  }
  return out;
}

function linkTo(origin: string, req: Request, set: Record<string, string>): string {
  const url = new URL(req.originalUrl, origin);
  for (const [k, v] of Object.entries(set)) url.searchParams.set(k, v);
  return `<${url.toString()}>`;
}

/**
 * Answers a list request: a bare JSON array, navigation in the Link header. With
 * `pagination-type: forward-only` pages go by `pageId` (the last id seen), in id order.
 */
export function sendList(
  req: Request,
  res: Response,
  rows: Row[],
  options: { origin: string; oversizedPageSize: 'clamp' | 'reject' },
): void {
  const kept = filtered(req, res, rows);
  if (!kept) return;
  const rawSize = text(req.query.pageSize);
  let pageSize = rawSize === undefined ? defaultPageSize : Number(rawSize);
  if (!Number.isInteger(pageSize) || pageSize < 1)
    return sendBadQuery(res, 'pageSize must be a positive whole number.');
  if (pageSize > maxPageSize) {
    if (options.oversizedPageSize === 'reject')
      return sendBadQuery(res, `pageSize cannot be greater than ${maxPageSize}.`);
    pageSize = maxPageSize;
  }
  const fields = text(req.query.fields)
    ?.split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map((f) => f.split('/'));
  const shape = (page: Row[]) => (fields?.length ? page.map((r) => project(r, fields)) : page);

  if (req.get('pagination-type')?.toLowerCase() === 'forward-only') {
    if (text(req.query.orderBy))
      return sendBadQuery(res, 'orderBy is not supported with forward-only pagination.');
    const after = Number(text(req.query.pageId) ?? 0);
    if (!Number.isInteger(after) || after < 0)
      return sendBadQuery(res, 'pageId must be a record id.');
    const rest = ordered(kept, undefined) as Row[];
    const page = rest.filter((r) => r.id > after).slice(0, pageSize);
    const last = page.at(-1);
    if (last && rest.some((r) => r.id > last.id))
      res.set(
        'Link',
        `${linkTo(options.origin, req, { pageId: String(last.id), pageSize: String(pageSize) })}; rel="next"`,
      );
    return void res.json(shape(page));
  }

  const sorted = ordered(kept, text(req.query.orderBy));
  if (typeof sorted === 'string') return sendBadQuery(res, sorted);
  const page = Number(text(req.query.page) ?? 1);
  if (!Number.isInteger(page) || page < 1) return sendBadQuery(res, 'page must be 1 or more.');
  const lastPage = Math.max(1, Math.ceil(sorted.length / pageSize));
  const link = (n: number, rel: string) =>
    `${linkTo(options.origin, req, { page: String(n), pageSize: String(pageSize) })}; rel="${rel}"`;
  const links: string[] = [];
  if (page > 1) links.push(link(1, 'first'), link(Math.min(page - 1, lastPage), 'prev'));
  if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
  if (links.length) res.set('Link', links.join(', '));
  res.json(shape(sorted.slice((page - 1) * pageSize, page * pageSize)));
}
