// Producing input records: key `<app_id>:<user_id>` and Kafka's default
// partitioner (murmur2, as Java's: @optout/kafka's producer), so every record
// of one user lands on the same partition number of every (equally
// partitioned) input topic: the co-partitioning the pipeline relies on
// (SPEC 2). Never pass explicit partitions.
import type { OutgoingRecord, RecordProducer, TopicRecords } from '@optout/kafka';
import type { EventCodec } from './codec.ts';
import type { EventKind, EventOf, InputEvent } from './types.ts';

/** The record key (sent as UTF-8). */
export function eventKey(event: { app_id: string; user_id: string }): string {
  return `${event.app_id}:${event.user_id}`;
}

export interface EventMessage {
  key: string;
  value: Buffer;
}

/** The Kafka message of one event, encoded with the latest schema of its kind. */
export async function toMessage<K extends EventKind>(
  codec: EventCodec,
  kind: K,
  event: EventOf<K>,
): Promise<EventMessage> {
  return { key: eventKey(event), value: await codec.encode(kind, event) };
}

export interface SendEventsOptions {
  /** Records per sendBatch request (default 5,000). Acks are the producer's (createRecordProducer). */
  batchSize?: number;
}

/**
 * Encodes `events` and sends them to their kind's topic, `batchSize` messages
 * per sendBatch request, in order. Encoding does only Avro type checks: use
 * validateEvent first if invalid records must not reach the topics.
 */
export async function sendEvents(
  producer: Pick<RecordProducer, 'sendBatch'>,
  codec: EventCodec,
  topics: Readonly<Record<EventKind, string>>,
  events: readonly InputEvent[],
  options: SendEventsOptions = {},
): Promise<void> {
  const batchSize = options.batchSize ?? 5_000;
  await codec.prepareEncode([...new Set(events.map((input) => input.kind))]);
  for (let start = 0; start < events.length; start += batchSize) {
    const byTopic = new Map<string, OutgoingRecord[]>();
    for (const input of events.slice(start, start + batchSize)) {
      const topic = topics[input.kind];
      let records = byTopic.get(topic);
      if (!records) {
        records = [];
        byTopic.set(topic, records);
      }
      records.push({ key: eventKey(input.event), value: encodeInput(codec, input) });
    }
    const batches: TopicRecords[] = Array.from(byTopic, ([topic, records]) => ({ topic, records }));
    await producer.sendBatch(batches);
  }
}

function encodeInput(codec: EventCodec, input: InputEvent): Buffer {
  // The switch narrows the pair so kind and event types agree.
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
