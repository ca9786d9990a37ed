// The cluster's Kafka: three KRaft nodes, each broker and controller (a
// controller quorum of three survives one node down), on loopback ports of
// their own. Topics default to replication factor 3 with min.insync.replicas=2,
// and producers send acks=all (packages/kafka/src/producer.ts): a write
// acknowledged by Kafka is on two brokers at least.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureJars } from '../jars.ts';
import { brokerLogging, kafkaJars, kafkaReady } from '../kafka.ts';
import { ensurePortFree, isAlive, readPid, startDetached, stopPid, waitFor } from '../processes.ts';
import { kafkaLibsDir, StackError } from '../settings.ts';
import { type ClusterSettings, controllerPort, KAFKA_NODES, type KafkaNode, kafkaPort } from './settings.ts';

export function kafkaNodeDirs(s: ClusterSettings, k: KafkaNode) {
  const dir = join(s.dir, `kafka-${k}`);
  return { dir, pidFile: join(dir, 'broker.pid'), logFile: join(dir, 'log', 'stdout.log') };
}

export const brokerList = (s: ClusterSettings) => KAFKA_NODES.map((k) => `127.0.0.1:${kafkaPort(s, k)}`);

export function clusterServerProperties(s: ClusterSettings, k: KafkaNode, dir: string): string {
  const voters = KAFKA_NODES.map((n) => `${n}@127.0.0.1:${controllerPort(s, n)}`).join(',');
  return `process.roles=broker,controller
node.id=${k}
controller.quorum.voters=${voters}
listeners=PLAINTEXT://127.0.0.1:${kafkaPort(s, k)},CONTROLLER://127.0.0.1:${controllerPort(s, k)}
advertised.listeners=PLAINTEXT://127.0.0.1:${kafkaPort(s, k)}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${dir}/data
# What a topic gets unless it asks otherwise (the pipeline's topics ask for the same):
# three copies, and a write is acknowledged (acks=all) once two of them have it.
num.partitions=12
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=168
`;
}

function jvm(s: ClusterSettings, logging: string): string[] {
  // Three brokers share two cores with everything else: small heaps, one GC thread.
  return ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', logging, '-cp', `${kafkaLibsDir(s.kafkaVersion)}/*`];
}

/** One cluster id for the three nodes, made once. */
function clusterId(s: ClusterSettings, java: string[]): string {
  const file = join(s.dir, 'kafka-cluster-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = execFileSync('java', [...java, 'kafka.tools.StorageTool', 'random-uuid'], {
    encoding: 'utf8',
  }).trim();
  writeFileSync(file, `${id}\n`);
  return id;
}

/** Starts node k (its storage formatted on the first start); returns once it answers. */
export async function kafkaNodeStart(s: ClusterSettings, k: KafkaNode): Promise<void> {
  const { dir, pidFile, logFile } = kafkaNodeDirs(s, k);
  const pid = readPid(pidFile);
  if (pid !== null && isAlive(pid)) return;
  await ensurePortFree(
    kafkaPort(s, k),
    'STACK_CLUSTER_BASE_PORT',
    `Kafka broker ${k} (base port + ${10 + k})`,
  );
  await ensurePortFree(
    controllerPort(s, k),
    'STACK_CLUSTER_BASE_PORT',
    `Kafka controller ${k} (base port + ${20 + k})`,
  );
  ensureJars(kafkaJars(s.kafkaVersion));
  mkdirSync(join(dir, 'log'), { recursive: true });
  const props = join(dir, 'server.properties');
  writeFileSync(props, clusterServerProperties(s, k, dir));
  const java = jvm(s, brokerLogging(s.kafkaVersion, dir));
  if (!existsSync(join(dir, 'data', 'meta.properties'))) {
    try {
      execFileSync(
        'java',
        [
          ...java,
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId(s, java),
          '-c',
          props,
          '--ignore-formatted',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr
        ?.toString()
        .trim()
        .split('\n')
        .slice(-5)
        .join('\n');
      throw new StackError(
        `could not format the storage of Kafka node ${k} in ${dir}: ${stderr || 'StorageTool failed'}`,
      );
    }
  }
  startDetached('java', [...java, 'kafka.Kafka', props], logFile, pidFile, dir);
}

export async function kafkaNodeReady(s: ClusterSettings, k: KafkaNode, deadlineMs = 120_000): Promise<void> {
  const { logFile } = kafkaNodeDirs(s, k);
  await waitFor(`Kafka broker ${k}`, deadlineMs, () => kafkaReady(`127.0.0.1:${kafkaPort(s, k)}`), logFile);
}

export async function kafkaNodeStop(s: ClusterSettings, k: KafkaNode): Promise<void> {
  await stopPid(`kafka-${k}`, kafkaNodeDirs(s, k).pidFile);
}

/** kill -9 of node k (a crash: no controlled shutdown, no leadership handed over). */
export function kafkaNodeKill(s: ClusterSettings, k: KafkaNode): number {
  const pid = readPid(kafkaNodeDirs(s, k).pidFile);
  if (pid === null || !isAlive(pid)) throw new StackError(`Kafka node ${k} is not running`);
  process.kill(pid, 'SIGKILL');
  return pid;
}

const PROBE_TOPIC = 'optout-cluster-probe';

/**
 * The three brokers form one cluster: a topic with replication factor 3 can
 * be created, and all three replicas are in sync. A real client call through
 * the controller quorum, not a port check.
 */
export async function kafkaClusterReady(s: ClusterSettings): Promise<boolean> {
  const { createAdmin, createKafka } = await import('@optout/kafka');
  const admin = createAdmin(
    createKafka({ brokers: brokerList(s), clientId: 'optout-cluster-probe', retries: 0 }),
  );
  try {
    await admin.connect();
    if (!(await admin.listTopics()).includes(PROBE_TOPIC))
      await admin.createTopics({
        topics: [{ topic: PROBE_TOPIC, numPartitions: 1, replicationFactor: 3 }],
        waitForLeaders: true,
      });
    const { topics } = await admin.fetchTopicMetadata({ topics: [PROBE_TOPIC] });
    return topics[0]?.partitions.every((p) => p.replicas.length === 3 && p.isr.length === 3) ?? false;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export async function kafkaClusterUp(s: ClusterSettings): Promise<void> {
  const running = KAFKA_NODES.filter((k) => {
    const pid = readPid(kafkaNodeDirs(s, k).pidFile);
    return pid !== null && isAlive(pid);
  });
  // All three at once: a node waits for a quorum of controllers before it serves.
  for (const k of KAFKA_NODES) await kafkaNodeStart(s, k);
  for (const k of KAFKA_NODES) await kafkaNodeReady(s, k);
  await waitFor(
    'the Kafka cluster (3 brokers in sync)',
    120_000,
    () => kafkaClusterReady(s),
    kafkaNodeDirs(s, 1).logFile,
  );
  for (const k of KAFKA_NODES) {
    const pid = readPid(kafkaNodeDirs(s, k).pidFile);
    const how = running.includes(k) ? 'already running' : 'started';
    console.log(
      `kafka-${k}:      ${how} Kafka ${s.kafkaVersion} (pid ${pid}) on 127.0.0.1:${kafkaPort(s, k)}`,
    );
  }
}
