// A real pipeline for a test: unique topics and a unique ClickHouse database on
// the local stack, events produced through the event package, and ingest
// instances run in-process (startIngest) or as child processes (for kill -9).
// Everything is removed by cleanup().
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClickHouseClient, createDatabase, dropDatabase, migrate } from '@optout/clickhouse';
import {
  createEventCodec,
  createSchemaRegistry,
  DEFAULT_SUBJECTS,
  type EventCodec,
  type EventKind,
  type InputEvent,
  sendEvents,
} from '@optout/events';
import {
  createAdmin,
  createKafka,
  createRecordProducer,
  ensureTopics,
  type KafkaAdmin,
  type OutgoingRecord,
} from '@optout/kafka';
import { parseEnv } from '../../packages/config/src/index.ts';
import {
  type IngestConfig,
  type IngestHandle,
  ingestShape,
  startIngest,
} from '../../services/ingest/src/index.ts';
import { writerClient } from './clickhouse.ts';
import { testStack } from './env.ts';
import { uniqueName } from './names.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface TestPipeline {
  database: string;
  groupId: string;
  topics: Record<EventKind, string>;
  controlTopic: string;
  dlqTopic: string;
  partitions: number;
  /** Writer client on the test database. */
  clickhouse: ClickHouseClient;
  admin: KafkaAdmin;
  codec: EventCodec;
  /** The env an ingest (or query) process needs to use these topics and this database. */
  env: Record<string, string>;
  produce(events: readonly InputEvent[]): Promise<void>;
  /** Records as they are: bytes that may not decode, keys or partitions that may be wrong. */
  produceRaw(topic: string, records: OutgoingRecord[]): Promise<void>;
  startIngest(overrides?: Record<string, string>): Promise<IngestHandle>;
  /** Stops every in-process ingest instance started so far. */
  stopIngest(): Promise<void>;
  /** `npm run ingest` as a child process (so a test can kill -9 it). */
  spawnIngest(overrides?: Record<string, string>): ChildProcess;
  /** Resolves when the group's committed offsets reach the end of every topic. */
  waitForCaughtUp(timeoutMs?: number): Promise<void>;
  cleanup(): Promise<void>;
}

/** The unique names of one test pipeline: input, control and dead-letter topics, database, group. */
export function pipelineNames(prefix: string) {
  const topics: Record<EventKind, string> = {
    pushSent: `${prefix}.push-sent`,
    campaignInteraction: `${prefix}.campaign-interaction`,
    appEvent: `${prefix}.app-event`,
    consentChange: `${prefix}.consent-change`,
  };
  return {
    topics,
    controlTopic: `${prefix}.control`,
    dlqTopic: `${prefix}.dlq`,
    database: prefix.replace(/[^A-Za-z0-9_]/g, '_'),
    groupId: `${prefix}.ingest`,
  };
}

export type PipelineNames = ReturnType<typeof pipelineNames>;

/** Ingest's group and topic variables for those names. */
export function namesEnv(n: PipelineNames): Record<string, string> {
  return {
    KAFKA_GROUP_ID: n.groupId,
    TOPIC_PUSH_SENT: n.topics.pushSent,
    TOPIC_CAMPAIGN_INTERACTION: n.topics.campaignInteraction,
    TOPIC_APP_EVENT: n.topics.appEvent,
    TOPIC_CONSENT_CHANGE: n.topics.consentChange,
    TOPIC_CONTROL: n.controlTopic,
    TOPIC_DLQ: n.dlqTopic,
  };
}

/**
 * Waits until the group has committed up to the high watermark of every
 * partition of the input and control topics. With `retryUnavailable` a failed
 * offsets call (a coordinator moving to another broker) is asked again.
 */
export async function waitForGroupCaughtUp(
  admin: KafkaAdmin,
  n: PipelineNames,
  timeoutMs: number,
  options: { pollMs: number; retryUnavailable: boolean },
): Promise<void> {
  const until = Date.now() + timeoutMs;
  const all = [...Object.values(n.topics), n.controlTopic];
  let behind = '';
  while (Date.now() < until) {
    behind = '';
    try {
      const committed = await admin.fetchOffsets({ groupId: n.groupId, topics: all });
      for (const topic of all) {
        const ends = await admin.fetchTopicOffsets(topic);
        const mine = committed.find((c) => c.topic === topic);
        for (const end of ends) {
          const at = mine?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
          const target = Number(end.high);
          if (target > 0 && Number(at) < target) behind += ` ${topic}[${end.partition}] ${at}/${target}`;
        }
      }
    } catch (error) {
      if (!options.retryUnavailable) throw error;
      behind = ` (offsets unavailable: ${(error as Error).message})`;
    }
    if (behind === '') return;
    await new Promise((r) => setTimeout(r, options.pollMs));
  }
  throw new Error(`ingest did not catch up within ${timeoutMs} ms; behind:${behind}`);
}

