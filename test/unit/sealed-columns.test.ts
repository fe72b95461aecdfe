import { expect } from 'chai';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { sealedColumns } from '../../src/store/key-rotation.js';
import * as schema from '../../src/store/schema.js';

describe('sealed columns', () => {
  it('key rotation knows every sealed (_enc) column of the schema', () => {
    const inSchema = (Object.values(schema) as unknown[])
      .filter((value): value is PgTable => is(value, PgTable))
      .flatMap((table) => {
        const { name, columns } = getTableConfig(table);
        return columns.filter((c) => c.name.endsWith('_enc')).map((c) => `${name}.${c.name}`);
      })
      .sort();
    expect(inSchema).to.have.length.greaterThan(0);
    expect(sealedColumns.map((c) => c.name).sort()).to.deep.equal(inSchema);
  });

  it('names each column as the database does', () => {
    for (const column of sealedColumns) {
      expect(`${getTableConfig(column.table).name}.${column.sealed.name}`).to.equal(column.name);
    }
  });
});
