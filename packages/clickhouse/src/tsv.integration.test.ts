// TSV rows as ingest builds them, read back by the ClickHouse server the tests
// run against: arrays of strings holding every character that needs escaping
// (the quote, backslash, tab, newline, NUL...) come back as they were written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writerClient } from '../../../test/support/clickhouse.ts';
import { uniqueName } from '../../../test/support/names.ts';
import { createDatabase, dropDatabase } from './migrations.ts';
import { identifier } from './sql.ts';
import { insertTsv, TsvRows } from './tsv.ts';

const database = uniqueName('tsv');
const root = writerClient();
const writer = writerClient(database);
const TABLE = {
  name: 'arrays',
  columns: [
    { name: 'id', type: 'UInt32' },
    { name: 'names', type: 'Array(String)' },
    { name: 'days', type: 'Array(UInt8)' },
    { name: 'plain', type: 'String' },
  ],
} as const;

beforeAll(async () => {
  await createDatabase(root, database);
  await root.command({
    query: `CREATE TABLE ${identifier(database, TABLE.name).text}
      (id UInt32, names Array(String), days Array(UInt8), plain String) ENGINE = MergeTree() ORDER BY id`,
  });
});
afterAll(async () => {
  await writer.close();
  await dropDatabase(root, database);
  await root.close();
});

describe('TSV rows in ClickHouse', () => {
  it('reads back arrays of strings with quotes, backslashes and control characters as written', async () => {
    const awkward = ["it's", 'back\\slash', 'tab\there', 'new\nline\r', 'nul\0', '\b\f', "\\'", 'é 😀', ''];
    const rows = new TsvRows(TABLE);
    rows.add({ id: 1, names: awkward, days: [1, 30, 255], plain: "it's\t\\" });
    rows.add({ id: 2, names: [], days: [], plain: '' });
    await insertTsv(writer, TABLE, rows.body());
    const result = await root.query({
      query: `SELECT id, names, days, plain FROM ${identifier(database, TABLE.name).text} ORDER BY id`,
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([
      { id: 1, names: awkward, days: [1, 30, 255], plain: "it's\t\\" },
      { id: 2, names: [], days: [], plain: '' },
    ]);
  });
});