/** Deletes the pipeline's topics and consumer group, as far as the broker lets us. */
export async function removeKafkaResources(admin: KafkaAdmin, n: PipelineNames): Promise<void> {
  await admin
    .deleteTopics({ topics: [...Object.values(n.topics), n.controlTopic, n.dlqTopic] })
    .catch(() => {});
  await admin.deleteGroups([n.groupId]).catch(() => {});
}

/**
 * The ingest instances of a test pipeline, all with its `env`: in this process
 * (start/stop) or as child processes of main.ts (spawn, for kill -9). stopAll
 * ends whatever is left, for clean-up.
 */
export function ingestInstances(env: Record<string, string>) {
  const running: IngestHandle[] = [];
  const children: ChildProcess[] = [];
  return {
    async start(overrides: Record<string, string> = {}): Promise<IngestHandle> {
      const config: IngestConfig = parseEnv(ingestShape, { ...env, ...overrides });
      const handle = await startIngest(config);
      running.push(handle);
      return handle;
    },
    async stop(): Promise<void> {
      await Promise.all(running.splice(0).map((h) => h.stop()));
    },
    spawn(overrides: Record<string, string>, stdio: StdioOptions): ChildProcess {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'services/ingest/src/main.ts')],
        {
          cwd: repoRoot,
          env: { ...process.env, ...env, ...overrides },
          stdio,
        },
      );
      children.push(child);
      return child;
    },
    async stopAll(): Promise<void> {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await Promise.all(running.map((h) => h.stop().catch(() => {})));
    },
  };
}

export async function createTestPipeline(
  /** `brokers`: another Kafka than the test stack's (e.g. a private one a test restarts). */
  options: { partitions?: number; prefix?: string; brokers?: string[] } = {},
): Promise<TestPipeline> {
  const stack = { ...testStack(), ...(options.brokers ? { brokers: options.brokers } : {}) };
  const prefix = uniqueName(options.prefix ?? 't');
  const partitions = options.partitions ?? 3;
  const names = pipelineNames(prefix);
  const { topics, controlTopic, dlqTopic, database, groupId } = names;

  const kafka = createKafka({ brokers: stack.brokers, clientId: `${prefix}-test` });
  const admin = createAdmin(kafka);
  await admin.connect();
  await ensureTopics(admin, {
    coPartitioned: [...Object.values(topics), controlTopic],
    dlq: dlqTopic,
    partitions,
  });
  // A plain producer (not idempotent), acks=all, like the simulator's.
  const producer = createRecordProducer(kafka, { idempotent: false });
  await producer.connect();

  const root = writerClient();
  await createDatabase(root, database);
  await migrate(root, { database });
  const clickhouse = writerClient(database);

  // Test topics have unique names; the bundled registry knows the default subjects.
  const codec = createEventCodec({ registry: createSchemaRegistry(), subjects: DEFAULT_SUBJECTS });
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack.brokers.join(','),
    ...namesEnv(names),
    CLICKHOUSE_URL: stack.clickhouseUrl,
    CLICKHOUSE_USER: stack.clickhouseUser,
    CLICKHOUSE_PASSWORD: stack.clickhousePassword,
    CLICKHOUSE_DATABASE: database,
    HTTP_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    INGEST_MIGRATE: 'false',
    INGEST_SESSION_TIMEOUT_MS: '10000',
  };
  const ingest = ingestInstances(env);

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
      await sendEvents(producer, codec, topics, events);
    },
    async produceRaw(topic, records) {
      await producer.send(topic, records);
    },
    startIngest: (overrides = {}) => ingest.start(overrides),
    stopIngest: () => ingest.stop(),
    spawnIngest: (overrides = {}) => ingest.spawn(overrides, ['ignore', 'ignore', 'pipe']),
    async waitForCaughtUp(timeoutMs = 60_000) {
      await waitForGroupCaughtUp(admin, names, timeoutMs, { pollMs: 200, retryUnavailable: false });
    },
    async cleanup() {
      await ingest.stopAll();
      await producer.disconnect();
      await removeKafkaResources(admin, names);
      await admin.disconnect();
      await clickhouse.close();
      await dropDatabase(root, database);
      await root.close();
    },
  };
}
