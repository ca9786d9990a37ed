// sendEvents against the real Kafka of the local stack: records come back
// decodable, keyed <app_id>:<user_id>, on the partition Kafka's default
// (Java-compatible murmur2) partitioner gives for the key, the same partition
// number in every topic (co-partitioning).
import {
  type ConsumedRecord,
  createAdmin,
  createKafka,
  createRecordProducer,
  type KafkaAdmin,
  type KafkaClient,
  partitionForKey,
  startTopicReader,
} from '@optout/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../../../test/support/env.ts';
import { uniqueName } from '../../../test/support/names.ts';
import { createEventCodec } from './codec.ts';
import {
  sampleAppEvent,
  sampleCampaignInteraction,
  sampleConsentChange,
  samplePushSent,
} from './fixtures.ts';
import { eventKey, sendEvents } from './produce.ts';
import { bundledSchemaRegistry } from './registry-bundled.ts';
import { DEFAULT_SUBJECTS, EVENT_KINDS, type EventKind, type InputEvent } from './types.ts';

const PARTITIONS = 3;

const topics = Object.fromEntries(EVENT_KINDS.map((kind) => [kind, uniqueName(`events_${kind}`)])) as Record<
  EventKind,
  string
>;
let kafka: KafkaClient;
let admin: KafkaAdmin;

beforeAll(async () => {
  kafka = createKafka({ clientId: 'events-integration', brokers: testStack().brokers });
  admin = createAdmin(kafka);
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.values(topics).map((topic) => ({
      topic,
      numPartitions: PARTITIONS,
      replicationFactor: 1,
    })),
  });
});

afterAll(async () => {
  await admin?.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin?.disconnect();
});

/** Two events of every kind for each of `users` (app-1 and app-2). */
function inputsFor(users: string[]): InputEvent[] {
  return users.flatMap((user, i): InputEvent[] => {
    const common = { app_id: `app-${(i % 2) + 1}`, user_id: user };
    return [1, 2].flatMap((n): InputEvent[] => [
      {
        kind: 'pushSent',
        event: samplePushSent({ ...common, event_id: `p-${user}-${n}`, message_id: `m-${n}` }),
      },
      {
        kind: 'campaignInteraction',
        event: sampleCampaignInteraction({ ...common, event_id: `c-${user}-${n}`, interaction: 'OPEN' }),
      },
      {
        kind: 'appEvent',
        event: sampleAppEvent({ ...common, event_id: `a-${user}-${n}`, external_id: null }),
      },
      {
        kind: 'consentChange',
        event: sampleConsentChange({
          ...common,
          event_id: `s-${user}-${n}`,
          status: n === 1 ? 'OPTED_OUT' : 'OPTED_IN',
        }),
      },
    ]);
  });
}

type Received = { topic: string; partition: number; offset: string; message: ConsumedRecord };

/**
 * Every record of the test's topics, each once. The consumer is at-least-once:
 * a rebalance while its group settles on the four topics can hand a record
 * over twice, so records are told apart by (topic, partition, offset) and the
 * wait ends when `count` distinct ones are in, not `count` deliveries. A record
 * the producer really wrote twice has two offsets and still counts twice, so
 * the comparison with the inputs below catches it.
 *
 * `failOnceAt` makes the handler fail once, after taking that delivery in:
 * the client then delivers the record again, so the redelivery this guards
 * against happens on every run instead of now and then.
 */
async function consumeAll(count: number, failOnceAt?: number): Promise<Received[]> {
  const received = new Map<string, Received>();
  let deliveries = 0;
  let resolve: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  // A client without a logger is silent: the planned failure is not logged as an ERROR.
  const reader = await startTopicReader(
    createKafka({ clientId: 'events-integration', brokers: testStack().brokers, retries: 3 }),
    {
      topics: Object.values(topics),
      onBatch: ({ topic, partition, records }) => {
        for (const message of records) {
          deliveries++;
          received.set(`${topic}/${partition}/${message.offset}`, {
            topic,
            partition,
            offset: message.offset,
            message,
          });
          if (received.size >= count) resolve();
          if (deliveries === failOnceAt) throw new Error('test: fail once, so the record is redelivered');
        }
      },
    },
  );
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`received ${received.size} of ${count} distinct records (${deliveries} deliveries)`),
            ),
          45_000,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await reader.stop();
  }
  return [...received.values()];
}

describe('sendEvents on a real broker', () => {
  it('delivers decodable, keyed, co-partitioned records on the default partitioner’s partition', async () => {
    const codec = createEventCodec({ registry: bundledSchemaRegistry(), subjects: DEFAULT_SUBJECTS });
    // Java's murmur2 partitioner (packages/kafka/src/partitioner.test.ts checks it against the producer's).
    const partitionOf = (key: string) => partitionForKey(key, PARTITIONS);

    // Enough users that their keys cover every partition, so the placement check means something.
    const users: string[] = [];
    const covered = new Set<number>();
    for (let i = 0; covered.size < PARTITIONS || users.length < 4; i++) {
      users.push(`user-${i}`);
      covered.add(partitionOf(eventKey({ app_id: `app-${((i % 2) + 1).toString()}`, user_id: `user-${i}` })));
    }
    const inputs = inputsFor(users);

    // Idempotent: a retried send under load must not write a record twice (that would fail the comparison).
    const producer = createRecordProducer(kafka, { idempotent: true });
    await producer.connect();
    try {
      await sendEvents(producer, codec, topics, inputs, { batchSize: 10 });
    } finally {
      await producer.disconnect();
    }

    const received = await consumeAll(inputs.length, Math.floor(inputs.length / 2));
    expect(received).toHaveLength(inputs.length);
    const kindOfTopic = new Map(EVENT_KINDS.map((kind) => [topics[kind], kind]));
    await codec.prepare(received.map((r) => r.message.value));

    const decoded: InputEvent[] = [];
    const partitionsByKey = new Map<string, Set<number>>();
    for (const { topic, partition, message } of received) {
      const kind = kindOfTopic.get(topic)!;
      const result = codec.decode(kind, message.value);
      if (!result.ok) throw new Error(`${topic}@${partition}: ${result.reason} ${result.detail}`);
      const key = message.key?.toString('utf8') ?? '';
      expect(key).toBe(eventKey(result.event));
      expect(partition, `${topic} ${key}`).toBe(partitionOf(key));
      partitionsByKey.set(key, (partitionsByKey.get(key) ?? new Set()).add(partition));
      decoded.push({ kind, event: result.event } as InputEvent);
    }

    const byId = (list: InputEvent[]) =>
      [...list]
        .sort((a, b) => a.event.event_id.localeCompare(b.event.event_id))
        .map((i) => ({ ...i, event: { ...i.event } }));
    expect(byId(decoded)).toEqual(byId(inputs));
    // One user's records of all four topics share one partition number.
    for (const [key, partitions] of partitionsByKey) expect(partitions.size, key).toBe(1);
    expect(new Set(received.map((r) => r.partition)).size).toBe(PARTITIONS);
  });
});
