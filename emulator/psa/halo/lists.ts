import type { Request } from 'express';
import { badRequest } from './errors.js';

// Halo's list parameters: pageinate=true&page_size&page_no (1-based) page the result and the
// wrapper's record_count gives the total; without pageinate, count caps the result; order and
// orderdesc sort it. (CIPP-API Get-HaloMapping.ps1; the spec's /Client parameters.)

/** page_size when pageinate=true comes without one. */
const defaultPageSize = 50;

export interface ListQuery {
  pageinate: boolean;
  pageSize: number;
  pageNo: number;
  count: number | undefined;
  order: string | undefined;
  orderdesc: boolean;
}

export function queryString(req: Request, name: string): string | undefined {
  const value: unknown = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`The parameter '${name}' is given twice.`);
  return value;
}

export function queryBoolean(req: Request, name: string): boolean | undefined {
  const value = queryString(req, name);
  if (value === undefined || value === '') return undefined;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  throw badRequest(`The value '${value}' is not valid for ${name}.`);
}

export function queryInteger(req: Request, name: string): number | undefined {
  const value = queryString(req, name);
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw badRequest(`The value '${value}' is not valid for ${name}.`);
  return Number(value);
}

export function parseListQuery(req: Request): ListQuery {
  const pageSize = queryInteger(req, 'page_size') ?? defaultPageSize;
  const pageNo = queryInteger(req, 'page_no') ?? 1;
  const count = queryInteger(req, 'count');
  if (pageSize < 1) throw badRequest('page_size must be at least 1.');
  if (pageNo < 1) throw badRequest('page_no must be at least 1.');
  if (count !== undefined && count < 0) throw badRequest('count cannot be negative.');
  return {
    pageinate: queryBoolean(req, 'pageinate') ?? false,
    pageSize,
    pageNo,
    count,
    order: queryString(req, 'order'),
    orderdesc: queryBoolean(req, 'orderdesc') ?? false,
  };
}

/** Sorts (by id unless ordered), then pages or caps; record_count counts every match. */
export function applyList<T extends { id: number }>(
  records: T[],
  query: ListQuery,
): { record_count: number; page: T[] } {
  const field = query.order?.toLowerCase();
  const key = (r: T): unknown =>
    field && field in r ? (r as unknown as Record<string, unknown>)[field] : r.id;
  const sorted = [...records].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    const cmp =
      typeof x === 'number' && typeof y === 'number'
        ? x - y
        : sortText(x).localeCompare(sortText(y));
    return (query.orderdesc ? -cmp : cmp) || a.id - b.id;
  });
  if (query.pageinate) {
    const start = (query.pageNo - 1) * query.pageSize;
    return { record_count: sorted.length, page: sorted.slice(start, start + query.pageSize) };
  }
  return {
    record_count: sorted.length,
    page: query.count === undefined ? sorted : sorted.slice(0, query.count),
  };
}

const sortText = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
