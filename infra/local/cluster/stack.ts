// The local cluster: ZooKeeper, four ClickHouse servers (2 shards x 2
// replicas) and three Kafka KRaft nodes, as plain processes bound to
// 127.0.0.1, every file under <state>/cluster/ (settings.ts for the ports).
//
//   npm run stack:up -- --cluster | stack:down -- --cluster | stack:status -- --cluster
//
// `up` is idempotent: a process we started that still runs is left alone, a
// missing one is started, and each is ready only when a real client call
// says so. `down` stops exactly the processes whose pids we recorded.
import { mkdirSync } from 'node:fs';
import { READER_PASSWORD, READER_USER } from '../clickhouse-config.ts';
import { isAlive, readPid, stopPid } from '../processes.ts';
import type { StackConnection } from '../stack.ts';
import {
  clickhouseClusterUp,
  clickhouseNodeDirs,
  clickhouseNodeReady,
  clickhouseNodeStop,
  clickhouseUrl,
} from './clickhouse.ts';
import { brokerList, kafkaClusterReady, kafkaClusterUp, kafkaNodeDirs, kafkaNodeStop } from './kafka.ts';
import {
  CLICKHOUSE_NODES,
  CLUSTER_NAME,
  type ClusterSettings,
  clusterSettingsFromEnv,
  KAFKA_NODES,
  kafkaPort,
  replicaOf,
  zookeeperPort,
} from './settings.ts';
import { zookeeperDirs, zookeeperReady, zookeeperUp } from './zookeeper.ts';

/** What the services need to use the cluster: the single-node stack's variables plus the cluster's. */
export interface ClusterConnection extends StackConnection {
  CLICKHOUSE_CLUSTER: string;
  /** Every server, for ingest's erasure (packages/config). */
  CLICKHOUSE_REPLICA_URLS: string;
}

export function clusterConnectionOf(s: ClusterSettings): ClusterConnection {
  return {
    KAFKA_BROKERS: brokerList(s).join(','),
    CLICKHOUSE_URL: clickhouseUrl(s, 1),
    CLICKHOUSE_USER: 'default',
    CLICKHOUSE_PASSWORD: '',
    CLICKHOUSE_READER_USER: READER_USER,
    CLICKHOUSE_READER_PASSWORD: READER_PASSWORD,
    CLICKHOUSE_CLUSTER: CLUSTER_NAME,
    CLICKHOUSE_REPLICA_URLS: CLICKHOUSE_NODES.map((n) => clickhouseUrl(s, n)).join(','),
  };
}

export async function clusterUp(s: ClusterSettings = clusterSettingsFromEnv()): Promise<ClusterConnection> {
  mkdirSync(s.dir, { recursive: true });
  // In this order: the servers need ZooKeeper; Kafka last, one CPU-heavy start after the other.
  await zookeeperUp(s);
  await clickhouseClusterUp(s);
  await kafkaClusterUp(s);
  return clusterConnectionOf(s);
}

export async function clusterDown(s: ClusterSettings = clusterSettingsFromEnv()): Promise<void> {
  for (const k of KAFKA_NODES) await kafkaNodeStop(s, k);
  for (const n of CLICKHOUSE_NODES) await clickhouseNodeStop(s, n);
  await stopPid('zookeeper', zookeeperDirs(s).pidFile);
}

const runningPid = (pidFile: string) => {
  const pid = readPid(pidFile);
  return pid !== null && isAlive(pid) ? pid : null;
};

export async function clusterStatus(s: ClusterSettings = clusterSettingsFromEnv()): Promise<boolean> {
  const lines: [string, number | null, boolean, string][] = [];
  const zkPid = runningPid(zookeeperDirs(s).pidFile);
  lines.push([
    'zookeeper',
    zkPid,
    zkPid !== null && (await zookeeperReady(zookeeperPort(s))),
    `127.0.0.1:${zookeeperPort(s)}`,
  ]);
  for (const n of CLICKHOUSE_NODES) {
    const pid = runningPid(clickhouseNodeDirs(s, n).pidFile);
    const where = `${clickhouseUrl(s, n)} (shard ${replicaOf(n).shard}, ${replicaOf(n).replica})`;
    lines.push([`clickhouse-${n}`, pid, pid !== null && (await clickhouseNodeReady(s, n)), where]);
  }
  const kafkaPids = KAFKA_NODES.map((k) => runningPid(kafkaNodeDirs(s, k).pidFile));
  const kafkaInSync = kafkaPids.every((p) => p !== null) && (await kafkaClusterReady(s));
  KAFKA_NODES.forEach((k, i) => {
    lines.push([
      `kafka-${k}`,
      kafkaPids[i]!,
      kafkaPids[i] !== null && kafkaInSync,
      `127.0.0.1:${kafkaPort(s, k)}`,
    ]);
  });
  for (const [name, pid, up, where] of lines)
    console.log(
      `${name.padEnd(13)} ${up ? `up (pid ${pid}) ${where}` : pid === null ? 'down' : `not ready (pid ${pid})`}`,
    );
  return lines.every(([, , up]) => up);
}

export function printClusterConnection(conn: ClusterConnection): void {
  console.log('\nConnection settings:');
  for (const [key, value] of Object.entries(conn)) console.log(`  export ${key}=${value}`);
}
