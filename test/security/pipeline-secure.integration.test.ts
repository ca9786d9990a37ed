// The whole pipeline through the secure listeners of a private stack: Kafka
// over SASL_SSL (SCRAM-SHA-512, the stack's own CA) and ClickHouse over HTTPS
// with passwords. Ingest turns events into facts and dead-letters garbage, the
// query service publishes an erasure that ingest carries out; every client is
// configured only through SPEC 7's variables. Then the failures: a wrong Kafka
// password stops ingest at start with the broker's reason, and no password
// ever reaches a log line or an error.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ClickHouseClient,
  clickhouseConnection,
  createClickHouseClient,
  dropDatabase,
} from '@optout/clickhouse';
import { clickhouseShape, kafkaShape, parseEnv } from '@optout/config';
import { createEventCodec, createSchemaRegistry, DEFAULT_SUBJECTS, sendEvents } from '@optout/events';
import {
  createAdmin,
  createKafka,
  createRecordProducer,
  DLQ_HEADERS,
  ensureTopics,
  type KafkaAdmin,
  kafkaConnection,
  readTopic,
} from '@optout/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READER_PASSWORD, READER_USER } from '../../infra/local/clickhouse-config.ts';
import { type IngestHandle, ingestShape, startIngest } from '../../services/ingest/src/index.ts';
import { parseQueryConfig } from '../../services/query/src/config.ts';
import { buildQueryServer } from '../../services/query/src/server.ts';
import { apiKeysJson, KEYS } from '../query/harness.ts';
import { generateEvents } from '../support/generate.ts';
import { uniqueName } from '../support/names.ts';
import { transitions } from '../support/reference.ts';
import { type SecureStack, startSecureStack } from '../support/secure-stack.ts';
import { waitFor } from '../support/wait.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const now = Date.now();

let stack: SecureStack;
let admin: KafkaAdmin;
let writer: ClickHouseClient;
const prefix = uniqueName('secure');
const database = prefix.replace(/[^A-Za-z0-9_]/g, '_');
const topics = {
  pushSent: `${prefix}.push-sent`,
  campaignInteraction: `${prefix}.campaign-interaction`,
  appEvent: `${prefix}.app-event`,
  consentChange: `${prefix}.consent-change`,
};
const controlTopic = `${prefix}.control`;
const dlqTopic = `${prefix}.dlq`;
const groupId = `${prefix}.ingest`;
const allInputs = [...Object.values(topics), controlTopic];

/** What an operator would export for ingest: SPEC 7's variables, secure listeners only. */
function ingestEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...stack.kafka,
    ...stack.clickhouse,
    CLICKHOUSE_DATABASE: database,
    KAFKA_GROUP_ID: groupId,
    TOPIC_PUSH_SENT: topics.pushSent,
    TOPIC_CAMPAIGN_INTERACTION: topics.campaignInteraction,
    TOPIC_APP_EVENT: topics.appEvent,
    TOPIC_CONSENT_CHANGE: topics.consentChange,
    TOPIC_CONTROL: controlTopic,
    TOPIC_DLQ: dlqTopic,
    HTTP_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    INGEST_MIGRATE: 'true',
    INGEST_SESSION_TIMEOUT_MS: '10000',
    ...overrides,
  };
}

/** The stack's random secrets (the reader's password is its name, so not a useful probe). */
function secrets(): string[] {
  return [stack.kafka.KAFKA_SASL_PASSWORD, stack.clickhouse!.CLICKHOUSE_PASSWORD];
}

