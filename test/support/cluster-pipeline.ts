// A real pipeline on the local cluster for one test (the cluster twin of
// ./pipeline.ts, with the same TestPipeline shape so the endpoint comparisons
// of test/pipeline/history.ts run on it): unique topics with replication
// factor 3 and min.insync.replicas=2, a unique database migrated ON CLUSTER,
// and ingest instances in-process or as child processes (for kill -9), each
// talking to the ClickHouse server of its choice. cleanup() removes it all.
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, dropDatabase, identifier, migrate, sql } from '@optout/clickhouse';
import { createEventCodec, createSchemaRegistry, DEFAULT_SUBJECTS, sendEvents } from '@optout/events';
import { createAdmin, createKafka, createRecordProducer, ensureTopics } from '@optout/kafka';
import {
  CLICKHOUSE_NODES,
  type ClickHouseNode,
  clusterConnection,
  clusterWriter,
  nodeClient,
  nodeUrl,
} from './cluster.ts';
import { uniqueName } from './names.ts';
import {
  ingestInstances,
  namesEnv,
  pipelineNames,
  removeKafkaResources,
  type TestPipeline,
  waitForGroupCaughtUp,
} from './pipeline.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Ingest children write their logs here (ignored by git), one file per instance. */
export const CLUSTER_LOGS = join(repoRoot, 'artifacts', 'cluster');

export interface ClusterPipeline extends TestPipeline {
  /** An ingest child process on server `node`, its log in CLUSTER_LOGS/<name>.log, /metrics on `port`. */
  spawnIngestOn(node: ClickHouseNode, name: string, port: number): ChildProcess;
}

export async function createClusterPipeline(
  options: { partitions?: number; prefix?: string } = {},
): Promise<ClusterPipeline> {
  const conn = clusterConnection();
  const brokers = conn.KAFKA_BROKERS.split(',');
  const prefix = uniqueName(options.prefix ?? 'c');
  const partitions = options.partitions ?? 12;
  const names = pipelineNames(prefix);
  const { topics, controlTopic, dlqTopic, database, groupId } = names;

  const kafka = createKafka({ brokers, clientId: `${prefix}-test` });
  const admin = createAdmin(kafka);
  await admin.connect();
  await ensureTopics(admin, {
    coPartitioned: [...Object.values(topics), controlTopic],
    dlq: dlqTopic,
    partitions,
    replicationFactor: 3,
    minInsyncReplicas: 2,
  });
  const producer = createRecordProducer(kafka, { idempotent: false });
  await producer.connect();

  const root = clusterWriter();
  await createDatabase(root, database);
  await migrate(root, { database });
  const clickhouse = clusterWriter(database);
  const codec = createEventCodec({ registry: createSchemaRegistry(), subjects: DEFAULT_SUBJECTS });
  const env: Record<string, string> = {
    KAFKA_BROKERS: brokers.join(','),
    ...namesEnv(names),
    CLICKHOUSE_URL: conn.CLICKHOUSE_URL,
    CLICKHOUSE_USER: conn.CLICKHOUSE_USER,
    CLICKHOUSE_PASSWORD: conn.CLICKHOUSE_PASSWORD,
    CLICKHOUSE_DATABASE: database,
    CLICKHOUSE_CLUSTER: conn.CLICKHOUSE_CLUSTER,
    CLICKHOUSE_REPLICA_URLS: conn.CLICKHOUSE_REPLICA_URLS,
    HTTP_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    INGEST_MIGRATE: 'false',
    INGEST_SESSION_TIMEOUT_MS: '10000',
  };
  const ingest = ingestInstances(env);
  mkdirSync(CLUSTER_LOGS, { recursive: true });
  const logTo = (log: string) => {
    const out = openSync(join(CLUSTER_LOGS, `${log}.log`), 'a');
    return ['ignore', out, out] as StdioOptions;
  };

  return {
    database,
    groupId,
    topics,
    controlTopic,
    dlqTopic,
    partitions,
    clickhouse,
    admin,
    codec,
    env,
    async produce(events) {
      // While a broker is down its partitions have no leader until the
      // controllers fence it (seconds), longer than the producer's own
      // retries: send again, as any producer of a cluster must. A repeat only
      // adds duplicates, which the pipeline ignores.
      const until = Date.now() + 120_000;
      for (;;) {
        try {
          return await sendEvents(producer, codec, topics, events);
        } catch (error) {
          if (Date.now() > until) throw error;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    },
    async produceRaw(topic, records) {
      await producer.send(topic, records);
    },
    startIngest: (overrides = {}) => ingest.start(overrides),
    stopIngest: () => ingest.stop(),
    spawnIngest: (overrides = {}) => ingest.spawn(overrides, 'ignore'),
    spawnIngestOn: (node, name, port) =>
      ingest.spawn({ CLICKHOUSE_URL: nodeUrl(node), HTTP_PORT: String(port) }, logTo(`${prefix}-${name}`)),
    async waitForCaughtUp(timeoutMs = 120_000) {
      // Brokers are killed under it: the group coordinator may be moving.
      await waitForGroupCaughtUp(admin, names, timeoutMs, { pollMs: 250, retryUnavailable: true });
    },
    async cleanup() {
      await ingest.stopAll();
      await producer.disconnect();
      await removeKafkaResources(admin, names);
      await admin.disconnect();
      await clickhouse.close();
      await root.close();
      // On each server itself, not ON CLUSTER: a replica just restarted may
      // work through its distributed DDL queue for longer than a request lasts.
      // All four at once, and on each its tables at once (dropOnServer).
      await Promise.all(CLICKHOUSE_NODES.map((n) => dropOnServer(n, database)));
    },
  };
}

/**
 * Drops `database` on one server, its replicated tables all at once first.
 * Dropping a replicated table removes its replica from ZooKeeper node by node,
 * and DROP DATABASE drops the tables one after the other: after the fault
 * test that took 140-160 s per server here (2-18 s a table, 22 tables), and
 * over the client's 180 s in CI. The same 22 tables dropped concurrently took
 * 4.8 s.
 */
async function dropOnServer(n: ClickHouseNode, database: string): Promise<void> {
  const server = nodeClient(n, undefined, 300_000);
  try {
    const tables = await server.query({
      query: sql`SELECT name FROM system.tables
                 WHERE database = ${database} AND engine LIKE 'Replicated%'`.text,
      format: 'JSONEachRow',
    });
    const names = (await tables.json<{ name: string }>()).map((t) => t.name);
    await Promise.all(
      names.map((name) =>
        server.command({ query: sql`DROP TABLE IF EXISTS ${identifier(database, name)}`.text }),
      ),
    );
    await dropDatabase(server, database);
  } finally {
    await server.close();
  }
}
