// services/ingest: Kafka streams -> per-user state -> opt-out facts in ClickHouse.
// `startIngest` wires the pieces; main.ts runs it as a process.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClickHouseClient, migrate } from '@optout/clickhouse';
import { inputTopics, type KafkaConfig } from '@optout/config';
import { createEventCodec, createSchemaRegistry, DEFAULT_SUBJECTS, subjectsForTopics } from '@optout/events';
import { checkCoPartitioned, createKafka, partitionCounts } from '@optout/kafka';
import { createLogger, createRegistry, type Logger } from '@optout/observability';
import type { IngestConfig } from './config.ts';
import { startHttp } from './http.ts';
import { createIngestMetrics, registerStateGauges } from './metrics.ts';
import { IngestPipeline } from './pipeline/consumer.ts';

export { type IngestConfig, ingestShape, loadIngestConfig } from './config.ts';

export interface IngestHandle {
  pipeline: IngestPipeline;
  /** Port of /healthz, /readyz, /metrics. */
  port: number;
  logger: Logger;
  stop(): Promise<void>;
}

async function coPartitionedCount(config: KafkaConfig, topics: string[], logger: Logger): Promise<number> {
  const admin = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-ingest-admin`,
    logger,
  }).admin();
  await admin.connect();
  try {
    const counts = await partitionCounts(admin, topics);
    const missing = topics.filter((t) => !(t in counts));
    if (missing.length > 0)
      throw new Error(`topics missing: ${missing.join(', ')} (create them with \`npm run topics\`)`);
    checkCoPartitioned(counts);
    return counts[topics[0]!]!;
  } finally {
    await admin.disconnect();
  }
}

export async function startIngest(config: IngestConfig): Promise<IngestHandle> {
  const logger = createLogger('ingest', config.LOG_LEVEL);
  const registry = createRegistry('ingest');
  const metrics = createIngestMetrics(registry);
  const clickhouse = createClickHouseClient({
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
    application: 'optout-ingest',
  });
  if (config.INGEST_MIGRATE) {
    const admin = createClickHouseClient({
      url: config.CLICKHOUSE_URL,
      username: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
    });
    const result = await migrate(admin, { database: config.CLICKHOUSE_DATABASE });
    await admin.close();
    logger.info({ event: 'migrations', applied: result.applied }, 'ClickHouse schema up to date');
  }
  const topics = inputTopics(config);
  const partitionCount = await coPartitionedCount(
    config,
    [...Object.values(topics), config.TOPIC_CONTROL],
    logger,
  );
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-ingest`,
    logger,
  });
  const codec = createEventCodec({
    registry: createSchemaRegistry({ url: config.SCHEMA_REGISTRY_URL }),
    // Subjects only matter for encoding; the bundled manifest names the default topics' subjects.
    subjects: config.SCHEMA_REGISTRY_URL ? subjectsForTopics(topics) : DEFAULT_SUBJECTS,
  });
  const pipeline = new IngestPipeline({
    kafka,
    clickhouse,
    codec,
    logger,
    metrics,
    groupId: config.KAFKA_GROUP_ID,
    topics,
    controlTopic: config.TOPIC_CONTROL,
    dlqTopic: config.TOPIC_DLQ,
    partitionCount,
    retentionDays: config.STATE_RETENTION_DAYS,
    maxBytesPerPartition: config.INGEST_MAX_BYTES_PER_PARTITION,
    sessionTimeoutMs: config.INGEST_SESSION_TIMEOUT_MS,
  });
  registerStateGauges(registry, () => pipeline.stateStats());
  const server: Server = await startHttp(config.HTTP_HOST, config.HTTP_PORT, registry, {
    healthy: () => {
      const silentMs = Date.now() - pipeline.lastAliveAt;
      return { ok: !pipeline.crashed && silentMs < 60_000, detail: { loop_silent_ms: silentMs } };
    },
    ready: async () => {
      const clickhouseUp = await clickhouse.ping().then(
        (r) => r.success,
        () => false,
      );
      return {
        ok: clickhouseUp && pipeline.joined && !pipeline.crashed,
        detail: { clickhouse: clickhouseUp, joined: pipeline.joined },
      };
    },
  });
  await pipeline.start();
  logger.info(
    { event: 'ingest_started', partitions: partitionCount, port: (server.address() as AddressInfo).port },
    'ingest running',
  );

  return {
    pipeline,
    port: (server.address() as AddressInfo).port,
    logger,
    async stop() {
      await pipeline.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await clickhouse.close();
      logger.info({ event: 'ingest_stopped' }, 'ingest stopped');
    },
  };
}