async function waitForCaughtUp(timeoutMs = 90_000): Promise<void> {
  await waitFor(
    async () => {
      const committed = await admin.fetchOffsets({ groupId, topics: allInputs });
      for (const topic of allInputs) {
        const mine = committed.find((c) => c.topic === topic);
        for (const end of await admin.fetchTopicOffsets(topic)) {
          const at = Number(mine?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1');
          if (Number(end.high) > 0 && at < Number(end.high)) return false;
        }
      }
      return true;
    },
    'ingest to commit every input offset',
    timeoutMs,
  );
}

const readLetters = (topic: string, count: number) =>
  readTopic(
    createKafka({ ...kafkaConnection(parseEnv(kafkaShape, stack.kafka)), clientId: 'dlq-reader' }),
    topic,
    count,
  );

async function liveTransitionIds(): Promise<string[]> {
  const result = await writer.query({
    query: `SELECT transition_id FROM consent_transitions GROUP BY transition_id
            HAVING argMax(is_deleted, version) = 0 ORDER BY transition_id`,
    format: 'JSONEachRow',
  });
  return (await result.json<{ transition_id: string }>()).map((r) => r.transition_id);
}

/** `npm run ingest` as a process, its stdout and stderr kept. */
function spawnIngest(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'services/ingest/src/main.ts')], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  return { child, output: () => output };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

beforeAll(async () => {
  stack = await startSecureStack();
  const kafka = createKafka({
    ...kafkaConnection(parseEnv(kafkaShape, stack.kafka)),
    clientId: `${prefix}-test`,
  });
  admin = createAdmin(kafka);
  await admin.connect();
  await ensureTopics(admin, { coPartitioned: allInputs, dlq: dlqTopic, partitions: 2 });
  writer = createClickHouseClient({
    ...clickhouseConnection(parseEnv(clickhouseShape, stack.clickhouse)),
    database,
  });
}, 240_000);

afterAll(async () => {
  await admin?.disconnect().catch(() => {});
  if (writer) {
    const root = createClickHouseClient(clickhouseConnection(parseEnv(clickhouseShape, stack.clickhouse)));
    await dropDatabase(root, database).catch(() => {});
    await root.close();
    await writer.close();
  }
  await stack?.stop();
});

