import type { Request } from 'express';
import { badRequest } from './errors.js';

// Reading a Halo write: the body is an array of objects; each known field, when present, must
// have its type (unknown fields are ignored, as Halo's JSON binding does).

export type HaloObject = Record<string, unknown>;

/** The posted array; Halo's write endpoints take nothing else. */
export function bodyArray(req: Request): HaloObject[] {
  const body: unknown = req.body;
  if (!Array.isArray(body) || body.length === 0)
    throw badRequest('The request body must be a non-empty JSON array.');
  return body.map((entry, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw badRequest(`Entry ${i} of the request body is not an object.`);
    return entry as HaloObject;
  });
}

/** The id of an update, or undefined for a create (absent, null or not positive). */
export function upsertId(entry: HaloObject): number | undefined {
  const id = entry.id;
  if (id === undefined || id === null) return undefined;
  if (typeof id !== 'number' || !Number.isInteger(id)) throw badRequest('id must be an integer.');
  return id > 0 ? id : undefined;
}

const invalid = (field: string) => badRequest(`The value given for '${field}' is not valid.`);

export function numberField(entry: HaloObject, field: string): number | undefined {
  const v = entry[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(field);
  return v;
}

export function integerField(entry: HaloObject, field: string): number | undefined {
  const v = numberField(entry, field);
  if (v !== undefined && !Number.isInteger(v)) throw invalid(field);
  return v;
}

export function stringField(entry: HaloObject, field: string): string | null | undefined {
  const v = entry[field];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'string') throw invalid(field);
  return v;
}

export function booleanField(entry: HaloObject, field: string): boolean | undefined {
  const v = entry[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalid(field);
  return v;
}

/** A date-time field: null clears it; stored as ISO 8601 without offset, as Halo writes it. */
export function dateField(entry: HaloObject, field: string): string | null | undefined {
  const v = stringField(entry, field);
  if (v === undefined || v === null || v === '') return v === '' ? null : v;
  if (Number.isNaN(Date.parse(v))) throw badRequest(`'${v}' is not a valid date for ${field}.`);
  return /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00` : v;
}

/** Copies each field that is present (not undefined) onto the record. */
export function assignDefined<T extends object>(record: T, values: Partial<T>): void {
  for (const [k, v] of Object.entries(values))
    if (v !== undefined) (record as Record<string, unknown>)[k] = v;
}
