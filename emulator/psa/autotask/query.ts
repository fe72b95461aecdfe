// The REST query language: a QueryModel ({MaxRecords, IncludeFields, filter}) whose filter is
// a list of conditions (all must hold) with and/or groups. Names of model keys and fields are
// matched without regard to case, as the .NET API binds them.

type Row = Record<string, unknown>;

/** A refused query, answered as 500 {"errors":[message]}. */
export class QueryError extends Error {}

export interface Condition {
  op: string;
  field?: string;
  udf?: boolean;
  value?: unknown;
  items?: Condition[];
}

export interface QueryModel {
  maxRecords: number;
  includeFields: string[] | undefined;
  filter: Condition[];
}

const maxRecordsLimit = 500;
const comparisons = ['eq', 'noteq', 'gt', 'gte', 'lt', 'lte'];
const textOps = ['beginswith', 'endswith', 'contains'];
const valueOps = [...comparisons, ...textOps, 'in', 'notin'];
const isObject = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);
const keyOf = (row: Row, name: string) =>
  Object.keys(row).find((k) => k.toLowerCase() === name.toLowerCase());

/** Reads a QueryModel from a POST body or the `search` parameter, refusing malformed ones. */
export function parseQuery(input: unknown): QueryModel {
  if (!isObject(input)) throw new QueryError('The query is missing or is not a JSON object.');
  const get = (name: string) => {
    const key = keyOf(input, name);
    return key === undefined ? undefined : input[key];
  };
  const max = get('MaxRecords') ?? maxRecordsLimit;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > maxRecordsLimit)
    throw new QueryError(`MaxRecords must be a whole number from 1 to ${maxRecordsLimit}.`);
  const include = get('IncludeFields');
  if (include !== undefined && include !== null && !isStringArray(include))
    throw new QueryError('IncludeFields must be an array of field names.');
  const filter = get('Filter');
  if (!Array.isArray(filter) || filter.length === 0)
    throw new QueryError('A query requires at least one filter condition.');
  return {
    maxRecords: max,
    includeFields: isStringArray(include) && include.length > 0 ? include : undefined,
    filter: filter.map(checkCondition),
  };
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function checkCondition(raw: unknown): Condition {
  if (!isObject(raw)) throw new QueryError('Each filter condition must be a JSON object.');
  const lower: Row = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
  const op = typeof lower.op === 'string' ? lower.op.toLowerCase() : '';
  if (op === 'and' || op === 'or') {
    if (!Array.isArray(lower.items) || lower.items.length === 0)
      throw new QueryError(`The ${op} condition requires items.`);
    return { op, items: lower.items.map(checkCondition) };
  }
  if (![...valueOps, 'exist', 'notexist'].includes(op))
    throw new QueryError(`Invalid filter operator: ${String(lower.op)}.`);
  if (typeof lower.field !== 'string' || lower.field === '')
    throw new QueryError(`The ${op} condition requires a field.`);
  if (valueOps.includes(op) && lower.value === undefined)
    throw new QueryError(`The ${op} condition on ${lower.field} requires a value.`);
  if ((op === 'in' || op === 'notin') && !Array.isArray(lower.value))
    throw new QueryError(`The ${op} condition on ${lower.field} requires an array value.`);
  return { op, field: lower.field, udf: lower.udf === true, value: lower.value };
}

/** Every field a condition names must exist on the entity (checked before any row). */
export function checkFields(conditions: Condition[], fields: string[], entity: string): void {
  const known = new Set(fields.map((f) => f.toLowerCase()));
  for (const c of conditions) {
    if (c.items) checkFields(c.items, fields, entity);
    else if (!c.udf && c.field && !known.has(c.field.toLowerCase()))
      throw new QueryError(`Unable to find ${c.field} in the ${entity} entity.`);
  }
}

export function matchesAll(row: Row, conditions: Condition[]): boolean {
  return conditions.every((c) => matches(row, c));
}

