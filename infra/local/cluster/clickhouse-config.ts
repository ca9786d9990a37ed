// Config files of the cluster's four ClickHouse servers: the single server's
// config (../clickhouse-config.ts: loopback, paths under the state folder)
// plus what makes them one cluster of 2 shards x 2 replicas: ZooKeeper, the
// macros ({shard}, {replica}) the replicated tables' paths use, the
// distributed DDL queue, and the two cluster definitions of
// packages/clickhouse/src/cluster.ts over the same four servers.
import { writeClusterOf } from '@optout/clickhouse';
import { serverConfigXml } from '../clickhouse-config.ts';
import {
  CLICKHOUSE_NODES,
  CLUSTER_NAME,
  type ClickHouseNode,
  type ClusterSettings,
  clickhouseHttpPort,
  clickhouseTcpPort,
  interserverPort,
  replicaOf,
  zookeeperPort,
} from './settings.ts';

function shardsXml(s: ClusterSettings, internalReplication: boolean): string {
  const shards = [1, 2].map((shard) => {
    const replicas = CLICKHOUSE_NODES.filter((n) => replicaOf(n).shard === shard)
      .map((n) => `<replica><host>127.0.0.1</host><port>${clickhouseTcpPort(s, n)}</port></replica>`)
      .join('\n        ');
    return `      <shard>
        <internal_replication>${internalReplication}</internal_replication>
        ${replicas}
      </shard>`;
  });
  return shards.join('\n');
}

export function clusterServerXml(s: ClusterSettings, n: ClickHouseNode, dir: string): string {
  const { shard, replica } = replicaOf(n);
  const cluster = `
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <interserver_http_port>${interserverPort(s, n)}</interserver_http_port>
  <zookeeper>
    <node><host>127.0.0.1</host><port>${zookeeperPort(s)}</port></node>
    <session_timeout_ms>10000</session_timeout_ms>
  </zookeeper>
  <macros>
    <cluster>${CLUSTER_NAME}</cluster>
    <shard>${shard}</shard>
    <replica>${replica}</replica>
  </macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  <remote_servers>
    <!-- DDL ON CLUSTER and erasure's mutations: ReplicatedMergeTree replicates. -->
    <${CLUSTER_NAME}>
${shardsXml(s, true)}
    </${CLUSTER_NAME}>
    <!-- The Distributed tables: an INSERT writes every replica itself, and returns once all have it. -->
    <${writeClusterOf(CLUSTER_NAME)}>
${shardsXml(s, false)}
    </${writeClusterOf(CLUSTER_NAME)}>
  </remote_servers>
</yandex>`;
  return serverConfigXml({
    dir,
    httpPort: clickhouseHttpPort(s, n),
    tcpPort: clickhouseTcpPort(s, n),
  }).replace(/\n<\/yandex>\s*$/, `${cluster}\n`);
}
