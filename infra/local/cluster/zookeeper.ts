// The cluster's Apache ZooKeeper: one standalone server on loopback that the
// four ClickHouse servers coordinate replication and ON CLUSTER DDL through.
// Jars from Maven Central (infra/zookeeper/pom.xml), a java process of its own.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { ensureJars } from '../jars.ts';
import { ensurePortFree, isAlive, readPid, startDetached, waitFor } from '../processes.ts';
import { repoRoot } from '../settings.ts';
import { type ClusterSettings, ZOOKEEPER_VERSION, zookeeperLibsDir, zookeeperPort } from './settings.ts';

export function zookeeperDirs(s: ClusterSettings) {
  const dir = join(s.dir, 'zookeeper');
  return { dir, pidFile: join(dir, 'server.pid'), logFile: join(dir, 'log', 'stdout.log') };
}

export function zooCfg(dir: string, port: number): string {
  return `# Standalone, loopback only. No admin HTTP server (it would take port 8080 on every address).
tickTime=2000
dataDir=${dir}/data
clientPort=${port}
clientPortAddress=127.0.0.1
admin.enableServer=false
maxClientCnxns=0
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
4lw.commands.whitelist=srvr
`;
}

/**
 * `srvr` answers "Mode: standalone" only while the server serves requests
 * (a server whose request thread died says so, though it still accepts the
 * connection: what the missing metrics-core / snappy jars cause). ClickHouse's
 * readiness then opens real ZooKeeper sessions (clickhouse.ts).
 */
export function zookeeperReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('srvr\n'));
    socket.setTimeout(1000);
    socket.on('data', (chunk) => {
      reply += chunk.toString();
    });
    socket.on('end', () => resolve(/^Mode: standalone$/m.test(reply)));
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function zookeeperUp(s: ClusterSettings): Promise<void> {
  const { dir, pidFile, logFile } = zookeeperDirs(s);
  const port = zookeeperPort(s);
  const pid = readPid(pidFile);
  if (pid !== null && isAlive(pid)) {
    await waitFor('ZooKeeper', 30_000, () => zookeeperReady(port), logFile);
    console.log(`zookeeper:    already running (pid ${pid})`);
    return;
  }
  await ensurePortFree(port, 'STACK_CLUSTER_BASE_PORT', 'ZooKeeper (base port + 0)');
  const libs = zookeeperLibsDir(ZOOKEEPER_VERSION);
  ensureJars({
    what: `ZooKeeper ${ZOOKEEPER_VERSION}`,
    pom: join(repoRoot, 'infra/zookeeper/pom.xml'),
    libs,
    marker: `zookeeper-${ZOOKEEPER_VERSION}.jar`,
    properties: { 'zookeeper.version': ZOOKEEPER_VERSION },
  });
  mkdirSync(join(dir, 'data'), { recursive: true });
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, zooCfg(dir, port));
  const started = startDetached(
    'java',
    [
      '-Xms64m',
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      `${libs}/*`,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      cfg,
    ],
    logFile,
    pidFile,
    dir,
  );
  await waitFor('ZooKeeper', 60_000, () => zookeeperReady(port), logFile);
  console.log(`zookeeper:    started ${ZOOKEEPER_VERSION} (pid ${started}) on 127.0.0.1:${port}`);
}
