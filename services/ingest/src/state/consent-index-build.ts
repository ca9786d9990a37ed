// consent_index holds the consent changes routed by the Kafka partition of the
// user's key for one partition count. Ingest makes sure the index of the
// current count exists before it consumes: after the first start, a migration
// from an older layout, or a change of the topics' partition count, it is
// rebuilt from raw_consent (the durable truth). Idempotent: two instances that
// both rebuild write the same rows, which ReplacingMergeTree collapses.
import { type ClickHouseClient, identifier, join, sql, TABLES } from '@optout/clickhouse';
import type { Logger } from '@optout/observability';

export async function ensureConsentIndex(
  client: ClickHouseClient,
  partitions: number,
  logger: Logger,
): Promise<void> {
  const result = await client.query({
    query: sql`SELECT count() AS n FROM ${identifier(TABLES.consent_index_builds.name)}
               WHERE kafka_partitions = ${partitions}`.text,
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: string }>();
  if (Number(row?.n ?? 0) > 0) return;
  const started = Date.now();
  const columns = join(TABLES.consent_index.columns.map((c) => identifier(c.name)));
  await client.command({
    query: sql`INSERT INTO ${identifier(TABLES.consent_index.name)} (${columns})
      SELECT toUInt16(${partitions}), toUInt16(key_hash % ${partitions}), key_hash, app_id, user_id,
             channel, occurred_at_ms, status
      FROM ${identifier(TABLES.raw_consent.name)}`.text,
  });
  await client.command({
    query: sql`INSERT INTO ${identifier(TABLES.consent_index_builds.name)} (kafka_partitions, built_at)
      VALUES (${partitions}, toDateTime(${Math.floor(Date.now() / 1000)}, 'UTC'))`.text,
  });
  logger.info(
    { event: 'consent_index_built', partitions, seconds: (Date.now() - started) / 1000 },
    'consent index built for this partition count',
  );
}
