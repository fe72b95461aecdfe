import type { z } from 'zod';
import { HttpError } from './http-error.js';

/** One sentence naming each bad field, e.g. "Invalid request: name: must not be empty." */
export function invalidRequestSentence(error: z.ZodError): string {
  const detail = error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  return `Invalid request: ${detail}.`;
}

/** Parses a request part with a schema; a mismatch is a 400 naming each bad field. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new HttpError(400, 'invalid_request', invalidRequestSentence(parsed.error));
}