function matches(row: Row, c: Condition): boolean {
  if (c.op === 'and') return (c.items ?? []).every((i) => matches(row, i));
  if (c.op === 'or') return (c.items ?? []).some((i) => matches(row, i));
  const actual = c.udf ? udfValue(row, c.field ?? '') : row[keyOf(row, c.field ?? '') ?? ''];
  const present = actual !== null && actual !== undefined && actual !== '';
  switch (c.op) {
    case 'exist':
      return present;
    case 'notexist':
      return !present;
    case 'in':
      return (c.value as unknown[]).some((v) => compare(actual, v) === 0);
    case 'notin':
      return !(c.value as unknown[]).some((v) => compare(actual, v) === 0);
    case 'beginswith':
    case 'endswith':
    case 'contains': {
      if (!present) return false;
      const text = scalarText(actual).toLowerCase();
      const part = scalarText(c.value).toLowerCase();
      if (c.op === 'beginswith') return text.startsWith(part);
      return c.op === 'endswith' ? text.endsWith(part) : text.includes(part);
    }
    default: {
      const order = compare(actual, c.value);
      if (order === undefined) return c.op === 'noteq';
      const outcome: Record<string, boolean> = {
        eq: order === 0,
        noteq: order !== 0,
        gt: order > 0,
        gte: order >= 0,
        lt: order < 0,
        lte: order <= 0,
      };
      return outcome[c.op] ?? false;
    }
  }
}

function udfValue(row: Row, name: string): unknown {
  const udfs = row.userDefinedFields;
  if (!Array.isArray(udfs)) return undefined;
  const hit = (udfs as Row[]).find((u) => String(u.name).toLowerCase() === name.toLowerCase());
  return hit?.value;
}

const scalarText = (v: unknown) =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
    ? String(v)
    : JSON.stringify(v);

const isoDateTime = /^\d{4}-\d{2}-\d{2}T/;

/** Orders a stored value against a filter value; undefined when they cannot be compared. */
function compare(actual: unknown, wanted: unknown): number | undefined {
  if (actual === null || actual === undefined || wanted === null || wanted === undefined)
    return (actual ?? null) === (wanted ?? null) ? 0 : undefined;
  if (typeof actual === 'number') {
    const n = typeof wanted === 'number' ? wanted : Number(wanted);
    return Number.isNaN(n) ? undefined : actual - n;
  }
  if (typeof actual === 'boolean') {
    const truth = { true: true, false: false }[scalarText(wanted)];
    return truth === undefined ? undefined : actual === truth ? 0 : 1;
  }
  if (typeof actual === 'string') {
    const text = scalarText(wanted);
    if (isoDateTime.test(actual)) {
      const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
      return Number.isNaN(t) ? undefined : Date.parse(actual) - t;
    }
    return actual.toLowerCase().localeCompare(text.toLowerCase());
  }
  return undefined;
}

/** The row with only the requested fields (names as the entity spells them). */
export function project(row: Row, fields: string[] | undefined): Row {
  if (!fields) return row;
  const out: Row = {};
  for (const f of fields) {
    const key = keyOf(row, f);
    if (key !== undefined) out[key] = row[key];
  }
  return out;
}

/** Paging state carried in nextPageUrl/prevPageUrl. */
export interface Paging {
  pageSize: number;
  previousIds: number[];
  nextIds: number[];
}

export function parsePaging(raw: unknown): Paging | undefined {
  if (typeof raw !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new QueryError('The paging parameter is not valid JSON.');
  }
  if (!isObject(parsed)) throw new QueryError('The paging parameter is not valid.');
  const ids = (v: unknown) => (Array.isArray(v) ? v.filter((x) => typeof x === 'number') : []);
  return {
    pageSize: typeof parsed.pageSize === 'number' ? parsed.pageSize : maxRecordsLimit,
    previousIds: ids(parsed.previousIds),
    nextIds: ids(parsed.nextIds),
  };
}
