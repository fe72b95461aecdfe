/**
 * A form the server refused: which one, why, and what was typed in it (never a password), so
 * the page shows it again open, filled as it was sent, with the reason beside it.
 */
export interface RefusedForm {
  partnerId: string;
  /** The form's element id (also the fragment the page is sent back to). */
  form: string;
  message: string;
  fields: Record<string, string | string[]>;
}

/** What `name` held when the form was refused, or `saved` when this form was not refused. */
export function keptValue(refused: RefusedForm | undefined, name: string, saved = ''): string {
  if (!refused) return saved;
  const value = refused.fields[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** The ticked values of a list field when the form was refused, or `saved` otherwise. */
export function keptList<T extends string[] | null>(
  refused: RefusedForm | undefined,
  name: string,
  saved: T,
): string[] | T {
  if (!refused) return saved;
  return ([] as string[]).concat(refused.fields[name] ?? []);
}

/** Why the form was refused, beside it. */
export const Refusal = ({ refused }: { refused: RefusedForm | undefined }) =>
  refused ? (
    <p class="notice bad" role="alert" data-testid="form-error" id={`${refused.form}-error`}>
      {refused.message}
    </p>
  ) : null;
