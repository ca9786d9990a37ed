// The local cluster for the cluster tests (test/cluster/): its connection,
// a client per ClickHouse server (to look at one replica's own tables), and
// the faults the tests inject (a broker killed with -9, a replica stopped).
// The cluster is the one of `npm run stack:up -- --cluster`
// (infra/local/cluster/), brought up by test/support/cluster-setup.ts.
import { type ClickHouseClient, createClickHouseClient } from '@optout/clickhouse';
import { createAdmin, createKafka, type KafkaAdmin } from '@optout/kafka';
import {
  clickhouseNodeStart,
  clickhouseNodeStop,
  clickhouseNodeWait,
  clickhouseUrl,
} from '../../infra/local/cluster/clickhouse.ts';
import { kafkaNodeKill, kafkaNodeReady, kafkaNodeStart } from '../../infra/local/cluster/kafka.ts';
import {
  CLICKHOUSE_NODES,
  type ClickHouseNode,
  type ClusterSettings,
  clusterSettingsFromEnv,
  KAFKA_NODES,
  type KafkaNode,
  kafkaPort,
  replicaOf,
} from '../../infra/local/cluster/settings.ts';
import { type ClusterConnection, clusterConnectionOf } from '../../infra/local/cluster/stack.ts';

/** Set by the cluster tests' vitest config: in the main run, the cluster tests are skipped. */
export const clusterTestsEnabled = process.env.OPTOUT_CLUSTER_TESTS === '1';

export function clusterSettings(): ClusterSettings {
  return clusterSettingsFromEnv();
}

export function clusterConnection(): ClusterConnection {
  return clusterConnectionOf(clusterSettings());
}

export { CLICKHOUSE_NODES, type ClickHouseNode, KAFKA_NODES, type KafkaNode, replicaOf };

/** A writer on the cluster (the default user, CLICKHOUSE_CLUSTER set): migrations, test fixtures. */
export function clusterWriter(database?: string): ClickHouseClient {
  const c = clusterConnection();
  return createClickHouseClient({
    url: c.CLICKHOUSE_URL,
    username: c.CLICKHOUSE_USER,
    password: c.CLICKHOUSE_PASSWORD,
    cluster: c.CLICKHOUSE_CLUSTER,
    replicaUrls: c.CLICKHOUSE_REPLICA_URLS.split(','),
    ...(database ? { database } : {}),
  });
}

/** A client of one server, without the cluster: what that replica itself holds (its _local tables). */
export function nodeClient(
  n: ClickHouseNode,
  database?: string,
  requestTimeoutMs?: number,
): ClickHouseClient {
  return createClickHouseClient({
    url: clickhouseUrl(clusterSettings(), n),
    username: 'default',
    password: '',
    ...(database ? { database } : {}),
    ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
  });
}

export const nodeUrl = (n: ClickHouseNode) => clickhouseUrl(clusterSettings(), n);

export function clusterAdmin(clientId: string): KafkaAdmin {
  return createAdmin(createKafka({ brokers: clusterConnection().KAFKA_BROKERS.split(','), clientId }));
}

/** The node whose broker leads the most partitions of `topics` (the one to kill). */
export async function busiestLeader(admin: KafkaAdmin, topics: string[]): Promise<KafkaNode> {
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
  const led = new Map<number, number>();
  for (const t of metadata) for (const p of t.partitions) led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
  const [leader] = [...led.entries()].sort((a, b) => b[1] - a[1])[0]!;
  if (!KAFKA_NODES.includes(leader as KafkaNode)) throw new Error(`unknown leader ${leader}`);
  return leader as KafkaNode;
}

/** kill -9 of a Kafka node, then the same node again on the same storage once `during` resolves. */
export async function crashBroker(k: KafkaNode, during: () => Promise<void>): Promise<void> {
  const s = clusterSettings();
  kafkaNodeKill(s, k);
  try {
    await during();
  } finally {
    await kafkaNodeStart(s, k);
    // A restarted broker replays the metadata log first: on a loaded machine
    // (a load average of 19 here) that took over the stack's usual 120 s.
    await kafkaNodeReady(s, k, 240_000);
  }
}

/** A ClickHouse server stopped (SIGTERM), and started again once `during` resolves. */
export async function stopReplica(n: ClickHouseNode, during: () => Promise<void>): Promise<void> {
  const s = clusterSettings();
  await clickhouseNodeStop(s, n);
  try {
    await during();
  } finally {
    await clickhouseNodeStart(s, n);
    await clickhouseNodeWait(s, n);
  }
}

/** optout_clickhouse_retries_total of an ingest instance (its /metrics): ClickHouse calls it had to repeat. */
export async function clickhouseRetries(ingestPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${ingestPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('optout_clickhouse_retries_total')) total += Number(line.split(' ').pop());
  return total;
}

export const brokerAddress = (k: KafkaNode) => `127.0.0.1:${kafkaPort(clusterSettings(), k)}`;
