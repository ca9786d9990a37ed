// The catalogue (catalogue.ts) against the schema the migrations create: the
// same tables and, for each, the same columns in the same order with the same
// types. Everything that writes rows or deletes a user's data relies on it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writerClient } from '../../../test/support/clickhouse.ts';
import { uniqueName } from '../../../test/support/names.ts';
import { TABLES, userDataTables } from './catalogue.ts';
import { dropDatabase, migrate } from './migrations.ts';
import { identifier, sql } from './sql.ts';

const database = uniqueName('catalogue');
const root = writerClient();

beforeAll(async () => {
  await migrate(root, { database });
});
afterAll(async () => {
  await dropDatabase(root, database);
  await root.close();
});

const typeOf = (t: string) => (t.startsWith('Enum8(') ? 'Enum8' : t);

describe('table catalogue', () => {
  it('lists every table of the migrated schema, with its columns in order and their types', async () => {
    const tables = await root.query({
      query: sql`SELECT name FROM system.tables WHERE database = ${database}
                 AND name != 'schema_migrations' AND engine != 'MaterializedView'`.text,
      format: 'JSONEachRow',
    });
    const schema = new Map<string, Array<{ name: string; type: string }>>();
    for (const { name } of await tables.json<{ name: string }>()) {
      // DESCRIBE lists the columns in table order (18.16's system.columns has no position).
      const described = await root.query({
        query: sql`DESCRIBE TABLE ${identifier(database, name)}`.text,
        format: 'JSONEachRow',
      });
      const columns = await described.json<{ name: string; type: string }>();
      schema.set(
        name,
        columns.map((c) => ({ name: c.name, type: typeOf(c.type) })),
      );
    }
    expect([...schema.keys()].sort()).toEqual(Object.keys(TABLES).sort());
    for (const table of Object.values(TABLES))
      expect(schema.get(table.name), table.name).toEqual(table.columns);
  });

  it('says what erasure deletes from every table with app_id and user_id columns', () => {
    // A Null table stores nothing; erasure's own records must stay.
    const kept = ['erased_users', 'erasure_jobs', 'user_first_seen_in'];
    const withUsers = Object.values(TABLES).filter(
      (t) => t.columns.some((c) => c.name === 'user_id') && !kept.includes(t.name),
    );
    expect(
      userDataTables()
        .map((t) => t.name)
        .sort(),
    ).toEqual(withUsers.map((t) => t.name).sort());
  });
});
