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
   * Its sends run one at a time, and a send after a failed one runs under a new
   * producer id (see below); a non-idempotent producer's sends may overlap.
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
  const connectionListeners: ((connected: boolean) => void)[] = [];
  /** Stops the current kafkajs producer's events reaching connectionListeners. */
  let detach = () => {};
  const newProducer = (): Producer => {
    const p = kafka.producer({
      idempotent,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const tell = (connected: boolean) => {
      for (const listener of connectionListeners) listener(connected);
    };
    const removers = [p.on(p.events.CONNECT, () => tell(true)), p.on(p.events.DISCONNECT, () => tell(false))];
    detach = () => {
      for (const remove of removers) remove();
    };
    return p;
  };
  let producer = newProducer();

  // kafkajs's idempotent producer gives each request the next sequence numbers
  // of its partitions, and takes them back when the request fails. A failed
  // request may still have been written (the leader died after the append, a
  // timeout). Retries within one send carry the same records under the same
  // numbers, which the broker de-duplicates correctly. But once a send has
  // failed, the numbers it took back go to the next send's different records;
  // if the failed request had been written, the broker drops those as its
  // duplicate and answers success, so they are lost. The cluster producer test
  // saw both ways of that:
  // - two sends in flight at once: the first one's retry takes numbers the
  //   second already used. So an idempotent producer runs one send at a time.
  // - a send that failed for good, followed by another send: so after a failed
  //   send the producer is replaced, and the next send gets a new producer id
  //   whose numbers start afresh. The failed send's records may be in the topic
  //   or not; sending them again may duplicate them, never lose the next ones.
  // A non-idempotent producer may overlap sends: without sequence numbers a
  // retry can only duplicate.
  let retired = false;
  let previous: Promise<unknown> = Promise.resolve();
  const sendIdempotent = async <T>(send: (p: Producer) => Promise<T>): Promise<T> => {
    if (retired) {
      // The old producer's disconnect is not the connection going down.
      detach();
      await producer.disconnect().catch(() => {});
      producer = newProducer();
      await producer.connect();
      retired = false;
    }
    try {
      return await send(producer);
    } catch (error) {
      retired = true;
      throw error;
    }
  };
  const oneAtATime = <T>(send: (p: Producer) => Promise<T>): Promise<T> => {
    if (!idempotent) return send(producer);
    const next = previous.then(() => sendIdempotent(send));
    previous = next.catch(() => {});
    return next;
  };
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(topic, records) {
      await oneAtATime((p) => p.send({ topic, acks, messages: records.map(toMessage) }));
    },
    async sendBatch(batches) {
      await oneAtATime((p) =>
        p.sendBatch({
          acks,
          topicMessages: batches.map(({ topic, records }) => ({ topic, messages: records.map(toMessage) })),
        }),
      );
    },
    onConnectionChange(listener) {
      connectionListeners.push(listener);
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
