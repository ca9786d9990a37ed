// Restores the state of one partition from the raw event tables in ClickHouse.
// Every event whose raw row is there has its facts written already (ingest
// writes facts first, then raw events, then commits offsets), so the restored
// transitions are marked as written; replayed records after the committed offset
// are then de-duplicated by event_id.

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
  state.markRestoredAsWritten();
  return state;
}
