// The basic loop every service relies on: create a table, insert with
// @clickhouse/client (JSONEachRow), read it back, through @optout/clickhouse.
import { createClickHouseClient, createDatabase, dropDatabase, identifier, sql } from '@optout/clickhouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../support/env.ts';
import { uniqueName } from '../support/names.ts';

const stack = testStack();
const database = uniqueName('it_smoke');
const client = createClickHouseClient({
  url: stack.clickhouseUrl,
  username: stack.clickhouseUser,
  password: stack.clickhousePassword,
});
const table = identifier(database, 'events');

beforeAll(() => createDatabase(client, database));
afterAll(async () => {
  await dropDatabase(client, database);
  await client.close();
});

describe('ClickHouse smoke', () => {
  it('creates, fills and reads a table', async () => {
    await client.command({
      query:
        sql`CREATE TABLE ${table} (day Date, at DateTime('UTC'), user_id String, n UInt64, tags Array(String))
        ENGINE = MergeTree() PARTITION BY toYYYYMM(day) ORDER BY (day, user_id)`.text,
    });
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      day: `2024-01-${String((i % 31) + 1).padStart(2, '0')}`,
      at: 1_704_067_200 + i,
      user_id: `user-${i % 100}`,
      n: String(2n ** 63n + BigInt(i)),
      tags: i % 2 ? ["it's", '\\'] : [],
    }));
    // 18.16 has no JSONCompactEachRow (the client's default insert format).
    await client.insert({ table: `${database}.events`, values: rows, format: 'JSONEachRow' });

    const result = await client.query({
      query: sql`SELECT count() AS rows, uniqExact(user_id) AS users, max(n) AS max_n,
        toString(min(at)) AS first, sum(length(tags)) AS tags
        FROM ${table} WHERE day >= ${'2024-01-01'}`.text,
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([
      {
        rows: '1000',
        users: '100',
        max_n: String(2n ** 63n + 999n),
        first: '2024-01-01 00:00:00',
        tags: '1000',
      },
    ]);
  });
});
