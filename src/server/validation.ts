import type { z } from 'zod';
import { HttpError } from './http-error.js';

/** Parses a request part with a schema; a mismatch is a 400 naming each bad field. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues
    .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
    .join('; ');
  throw new HttpError(400, 'invalid_request', `Invalid request: ${detail}.`);
}
