// The cluster's four ClickHouse servers (2 shards x 2 replicas), each a
// clickhouse-server process with a config of its own under
// <state>/cluster/clickhouse-<n>/. The binary is the one the single-node stack
// uses (clickhouseCommand: a current `clickhouse` on PATH, else Debian's 18.16
// clickhouse-server, installed with apt-get when root).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clickhouseCommand, clickhouseReady } from '../clickhouse.ts';
import { usersXml } from '../clickhouse-config.ts';
import { ensurePortFree, isAlive, readPid, startDetached, stopPid, waitFor } from '../processes.ts';
import { clusterServerXml } from './clickhouse-config.ts';
import {
  CLICKHOUSE_NODES,
  CLUSTER_NAME,
  type ClickHouseNode,
  type ClusterSettings,
  clickhouseHttpPort,
  clickhouseTcpPort,
  interserverPort,
  replicaOf,
} from './settings.ts';

export function clickhouseNodeDirs(s: ClusterSettings, n: ClickHouseNode) {
  const dir = join(s.dir, `clickhouse-${n}`);
  return {
    dir,
    pidFile: join(dir, 'server.pid'),
    logFile: join(dir, 'log', 'stdout.log'),
    errorLog: join(dir, 'log', 'server.err.log'),
  };
}

export const clickhouseUrl = (s: ClusterSettings, n: ClickHouseNode) =>
  `http://127.0.0.1:${clickhouseHttpPort(s, n)}`;

async function answer(url: string, query: string): Promise<string | null> {
  try {
    const response = await fetch(`${url}/?query=${encodeURIComponent(query)}`, {
      signal: AbortSignal.timeout(2000),
    });
    return response.ok ? (await response.text()).trim() : null;
  } catch {
    return null;
  }
}

/**
 * Server n answers, holds a ZooKeeper session (a read of the tree, which the
 * replicated tables and the DDL queue need), and knows both clusters.
 */
export async function clickhouseNodeReady(s: ClusterSettings, n: ClickHouseNode): Promise<boolean> {
  const url = clickhouseUrl(s, n);
  if (!(await clickhouseReady(url))) return false;
  const zookeeper = await answer(url, "SELECT count() > 0 FROM system.zookeeper WHERE path = '/'");
  const clusters = await answer(
    url,
    `SELECT uniqExact(cluster) FROM system.clusters WHERE cluster IN ('${CLUSTER_NAME}', '${CLUSTER_NAME}_writes')`,
  );
  return zookeeper === '1' && clusters === '2';
}

export async function clickhouseNodeStart(s: ClusterSettings, n: ClickHouseNode): Promise<void> {
  const { dir, pidFile, logFile } = clickhouseNodeDirs(s, n);
  const pid = readPid(pidFile);
  if (pid !== null && isAlive(pid)) return;
  const what = `ClickHouse ${replicaOf(n).replica}`;
  await ensurePortFree(
    clickhouseHttpPort(s, n),
    'STACK_CLUSTER_BASE_PORT',
    `${what} HTTP (base port + ${30 + n})`,
  );
  await ensurePortFree(
    clickhouseTcpPort(s, n),
    'STACK_CLUSTER_BASE_PORT',
    `${what} TCP (base port + ${40 + n})`,
  );
  await ensurePortFree(
    interserverPort(s, n),
    'STACK_CLUSTER_BASE_PORT',
    `${what} interserver HTTP (base port + ${50 + n})`,
  );
  const { cmd, args } = clickhouseCommand();
  for (const sub of ['data', 'log']) mkdirSync(join(dir, sub), { recursive: true });
  const config = join(dir, 'config.xml');
  writeFileSync(config, clusterServerXml(s, n, dir));
  writeFileSync(join(dir, 'users.xml'), usersXml());
  startDetached(cmd, [...args, `--config-file=${config}`], logFile, pidFile, dir);
}

export async function clickhouseNodeWait(s: ClusterSettings, n: ClickHouseNode, deadlineMs = 60_000) {
  const { errorLog } = clickhouseNodeDirs(s, n);
  await waitFor(`ClickHouse ${replicaOf(n).replica}`, deadlineMs, () => clickhouseNodeReady(s, n), errorLog);
}

export async function clickhouseNodeStop(s: ClusterSettings, n: ClickHouseNode): Promise<void> {
  await stopPid(`clickhouse-${n}`, clickhouseNodeDirs(s, n).pidFile);
}

/** Every server sees every other over the native protocol (a query through remote()). */
async function interconnected(s: ClusterSettings): Promise<boolean> {
  const all = CLICKHOUSE_NODES.map((n) => `127.0.0.1:${clickhouseTcpPort(s, n)}`).join(',');
  return (await answer(clickhouseUrl(s, 1), `SELECT count() FROM remote('${all}', system, one)`)) === '4';
}

export async function clickhouseClusterUp(s: ClusterSettings): Promise<void> {
  const running = CLICKHOUSE_NODES.filter((n) => {
    const pid = readPid(clickhouseNodeDirs(s, n).pidFile);
    return pid !== null && isAlive(pid);
  });
  for (const n of CLICKHOUSE_NODES) await clickhouseNodeStart(s, n);
  for (const n of CLICKHOUSE_NODES) await clickhouseNodeWait(s, n);
  await waitFor(
    'the ClickHouse servers to reach each other',
    30_000,
    () => interconnected(s),
    clickhouseNodeDirs(s, 1).errorLog,
  );
  for (const n of CLICKHOUSE_NODES) {
    const { shard, replica } = replicaOf(n);
    const pid = readPid(clickhouseNodeDirs(s, n).pidFile);
    const how = running.includes(n) ? 'already running' : 'started';
    console.log(
      `clickhouse-${n}: ${how} (pid ${pid}), shard ${shard} replica ${replica}, ${clickhouseUrl(s, n)}`,
    );
  }
}
