// Restores the state of one partition from ClickHouse: the events from the raw
// event tables, and which transitions are live in consent_transitions.
//
// The second part matters after a crash. Facts are written before raw events,
// so ClickHouse may hold facts of a state that never became durable, and the
// redelivered records may arrive in another order and imply other transitions.
// Knowing what is actually written, the first batch that touches such a user
// tombstones what no longer holds and rewrites the rest (their digest is unknown).
// Redelivered records already held are de-duplicated by event_id.

import type { ClickHouseClient } from '@optout/clickhouse';
import { sql } from '@optout/clickhouse';
import type { Channel } from '@optout/events';
import { PartitionState } from './partition-state.ts';

interface RestoreOptions {
  client: ClickHouseClient;
  partition: number;
  partitionCount: number;
  /** Pushes, interactions and app events older than this (epoch ms) are not needed. */
  horizon: number;
  /** Called now and then during a long restore (consumer heartbeat). */
  heartbeat?: () => Promise<void>;
}

async function each(
  client: ClickHouseClient,
  query: string,
  onRow: (row: Record<string, string>) => void,
  heartbeat?: () => Promise<void>,
) {
  const result = await client.query({ query, format: 'JSONEachRow' });
  let n = 0;
  for await (const rows of result.stream<Record<string, string>>()) {
    for (const row of rows) onRow(row.json());
    n += rows.length;
    if (n >= 50_000 && heartbeat) {
      n = 0;
      await heartbeat();
    }
  }
}

export async function restorePartition(options: RestoreOptions): Promise<PartitionState> {
  const { client, partition, partitionCount, horizon, heartbeat } = options;
  const state = new PartitionState(partition);
  const mine = sql`key_hash % ${partitionCount} = ${partition}`;
  const since = sql`occurred_at_ms >= ${horizon}`;
  const t = (row: Record<string, string>) => Number(row.occurred_at_ms);

  await each(
    client,
    sql`SELECT app_id, user_id, event_id, occurred_at_ms, channel, status, source FROM raw_consent_changes WHERE ${mine}`
      .text,
    (r) => {
      state.user(r.app_id!, r.user_id!).addConsent(r.channel as Channel, {
        t: t(r),
        id: r.event_id!,
        status: r.status as 'OPTED_IN' | 'OPTED_OUT',
        source: (r.source as string | null) ?? null,
      });
    },
    heartbeat,
  );
  await each(
    client,
    sql`SELECT app_id, user_id, event_id, occurred_at_ms FROM raw_push_sent WHERE ${mine} AND ${since}`.text,
    (r) => void state.user(r.app_id!, r.user_id!).addPush(t(r), r.event_id!),
    heartbeat,
  );
  await each(
    client,
    sql`SELECT app_id, user_id, event_id, occurred_at_ms, campaign_id, interaction FROM raw_campaign_interactions WHERE ${mine} AND ${since}`
      .text,
    (r) =>
      void state
        .user(r.app_id!, r.user_id!)
        .addInteraction(t(r), r.event_id!, r.campaign_id!, r.interaction!),
    heartbeat,
  );
  await each(
    client,
    sql`SELECT app_id, user_id, event_id, occurred_at_ms, event_name FROM raw_app_events WHERE ${mine} AND ${since}`
      .text,
    (r) => void state.user(r.app_id!, r.user_id!).addAppEvent(t(r), r.event_id!, r.event_name!),
    heartbeat,
  );
  await each(
    client,
    sql`SELECT app_id, user_id, channel, transition_id, argMax(occurred_at_ms, version) AS occurred_at_ms,
               argMax(is_deleted, version) AS deleted
        FROM consent_transitions WHERE ${mine}
        GROUP BY app_id, user_id, channel, transition_id HAVING deleted = 0`.text,
    (r) => {
      state
        .user(r.app_id!, r.user_id!)
        .markWritten(r.transition_id!, { channel: r.channel as Channel, digest: '', t: t(r) });
    },
    heartbeat,
  );
  return state;
}
