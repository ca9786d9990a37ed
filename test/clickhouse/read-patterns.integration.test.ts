// The de-duplicating reads the migrations are designed for, on the 18.16 server
// (check_modern.py runs the same checks on current ClickHouse):
// - argMax(x, version) ... GROUP BY key, never FINAL (0001..0003);
// - argMax(value, tuple(observed_at_ms, event_id)) for "latest known" (0005),
//   where ties on the time are broken by the larger event_id.
import { createClickHouseClient, dropDatabase, identifier, migrate, sql } from '@optout/clickhouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../support/env.ts';
import { uniqueName } from '../support/names.ts';

const stack = testStack();
const database = uniqueName('it_patterns');
const client = createClickHouseClient({
  url: stack.clickhouseUrl,
  username: stack.clickhouseUser,
  password: stack.clickhousePassword,
});
const t = (name: string) => identifier(database, name);

async function rows(query: ReturnType<typeof sql>) {
  return (await client.query({ query: query.text, format: 'JSONEachRow' })).json();
}

beforeAll(() => migrate(client, { database }));
afterAll(async () => {
  await dropDatabase(client, database);
  await client.close();
});

describe('read patterns on 18.16', () => {
  it('argMax(x, version) GROUP BY key returns the latest version, before any merge', async () => {
    // Separate INSERTs: separate parts, so only the query de-duplicates.
    for (const [version, deleted] of [
      [2, 1],
      [1, 0],
    ]) {
      await client.insert({
        table: `${database}.consent_transitions`,
        format: 'JSONEachRow',
        values: [
          {
            app_id: 'a',
            channel: 'PUSH',
            occurred_at: '2024-01-01 00:00:00',
            transition_id: 't1',
            user_id: 'u',
            kind: 'OPT_OUT',
            occurred_at_ms: 1_704_067_200_000,
            source: null,
            pushes_before: [1, 2],
            last_touch_campaign_id: '',
            last_touch_at_ms: 0,
            next_activity_at_ms: 0,
            version,
            is_deleted: deleted,
          },
        ],
      });
    }
    expect(await rows(sql`SELECT count() AS n FROM ${t('consent_transitions')}`)).toEqual([{ n: '2' }]);
    expect(
      await rows(sql`SELECT transition_id, argMax(is_deleted, version) AS deleted, argMax(kind, version) AS kind,
        argMax(pushes_before, version) AS pushes
        FROM ${t('consent_transitions')} GROUP BY app_id, channel, transition_id`),
    ).toEqual([{ transition_id: 't1', deleted: 1, kind: 'OPT_OUT', pushes: [1, 2] }]);
  });

  it('argMax(value, tuple(observed_at_ms, event_id)): latest time wins, then the larger event_id', async () => {
    for (const [external_id, observed_at_ms, event_id] of [
      ['x1', 100, 'e1'],
      ['x2', 100, 'e2'],
      ['x0', 50, 'e9'],
      ['y', 1, 'e'],
    ] as const) {
      await client.command({
        query: sql`INSERT INTO ${t('user_external_ids')} VALUES
          (${'a'}, ${external_id === 'y' ? 'u2' : 'u1'}, ${external_id}, ${observed_at_ms}, ${event_id})`
          .text,
      });
    }
    expect(
      await rows(sql`SELECT user_id, argMax(external_id, tuple(observed_at_ms, event_id)) AS external_id
        FROM ${t('user_external_ids')} GROUP BY app_id, user_id ORDER BY user_id`),
    ).toEqual([
      { user_id: 'u1', external_id: 'x2' },
      { user_id: 'u2', external_id: 'y' },
    ]);
  });
});
