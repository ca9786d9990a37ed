// services/ingest: Kafka streams -> raw events and opt-out facts in ClickHouse.
// `startIngest` wires the pieces; main.ts runs it as a process.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clickhouseConnection, createClickHouseClient, migrate } from '@optout/clickhouse';
import { inputTopics, type KafkaConfig } from '@optout/config';
import {
  createEventCodec,
  createSchemaRegistry,
  DEFAULT_SUBJECTS,
  schemaRegistryConnection,
  subjectsForTopics,
} from '@optout/events';
import {
  checkCoPartitioned,
  createAdmin,
  createKafka,
  kafkaConnection,
  partitionCounts,
} from '@optout/kafka';
import { createLogger, createRegistry, type Logger, startProbeServer } from '@optout/observability';
import type { IngestConfig } from './config.ts';
import { createIngestMetrics, registerFlowMetrics, registerStateGauges } from './metrics.ts';
import { IngestPipeline } from './pipeline/pipeline.ts';
import { PartitionCountChanged } from './pipeline/round.ts';
import { ensureConsentIndex } from './state/consent-index-build.ts';

export { type IngestConfig, ingestShape, loadIngestConfig } from './config.ts';

export interface IngestHandle {
  pipeline: IngestPipeline;
  /** Port of /healthz, /readyz, /metrics. */
  port: number;
  logger: Logger;
  /** Resolves with the error that made the pipeline give up (e.g. repartitioned topics). */
  fatal: Promise<Error>;
  stop(): Promise<void>;
}

/** The partition count every co-partitioned topic has, or an error naming them. */
async function coPartitionedCount(config: KafkaConfig, topics: string[], logger: Logger): Promise<number> {
  const admin = createAdmin(
    createKafka({ ...kafkaConnection(config), clientId: `${config.KAFKA_CLIENT_ID}-ingest-admin`, logger }),
  );
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
  // On a cluster (CLICKHOUSE_CLUSTER) the connection carries the cluster, and
  // the client sends CLUSTER_WRITER_SETTINGS with every request: an INSERT
  // returns once every replica holds its rows, so what a round reads back
  // (recompute, restore) includes what it and every earlier round wrote.
  const clickhouse = createClickHouseClient({
    ...clickhouseConnection(config),
    database: config.CLICKHOUSE_DATABASE,
    application: 'optout-ingest',
    logger,
  });
  if (config.INGEST_MIGRATE) {
    const admin = createClickHouseClient({ ...clickhouseConnection(config), logger });
    const result = await migrate(admin, { database: config.CLICKHOUSE_DATABASE });
    await admin.close();
    logger.info({ event: 'migrations', applied: result.applied }, 'ClickHouse schema up to date');
  }
  const topics = inputTopics(config);
  const coPartitioned = [...Object.values(topics), config.TOPIC_CONTROL];
  const partitionCount = await coPartitionedCount(config, coPartitioned, logger);
  await ensureConsentIndex(clickhouse, partitionCount, logger);
  const kafka = createKafka({
    ...kafkaConnection(config),
    clientId: `${config.KAFKA_CLIENT_ID}-ingest`,
    logger,
  });
  const codec = createEventCodec({
    registry: createSchemaRegistry(schemaRegistryConnection(config)),
    // Subjects only matter for encoding; the bundled manifest names the default topics' subjects.
    subjects: config.SCHEMA_REGISTRY_URL ? subjectsForTopics(topics) : DEFAULT_SUBJECTS,
  });
  // The topics gaining partitions under a running ingest would route users'
  // new records elsewhere than their state: stop, and say how to go on.
  const watchAdmin = createAdmin(
    createKafka({ ...kafkaConnection(config), clientId: `${config.KAFKA_CLIENT_ID}-ingest-watch`, logger }),
  );
  const checkPartitionCount = async () => {
    await watchAdmin.connect();
    const counts = await partitionCounts(watchAdmin, coPartitioned);
    const changed = Object.entries(counts).filter(([, n]) => n !== partitionCount);
    if (changed.length > 0)
      throw new PartitionCountChanged(
        `the topics' partition counts changed while ingest ran (started with ${partitionCount}; now ${changed
          .map(([t, n]) => `${t}=${n}`)
          .join(', ')}): see docs/operations.md, "Changing the partition count"`,
      );
  };
  let reportFatal: (error: Error) => void = () => {};
  const fatal = new Promise<Error>((resolve) => {
    reportFatal = resolve;
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
    maxBytesPerPartition: config.INGEST_MAX_BYTES_PER_PARTITION,
    sessionTimeoutMs: config.INGEST_SESSION_TIMEOUT_MS,
    erasureDeadlineMs: config.ERASURE_DEADLINE_MS,
    cachedEventsPerPartition: config.INGEST_CACHE_EVENTS_PER_PARTITION,
    onFatal: (error) => reportFatal(error),
    checkPartitionCount,
  });
  registerStateGauges(registry, () => pipeline.stateStats());
  registerFlowMetrics(registry, () => pipeline.flow());
  const server: Server = await startProbeServer(config.HTTP_HOST, config.HTTP_PORT, registry, {
    healthy: () => {
      const silentMs = Date.now() - pipeline.lastAliveAt;
      return { ok: !pipeline.crashed && silentMs < 60_000, detail: { loop_silent_ms: silentMs } };
    },
    ready: async () => {
      // Not ready as soon as shutdown starts: a load balancer stops sending traffic first.
      if (pipeline.isStopping) return { ok: false, detail: { stopping: true } };
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

  const watch = setInterval(() => {
    checkPartitionCount().catch((err: unknown) => {
      if (err instanceof PartitionCountChanged) reportFatal(err);
      else logger.warn({ event: 'partition_check_failed', err }, 'could not check partition counts');
    });
  }, config.PARTITION_CHECK_INTERVAL_MS);
  watch.unref();

  await pipeline.start();
  logger.info(
    { event: 'ingest_started', partitions: partitionCount, port: (server.address() as AddressInfo).port },
    'ingest running',
  );

  return {
    pipeline,
    port: (server.address() as AddressInfo).port,
    logger,
    fatal,
    async stop() {
      clearInterval(watch);
      await pipeline.stop();
      await watchAdmin.disconnect().catch(() => {});
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await clickhouse.close();
      logger.info({ event: 'ingest_stopped' }, 'ingest stopped');
    },
  };
}
