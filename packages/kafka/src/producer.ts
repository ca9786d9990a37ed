// A producer behind the project's own small interface, so that nothing outside
// packages/kafka depends on kafkajs types. Records are partitioned by key with
// Kafka's default (murmur2, Java-compatible) partitioner.
import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { RecordHeaders } from './consumer.ts';

export interface OutgoingRecord {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeaders;
}

export interface RecordProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Sends and waits for every in-sync replica (acks = all). */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  /** Connection state changes, e.g. for readiness. */
  onConnectionChange(listener: (connected: boolean) => void): void;
}

export function createRecordProducer(kafka: Kafka, options: { idempotent?: boolean } = {}): RecordProducer {
  const producer: Producer = kafka.producer({
    idempotent: options.idempotent ?? true,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(topic, records) {
      await producer.send({
        topic,
        acks: -1,
        messages: records.map((r) => ({
          key: r.key,
          value: r.value,
          ...(r.headers ? { headers: r.headers } : {}),
        })),
      });
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
