// Restores the state of one partition from ClickHouse when it is assigned: the
// consent index rows routed to it (a range of consent_index's sort key, so
// ClickHouse reads this partition's rows only) and the erasure ledger of its
// users. Nothing else: facts are recomputed from the raw events on demand.
//
// It does not heartbeat: it is a handful of bytes per user with consent
// changes (about 1 s for 250,000 users here), well inside the rebalance
// timeout, and a rebalance during it must not make it fail and start over.
import { type ClickHouseClient, identifier, sql, TABLES } from '@optout/clickhouse';
import type { Channel, ConsentStatus } from '@optout/events';
import { PartitionState } from './partition-state.ts';

export interface RestoreStats {
  changes: number;
  erasures: number;
}

async function eachLine(client: ClickHouseClient, query: string, onLine: (fields: string[]) => void) {
  const result = await client.query({ query, format: 'TabSeparated' });
  for await (const rows of result.stream()) {
    for (const row of rows) onLine(row.text.split('\t'));
  }
}

export async function restorePartition(
  client: ClickHouseClient,
  partition: number,
  partitionCount: number,
  cachedEvents = 0,
): Promise<{ state: PartitionState; stats: RestoreStats }> {
  const state = new PartitionState(partition, cachedEvents);
  const stats: RestoreStats = { changes: 0, erasures: 0 };
  await eachLine(
    client,
    sql`SELECT key_hash, channel, occurred_at_ms, status FROM ${identifier(TABLES.consent_index.name)}
        WHERE kafka_partitions = ${partitionCount} AND kafka_partition = ${partition}`.text,
    ([hash, channel, t, status]) => {
      state.index.add(Number(hash), Number(t), channel as Channel, status as ConsentStatus);
      stats.changes++;
    },
  );
  const erased = await client.query({
    query:
      sql`SELECT app_id, user_id, max(erased_through_ms) AS through FROM ${identifier(TABLES.erased_users.name)}
        WHERE key_hash % ${partitionCount} = ${partition} GROUP BY app_id, user_id`.text,
    format: 'JSONEachRow',
  });
  for (const row of await erased.json<{ app_id: string; user_id: string; through: string }>()) {
    state.recordErasure(`${row.app_id}:${row.user_id}`, Number(row.through));
    stats.erasures++;
  }
  return { state, stats };
}