describe('the pipeline over SASL_SSL and HTTPS', () => {
  let ingest: IngestHandle | undefined;
  afterAll(async () => {
    await ingest?.stop();
  });

  it('ingests, dead-letters and erases through the secure listeners', { timeout: 240_000 }, async () => {
    const events = generateEvents({ seed: 71, now, apps: 1, users: 12, days: 7 });
    const producer = createRecordProducer(
      createKafka({ ...kafkaConnection(parseEnv(kafkaShape, stack.kafka)), clientId: `${prefix}-producer` }),
      { idempotent: false },
    );
    await producer.connect();
    const codec = createEventCodec({ registry: createSchemaRegistry(), subjects: DEFAULT_SUBJECTS });
    await sendEvents(producer, codec, topics, events);
    const garbage = Buffer.from('not avro at all');
    await producer.send(topics.consentChange, [{ key: 'app-1:u-x', value: garbage }]);
    await producer.disconnect();

    ingest = await startIngest(parseEnv(ingestShape, ingestEnv()));
    await waitForCaughtUp();
    const expected = transitions(events).map((t) => t.transition_id);
    expect(expected.length).toBeGreaterThan(0);
    expect(await liveTransitionIds()).toEqual([...expected].sort());

    const [letter] = await readLetters(dlqTopic, 1);
    expect(letter?.value).toEqual(garbage);
    expect(letter?.headers[DLQ_HEADERS.reason]?.toString()).toBe('bad_magic');

    // The query service reads as the read-only user over HTTPS and publishes on SASL_SSL.
    const victim = transitions(events).find((t) => t.kind === 'OPT_OUT')!;
    const config = parseQueryConfig({
      ...stack.kafka,
      ...stack.clickhouse,
      CLICKHOUSE_USER: READER_USER,
      CLICKHOUSE_PASSWORD: READER_PASSWORD,
      CLICKHOUSE_DATABASE: database,
      TOPIC_CONTROL: controlTopic,
      API_KEYS: apiKeysJson(victim.app_id),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    });
    const app = await buildQueryServer({ config });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const address = app.server.address();
      if (!address || typeof address === 'string') throw new Error('no port');
      const base = `http://127.0.0.1:${address.port}`;
      const auth = { authorization: `Bearer ${KEYS.admin}` };
      const path = `/v1/apps/${victim.app_id}/users/${encodeURIComponent(victim.user_id)}`;
      // Right after start the producer may still be connecting: retry a 503 for a while.
      const accepted = await waitFor(async () => {
        const response = await fetch(base + path, { method: 'DELETE', headers: auth });
        return response.status === 202 ? ((await response.json()) as { job_id: string }) : undefined;
      }, 'the erasure request to be accepted');
      await waitFor(async () => {
        const job = await fetch(`${base}/v1/apps/${victim.app_id}/erasures/${accepted.job_id}`, {
          headers: auth,
        });
        return job.ok && ((await job.json()) as { status: string }).status === 'done';
      }, 'the erasure job to be done');
    } finally {
      await app.close();
    }
    const survivors = transitions(events)
      .filter((t) => !(t.app_id === victim.app_id && t.user_id === victim.user_id))
      .map((t) => t.transition_id)
      .sort();
    expect(await liveTransitionIds()).toEqual(survivors);
  });

  it('ClickHouse over HTTPS: a wrong password or an unknown CA is refused, and no error carries the password', async () => {
    const wrong = 'wrong-clickhouse-password-2c4e';
    const attempt = async (env: Record<string, string>) => {
      const client = createClickHouseClient(
        clickhouseConnection(parseEnv(clickhouseShape, { ...stack.clickhouse, ...env })),
      );
      const error = (await client
        .query({ query: 'SELECT 1', format: 'JSONEachRow' })
        .catch((e: unknown) => e)) as Error;
      await client.close();
      return error;
    };
    const refused = await attempt({ CLICKHOUSE_PASSWORD: wrong });
    expect(refused.message).toMatch(/Code: 193.*Wrong password for user optout_writer/);
    // Without CLICKHOUSE_CA_FILE: Node's public CAs, which never signed the stack's certificate.
    const unknownCa = await attempt({ CLICKHOUSE_CA_FILE: '' });
    expect(unknownCa.message).toMatch(/self-signed certificate|unable to verify/);
    for (const error of [refused, unknownCa]) {
      expect(`${error.message}\n${error.stack}`).not.toContain(wrong);
      expect(`${error.message}\n${error.stack}`).not.toContain(stack.clickhouse!.CLICKHOUSE_PASSWORD);
    }
  });

  it('a wrong Kafka password stops ingest at start, with the broker reason and without the password', async () => {
    const wrong = 'wrong-kafka-password-61a9';
    const error = (await startIngest(
      parseEnv(ingestShape, ingestEnv({ KAFKA_SASL_PASSWORD: wrong, LOG_LEVEL: 'silent' })),
    ).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/SASL SCRAM SHA512 authentication failed/);
    expect(`${error.message}\n${error.stack}`).not.toContain(wrong);
  });

  it('as a process: no secret in its logs, at any level, whether it starts or is refused', {
    timeout: 120_000,
  }, async () => {
    const good = spawnIngest(ingestEnv({ LOG_LEVEL: 'trace', KAFKA_GROUP_ID: `${groupId}-process` }));
    try {
      await waitFor(
        async () => good.output().includes('ingest_started'),
        'the ingest process to start',
        90_000,
      );
    } finally {
      good.child.kill('SIGTERM');
      await exited(good.child);
    }
    const wrong = 'wrong-kafka-password-93d2';
    const refused = spawnIngest(ingestEnv({ LOG_LEVEL: 'trace', KAFKA_SASL_PASSWORD: wrong }));
    expect(await exited(refused.child)).toBe(1);
    expect(refused.output()).toMatch(/could not start: SASL SCRAM SHA512 authentication failed/);
    for (const output of [good.output(), refused.output()]) {
      for (const secret of [...secrets(), wrong]) expect(output).not.toContain(secret);
    }
  });
});
