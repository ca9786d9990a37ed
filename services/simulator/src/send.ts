// Sending simulated records to Kafka: valid events through the event package's
// codec (Avro, Confluent wire format, key `<app_id>:<user_id>`, Kafka's default
// partitioner); malformed records raw, as a broken producer would. The model
// knows nothing about Kafka; this file knows nothing about opt-outs.
import {
  createEventCodec,
  createSchemaRegistry,
  DEFAULT_SUBJECTS,
  EVENT_KINDS,
  type EventCodec,
  type EventKind,
  eventKey,
  type InputEvent,
  type SchemaRegistryOptions,
  subjectsForTopics,
} from '@optout/events';
import {
  createKafka,
  createRecordProducer,
  type KafkaConnection,
  type OutgoingRecord,
  type TopicRecords,
} from '@optout/kafka';
import type { SimRecord } from './model/malformed.ts';

/** Brokers plus TLS / SASL (`kafkaConnection(config)` from @optout/kafka). */
export interface SenderOptions extends KafkaConnection {
  clientId?: string;
  topics: Readonly<Record<EventKind, string>>;
  /** SCHEMA_REGISTRY_* (`schemaRegistryConnection(config)`); the bundled manifest without a URL. */
  registry?: SchemaRegistryOptions;
  /** Kafka acks: -1 all in-sync replicas (default), 1 leader only. */
  acks?: number;
  /** sendBatch requests in flight at once (default 2): generation of the next batch overlaps the send. */
  maxInFlight?: number;
}

export interface SendTotals {
  events: number;
  malformed: number;
  bytes: number;
}

export interface Sender {
  /** Queues one batch; resolves once it is in flight (at most maxInFlight batches are). */
  send(records: readonly SimRecord[]): Promise<void>;
  /** Waits until every queued batch is acknowledged. */
  flush(): Promise<void>;
  readonly totals: SendTotals;
  close(): Promise<void>;
}

function encodeInput(codec: EventCodec, input: InputEvent): Buffer {
  switch (input.kind) {
    case 'pushSent':
      return codec.encodeSync(input.kind, input.event);
    case 'campaignInteraction':
      return codec.encodeSync(input.kind, input.event);
    case 'appEvent':
      return codec.encodeSync(input.kind, input.event);
    case 'consentChange':
      return codec.encodeSync(input.kind, input.event);
  }
}

/** The Kafka records of a batch, grouped by topic. Counts into `totals`. */
export function toTopicRecords(
  codec: EventCodec,
  topics: Readonly<Record<EventKind, string>>,
  records: readonly SimRecord[],
  totals: SendTotals,
): TopicRecords[] {
  const byTopic = new Map<string, OutgoingRecord[]>();
  const push = (topic: string, record: { key: string; value: Buffer }) => {
    let list = byTopic.get(topic);
    if (!list) {
      list = [];
      byTopic.set(topic, list);
    }
    list.push(record);
    totals.bytes += record.value.length;
  };
  for (const record of records) {
    if (record.kind === 'malformed') {
      totals.malformed++;
      const value = record.event ? encodeInput(codec, record.event) : Buffer.from(record.value ?? []);
      push(topics[record.topic], { key: record.key, value });
    } else {
      totals.events++;
      push(topics[record.kind], { key: eventKey(record.event), value: encodeInput(codec, record) });
    }
  }
  return Array.from(byTopic, ([topic, list]) => ({ topic, records: list }));
}

export async function createSender(options: SenderOptions): Promise<Sender> {
  const codec = createEventCodec({
    registry: createSchemaRegistry(options.registry),
    // The bundled manifest knows the default subjects only, whatever the topics are named;
    // a real registry has one subject per topic (TopicNameStrategy).
    subjects: options.registry?.url ? subjectsForTopics(options.topics) : DEFAULT_SUBJECTS,
  });
  await codec.prepareEncode(EVENT_KINDS);
  const kafka = createKafka({
    brokers: options.brokers,
    tls: options.tls,
    sasl: options.sasl,
    clientId: options.clientId ?? 'optout-simulator',
  });
  // The default partitioner (murmur2, like Java's): co-partitioning by key (SPEC 2).
  // Not idempotent (as ever): --acks 1 rules it out, and ingest absorbs duplicates anyway.
  const producer = createRecordProducer(kafka, {
    idempotent: false,
    acks: options.acks === 1 ? 'leader' : 'all',
  });
  await producer.connect();
  const maxInFlight = Math.max(1, options.maxInFlight ?? 2);
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  const totals: SendTotals = { events: 0, malformed: 0, bytes: 0 };

  return {
    totals,
    async send(records) {
      if (failure) throw failure;
      if (records.length === 0) return;
      const batches = toTopicRecords(codec, options.topics, records, totals);
      const request = producer.sendBatch(batches).catch((error: unknown) => {
        failure ??= error;
      });
      const tracked = request.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      if (failure) throw failure;
    },
    async flush() {
      await Promise.all(inFlight);
      if (failure) throw failure;
    },
    async close() {
      await Promise.allSettled(inFlight);
      await producer.disconnect();
    },
  };
}
