// Reading whole topics, for tests and tools (the dead-letter topic, the
// control topic, a bench's "bare consumer"): a plain consumer in a group of its
// own that commits nothing, so every reader starts at the beginning and leaves
// no offsets behind. Not the pipeline's consumer (consumer.ts): no
// co-partitioned assignment, no rounds, no commits.
import { randomUUID } from 'node:crypto';
import { type KafkaClient, kafkajsOf } from './client.ts';
import type { ConsumedRecord, RecordBatch } from './consumer.ts';
import { toRecordBatch } from './consumer.ts';

export interface TopicRecord extends ConsumedRecord {
  topic: string;
  partition: number;
}

export interface TopicReaderOptions {
  topics: readonly string[];
  /** Default: a random group, so that no two readers share records. */
  groupId?: string;
  maxBytesPerPartition?: number;
  /**
   * Each fetched batch of one partition, in offset order. Delivery is at least
   * once: a throw, a rebalance or a restart delivers records again.
   */
  onBatch(batch: RecordBatch): void | Promise<void>;
}

export interface TopicReader {
  stop(): Promise<void>;
}

export async function startTopicReader(kafka: KafkaClient, o: TopicReaderOptions): Promise<TopicReader> {
  const consumer = kafkajsOf(kafka).consumer({
    groupId: o.groupId ?? `optout-reader-${randomUUID()}`,
    allowAutoTopicCreation: false,
    ...(o.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: o.maxBytesPerPartition } : {}),
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...o.topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length > 0) await o.onBatch(toRecordBatch(batch));
      },
    });
  } catch (error) {
    await consumer.disconnect().catch(() => {});
    throw error;
  }
  return { stop: () => consumer.disconnect() };
}

/**
 * Resolves once `count` distinct records of `topic` have arrived (a redelivered
 * record, same partition and offset, counts once) with every record that had
 * arrived by then, in arrival order: more than `count` when the last batch held
 * more, so a test can see records it did not expect. Rejects when fewer than
 * `count` arrive within `timeoutMs`.
 */
export async function readTopic(
  kafka: KafkaClient,
  topic: string,
  count: number,
  options: { timeoutMs?: number; maxBytesPerPartition?: number } = {},
): Promise<TopicRecord[]> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const seen = new Map<string, TopicRecord>();
  let done: () => void = () => {};
  const enough = new Promise<void>((resolve) => {
    done = resolve;
  });
  const reader = await startTopicReader(kafka, {
    topics: [topic],
    ...(options.maxBytesPerPartition !== undefined
      ? { maxBytesPerPartition: options.maxBytesPerPartition }
      : {}),
    onBatch: ({ partition, records }) => {
      for (const record of records)
        seen.set(`${partition}:${record.offset}`, { topic, partition, ...record });
      if (seen.size >= count) done();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`only ${seen.size}/${count} records on ${topic} after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([enough, late]);
  } finally {
    clearTimeout(timer);
    await reader.stop();
  }
  return [...seen.values()];
}
