import type { Request, Response } from 'express';
import { fieldNames } from './fields.js';
import { sendErrors } from './gate.js';
import {
  checkFields,
  matchesAll,
  parsePaging,
  parseQuery,
  project,
  QueryError,
  type Paging,
} from './query.js';
import type { AutotaskState } from './state.js';

// GET …/query?search={json}, POST …/query {json}, their …/query/count, and the page links:
// nextPageUrl is absolute and is re-issued with the same method and body as the first page.

export function runQuery(
  state: AutotaskState,
  entity: string,
  req: Request,
  res: Response,
  countOnly: boolean,
): void {
  try {
    const search = typeof req.query.search === 'string' ? req.query.search : undefined;
    const input = req.method === 'GET' ? parseSearch(search) : (req.body as unknown);
    const model = parseQuery(input);
    const fields = fieldNames(entity);
    checkFields(model.filter, fields, entity);
    if (model.includeFields)
      checkFields(
        model.includeFields.map((field) => ({ op: 'exist', field })),
        fields,
        entity,
      );
    const matched = (state.entity(entity) ?? [])
      .filter((row) => matchesAll(row, model.filter))
      .sort((a, b) => Number(a.id) - Number(b.id));
    if (countOnly) return void res.json({ queryCount: matched.length });

    const paging = parsePaging(req.query.paging);
    const pageSize = model.maxRecords;
    if (
      matched.length > pageSize &&
      model.includeFields &&
      !model.includeFields.some((f) => f.toLowerCase() === 'id')
    )
      throw new QueryError('IncludeFields must contain id when the results span several pages.');
    const startId = paging?.nextIds[0];
    const from = startId === undefined ? 0 : matched.findIndex((r) => Number(r.id) >= startId);
    const page = from < 0 ? [] : matched.slice(from, from + pageSize);
    const next = from < 0 ? undefined : matched[from + pageSize];
    const previousIds = paging?.previousIds ?? [];
    const link = (p: Paging) => {
      const params = new URLSearchParams();
      if (req.method === 'GET' && search) params.set('search', search);
      params.set('paging', JSON.stringify(p));
      const base = `${req.protocol}://${req.get('host') ?? ''}${req.baseUrl}`;
      return `${base}/${entity}/query/next?${params.toString()}`;
    };
    const first = page[0];
    res.json({
      items: page.map((row) => project(row, model.includeFields)),
      pageDetails: {
        count: page.length,
        requestCount: pageSize,
        prevPageUrl:
          previousIds.length > 0
            ? link({
                pageSize,
                previousIds: previousIds.slice(0, -1),
                nextIds: previousIds.slice(-1),
              })
            : null,
        nextPageUrl:
          next && first
            ? link({
                pageSize,
                previousIds: [...previousIds, Number(first.id)],
                nextIds: [Number(next.id)],
              })
            : null,
      },
    });
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    sendErrors(res, 500, error.message);
  }
}

function parseSearch(search: string | undefined): unknown {
  if (search === undefined) throw new QueryError('The search parameter is required.');
  try {
    return JSON.parse(search);
  } catch {
    throw new QueryError('The search parameter is not valid JSON.');
  }
}
