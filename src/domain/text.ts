import { z } from 'zod';

/** C0 and C1 control characters (U+0000 among them), DEL, and the Unicode line separators. */
const controlCharacters = /[\p{Cc}\u2028\u2029]/u;

/**
 * Text typed on one line (a name, an email, an account): trimmed, bounded, and free of control
 * characters. PostgreSQL cannot store U+0000 at all, and the others have no place in a name.
 */
export function singleLineText(bounds: {
  /** Fewest characters after trimming. Default: 0 */
  min?: number;
  max: number;
}) {
  return z
    .string()
    .trim()
    .refine((text) => !controlCharacters.test(text), 'must not contain control characters')
    .min(bounds.min ?? 0, bounds.min === 1 ? 'must not be empty' : undefined)
    .max(bounds.max, `must be at most ${bounds.max} characters`);
}
