// The local cluster (`npm run stack:up -- --cluster`): where it keeps its
// files and which loopback ports it binds. One base port places everything, so
// a second cluster (or CI beside a developer's) moves with one variable:
//
//   OPTOUT_LOCAL_DIR          state folder of the stacks (default <repo>/.local); the cluster uses <it>/cluster
//   STACK_CLUSTER_BASE_PORT   first port of the cluster's block (default 29000, below the ephemeral range)
//   STACK_KAFKA_VERSION       as for the single-node stack (default 4.4.0)
//
//   base + 0                   ZooKeeper client port
//   base + 10 + k, k = 1..3    Kafka broker k (PLAINTEXT); base + 20 + k its KRaft controller
//   base + 30 + n, n = 1..4    ClickHouse server n, HTTP; base + 40 + n native TCP; base + 50 + n interserver
//
// Servers 1 and 2 are shard 1 (replicas s1r1, s1r2), 3 and 4 shard 2.
import { join, resolve } from 'node:path';
import { kafkaVersionFromEnv, repoRoot, StackError } from '../settings.ts';

/** The <remote_servers> name of the DDL cluster; its twin for writes is writeClusterOf(it). */
export const CLUSTER_NAME = 'optout';
export const KAFKA_NODES = [1, 2, 3] as const;
export const CLICKHOUSE_NODES = [1, 2, 3, 4] as const;
export const ZOOKEEPER_VERSION = '3.9.5';

export type KafkaNode = (typeof KAFKA_NODES)[number];
export type ClickHouseNode = (typeof CLICKHOUSE_NODES)[number];

export interface ClusterSettings {
  /** <OPTOUT_LOCAL_DIR>/cluster */
  dir: string;
  kafkaVersion: string;
  basePort: number;
}

export const DEFAULT_BASE_PORT = 29_000;
const LAST_OFFSET = 54;

export function clusterSettingsFromEnv(): ClusterSettings {
  const raw = process.env.STACK_CLUSTER_BASE_PORT;
  const basePort = raw === undefined || raw === '' ? DEFAULT_BASE_PORT : Number(raw);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + LAST_OFFSET > 65535) {
    throw new StackError(
      `STACK_CLUSTER_BASE_PORT must be a port number from 1024 to ${65535 - LAST_OFFSET} (the cluster uses it and the ${LAST_OFFSET} after it), got ${JSON.stringify(raw)}`,
    );
  }
  const localDir = resolve(process.env.OPTOUT_LOCAL_DIR ?? join(repoRoot, '.local'));
  return { dir: join(localDir, 'cluster'), kafkaVersion: kafkaVersionFromEnv(), basePort };
}

export const zookeeperPort = (s: ClusterSettings) => s.basePort;
export const kafkaPort = (s: ClusterSettings, k: KafkaNode) => s.basePort + 10 + k;
export const controllerPort = (s: ClusterSettings, k: KafkaNode) => s.basePort + 20 + k;
export const clickhouseHttpPort = (s: ClusterSettings, n: ClickHouseNode) => s.basePort + 30 + n;
export const clickhouseTcpPort = (s: ClusterSettings, n: ClickHouseNode) => s.basePort + 40 + n;
export const interserverPort = (s: ClusterSettings, n: ClickHouseNode) => s.basePort + 50 + n;

/** Shard (1, 2) and replica name of a ClickHouse server: 1, 2 -> shard 1; 3, 4 -> shard 2. */
export function replicaOf(n: ClickHouseNode): { shard: number; replica: string } {
  const shard = Math.ceil(n / 2);
  return { shard, replica: `s${shard}r${n - 2 * (shard - 1)}` };
}

/** The jars of one ZooKeeper release, shared by every state folder of this checkout. */
export function zookeeperLibsDir(version: string): string {
  return join(repoRoot, '.local', 'zookeeper-libs', version);
}
