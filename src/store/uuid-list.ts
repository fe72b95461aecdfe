import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

/**
 * `column in (ids)` with the ids as one JSON parameter: any number of them (a statement takes
 * at most 65,535 parameters), and nothing for drizzle to build per id.
 */
export const inUuidList = (column: AnyColumn, ids: readonly string[]): SQL =>
  sql`${column} in (select value::uuid
    from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`;
