// A producer behind the project's own small interface, so that nothing outside
// packages/kafka depends on kafkajs types. Records are partitioned by key with
// Kafka's default (murmur2, Java-compatible) partitioner.
import { type Message, Partitioners, type Producer } from 'kafkajs';
import { type KafkaClient, kafkajsOf } from './client.ts';
import type { RecordHeaders } from './consumer.ts';

export interface OutgoingRecord {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeaders;
  /**
   * Only to put a record where its key does not belong (tests of misplaced
   * records): without it the key decides, which is what co-partitioning needs.
   */
  partition?: number;
}

/** Records for one topic, in the order they are to be written. */
export interface TopicRecords {
  topic: string;
  records: readonly OutgoingRecord[];
}

export interface RecordProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Sends and waits for the acknowledgement (every in-sync replica unless `acks: 'leader'`). */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  /** Several topics at once (one request per broker); acknowledged like send. */
  sendBatch(batches: readonly TopicRecords[]): Promise<void>;
  /** Connection state changes, e.g. for readiness. */
  onConnectionChange(listener: (connected: boolean) => void): void;
}

export interface RecordProducerOptions {
  /**
   * No duplicates or reordering from the producer's own retries (default true); needs acks 'all'.
   * Its sends run one at a time (see below); a non-idempotent producer's may overlap.
   */
  idempotent?: boolean;
  /** 'all' in-sync replicas (default) or the 'leader' only: faster, loses records with a leader. */
  acks?: 'all' | 'leader';
}

const toMessage = (r: OutgoingRecord): Message => ({
  key: r.key,
  value: r.value,
  ...(r.headers ? { headers: r.headers } : {}),
  ...(r.partition !== undefined ? { partition: r.partition } : {}),
});

export function createRecordProducer(
  client: KafkaClient,
  options: RecordProducerOptions = {},
): RecordProducer {
  const kafka = kafkajsOf(client);
  const idempotent = options.idempotent ?? true;
  const acks = options.acks === 'leader' ? 1 : -1;
  if (idempotent && acks !== -1) throw new Error("an idempotent producer needs acks 'all'");
  const producer: Producer = kafka.producer({
    idempotent,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  // kafkajs's idempotent producer gives each request the next sequence numbers
  // of its partitions and takes them back when the request fails. With two
  // sends in flight, the numbers the second send took are then handed out
  // again to the first one's retry. The broker drops that retry as a duplicate
  // of the second send and answers success, so its records are lost. The
  // cluster producer test saw this. So an idempotent producer runs one send at
  // a time. A non-idempotent one may overlap sends: a retry can only duplicate.
  let previous: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(send: () => Promise<T>): Promise<T> => {
    if (!idempotent) return send();
    const next = previous.then(send);
    previous = next.catch(() => {});
    return next;
  };
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(topic, records) {
      await oneAtATime(() => producer.send({ topic, acks, messages: records.map(toMessage) }));
    },
    async sendBatch(batches) {
      await oneAtATime(() =>
        producer.sendBatch({
          acks,
          topicMessages: batches.map(({ topic, records }) => ({ topic, messages: records.map(toMessage) })),
        }),
      );
    },
    onConnectionChange(listener) {
      producer.on(producer.events.CONNECT, () => listener(true));
      producer.on(producer.events.DISCONNECT, () => listener(false));
    },
  };
}

/** The broker refused a record or request as bigger than its limit (not retriable as it is). */
export function isMessageTooLarge(error: unknown): boolean {
  const e = error as { type?: unknown; cause?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  if (typeof e.message === 'string' && /MESSAGE_TOO_LARGE|too large/i.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== error && isMessageTooLarge(e.cause);
}
