import { PsaError } from '../errors.js';

/** A Halo id from the sync's string id; Halo ids are (signed) integers. */
export function idOf(value: string, what: string): number {
  const id = Number(value);
  if (value.trim() === '' || !Number.isInteger(id))
    throw new PsaError('validation', `'${value}' is not a Halo ${what} id.`);
  return id;
}
