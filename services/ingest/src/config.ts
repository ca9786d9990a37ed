// Ingest configuration (SPEC 7), validated once at start-up.
import {
  ConfigError,
  clickhouseShape,
  httpShape,
  kafkaShape,
  loadConfigOrExit,
  loggingShape,
  parseEnv,
  positiveInt,
} from '@optout/config';
import { z } from 'zod';

export const ingestShape = {
  ...kafkaShape,
  ...clickhouseShape,
  ...httpShape(8081),
  ...loggingShape,
  KAFKA_GROUP_ID: z.string().trim().min(1).default('optout-ingest'),
  INGEST_MAX_BYTES_PER_PARTITION: positiveInt(2 * 1024 * 1024),
  INGEST_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(30_000),
  /** Run the ClickHouse migrations at start-up (idempotent). */
  INGEST_MIGRATE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /**
   * Events of recently read histories each partition keeps in memory, so that
   * the same users are not read back round after round (about 40 bytes each).
   */
  INGEST_CACHE_EVENTS_PER_PARTITION: z.coerce.number().int().min(0).default(250_000),
  /** An erasure whose mutations are not done after this long reads `failed` (and is still waited for). */
  ERASURE_DEADLINE_MS: positiveInt(10 * 60_000),
  /** How often the topics' partition counts are checked against the ones at start-up. */
  PARTITION_CHECK_INTERVAL_MS: positiveInt(30_000),
  SHUTDOWN_TIMEOUT_MS: positiveInt(30_000),
};

export type IngestConfig = z.infer<z.ZodObject<typeof ingestShape>>;

/**
 * On a cluster, erasure deletes through one replica of each shard and waits
 * for every server (pipeline/erasure.ts): ingest refuses to start without them.
 */
export function parseIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const config = parseEnv(ingestShape, env);
  if (config.CLICKHOUSE_CLUSTER !== undefined && config.CLICKHOUSE_REPLICA_URLS === undefined)
    throw new ConfigError(
      `invalid configuration:\n  CLICKHOUSE_REPLICA_URLS: required with CLICKHOUSE_CLUSTER=${config.CLICKHOUSE_CLUSTER} (every server of the cluster, comma-separated) (not set)`,
    );
  return config;
}

export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  return loadConfigOrExit(() => parseIngestConfig(env));
}
