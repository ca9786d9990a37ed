// The query service's user (profile readonly=2 in the local stack): it can read
// and set per-query limits such as max_execution_time (needed for the API's 504),
// but cannot write or change the schema.
import {
  clickhouseErrorCode,
  createClickHouseClient,
  dropDatabase,
  identifier,
  isTimeout,
  migrate,
  READONLY,
  sql,
} from '@optout/clickhouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../support/env.ts';
import { uniqueName } from '../support/names.ts';

const stack = testStack();
const database = uniqueName('it_readonly');
const admin = createClickHouseClient({
  url: stack.clickhouseUrl,
  username: stack.clickhouseUser,
  password: stack.clickhousePassword,
});
const reader = createClickHouseClient({
  url: stack.clickhouseUrl,
  username: stack.readerUser,
  password: stack.readerPassword,
  database,
  readOnly: true,
});

beforeAll(async () => {
  await migrate(admin, { database });
  await admin.command({
    query:
      sql`INSERT INTO ${identifier(database, 'campaign_reach')} VALUES ('app', 'c1', toDateTime(0, 'UTC'), 'u1')`
        .text,
  });
});
afterAll(async () => {
  await dropDatabase(admin, database);
  await admin.close();
  await reader.close();
});

async function codeOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
  } catch (error) {
    return clickhouseErrorCode(error);
  }
  throw new Error('expected the call to be refused');
}

describe('readonly user (readonly=2)', () => {
  it('SELECTs with max_execution_time and other per-query limits', async () => {
    const result = await reader.query({
      query: sql`SELECT count() AS n FROM campaign_reach WHERE app_id = ${'app'}`.text,
      format: 'JSONEachRow',
      clickhouse_settings: { max_execution_time: 5, max_result_rows: '1000', result_overflow_mode: 'throw' },
    });
    expect(await result.json()).toEqual([{ n: '1' }]);
  });

  it('is stopped by max_execution_time with code 159', async () => {
    const failed = reader.query({
      query: 'SELECT count() FROM system.numbers WHERE NOT ignore(sipHash64(number))',
      clickhouse_settings: { max_execution_time: 1 },
    });
    await expect(failed).rejects.toSatisfy(isTimeout);
  });

  it('cannot INSERT', async () => {
    expect(
      await codeOf(reader.command({ query: "INSERT INTO campaign_reach VALUES ('x', 'c', now(), 'u')" })),
    ).toBe(READONLY);
    expect(
      await codeOf(
        reader.insert({ table: 'campaign_reach', values: [{ app_id: 'x' }], format: 'JSONEachRow' }),
      ),
    ).toBe(READONLY);
  });

  it('cannot CREATE, DROP or ALTER', async () => {
    for (const query of [
      'CREATE TABLE t (x UInt8) ENGINE = Memory',
      sql`CREATE DATABASE ${identifier(`${database}_x`)}`.text,
      'DROP TABLE campaign_reach',
      "ALTER TABLE campaign_reach DELETE WHERE app_id = 'app'",
    ]) {
      expect(await codeOf(reader.command({ query })), query).toBe(READONLY);
    }
  });

  it('cannot lift its own readonly level', async () => {
    const lifted = reader.query({ query: 'SELECT 1', clickhouse_settings: { readonly: '0' } });
    expect(await codeOf(lifted)).toBe(READONLY);
  });
});
