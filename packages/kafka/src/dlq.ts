// Dead-letter records: the original key, value and headers unchanged, plus
// headers that say where the record came from and why it was refused; and the
// sender that gets them to the dead-letter topic without ever stopping the
// consumer: requests sized to fit the broker's limits, retried with backoff.

import type { RecordHeaders } from './consumer.ts';
import { isMessageTooLarge, type OutgoingRecord, type RecordProducer } from './producer.ts';

export type DeadLetterReason =
  | 'empty'
  | 'bad_magic'
  | 'unknown_schema'
  | 'undecodable'
  | 'invalid'
  | 'too_large'
  | 'wrong_key'
  | 'wrong_partition'
  | 'bad_control';

export interface DeadLetter {
  reason: DeadLetterReason;
  detail: string;
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeaders;
}

export const DLQ_HEADERS = {
  reason: 'dlq.reason',
  detail: 'dlq.detail',
  topic: 'dlq.source.topic',
  partition: 'dlq.source.partition',
  offset: 'dlq.source.offset',
  at: 'dlq.at',
  /** Set when the original value did not fit the dead-letter topic and was cut (its size, bytes). */
  truncated: 'dlq.truncated_from_bytes',
} as const;

export function deadLetterMessage(letter: DeadLetter, now = new Date()): OutgoingRecord {
  return {
    key: letter.key,
    value: letter.value,
    headers: {
      ...letter.headers,
      [DLQ_HEADERS.reason]: letter.reason,
      [DLQ_HEADERS.detail]: letter.detail.slice(0, 1000),
      [DLQ_HEADERS.topic]: letter.topic,
      [DLQ_HEADERS.partition]: String(letter.partition),
      [DLQ_HEADERS.offset]: letter.offset,
      [DLQ_HEADERS.at]: now.toISOString(),
    },
  };
}

const sizeOf = (r: OutgoingRecord) =>
  (r.key?.length ?? 0) +
  (r.value?.length ?? 0) +
  Object.entries(r.headers ?? {}).reduce((n, [k, v]) => n + k.length + String(v ?? '').length, 0) +
  64;

export interface DeadLetterSenderOptions {
  producer: RecordProducer;
  topic: string;
  /** Bytes per produce request; below the broker's message.max.bytes (1 MiB by default). */
  maxRequestBytes?: number;
  /** Called between retries (e.g. the consumer heartbeat); may throw to abandon the send. */
  onRetry?: () => Promise<void>;
  /** True once the service is stopping: give up retrying (the round stays uncommitted). */
  stopping: () => boolean;
  onFailure?: (error: unknown, attempt: number) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class DeadLetterSendAbandoned extends Error {
  override name = 'DeadLetterSendAbandoned';
}

/**
 * Sends `records` in requests of at most maxRequestBytes, each retried with
 * exponential backoff until it is acknowledged. A single record the broker
 * refuses as too large is sent again with its value cut to fit, its original
 * size in a header: the source offset headers still point at the original.
 */
export async function sendDeadLetters(
  records: readonly OutgoingRecord[],
  options: DeadLetterSenderOptions,
): Promise<void> {
  const limit = options.maxRequestBytes ?? 900 * 1024;
  let chunk: OutgoingRecord[] = [];
  let bytes = 0;
  const flush = async () => {
    if (chunk.length > 0) await sendChunk(chunk, limit, options);
    chunk = [];
    bytes = 0;
  };
  for (const record of records) {
    const size = sizeOf(record);
    if (chunk.length > 0 && bytes + size > limit) await flush();
    chunk.push(record);
    bytes += size;
  }
  await flush();
}

async function sendChunk(chunk: OutgoingRecord[], limit: number, o: DeadLetterSenderOptions) {
  let cuts = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      await o.producer.send(o.topic, chunk);
      return;
    } catch (error) {
      if (isMessageTooLarge(error)) {
        if (chunk.length > 1) {
          // The size estimate was off: send the halves on their own.
          const half = Math.ceil(chunk.length / 2);
          await sendChunk(chunk.slice(0, half), limit, o);
          await sendChunk(chunk.slice(half), limit, o);
          return;
        }
        // One record the topic cannot take: first its value cut to half a
        // request, then no value at all (the dlq.* headers always fit).
        chunk = [cut(chunk[0]!, cuts === 0 ? Math.floor(limit / 2) : 0)];
        cuts++;
        continue;
      }
      o.onFailure?.(error, attempt + 1);
      if (o.stopping()) throw new DeadLetterSendAbandoned('stopping while sending dead letters');
      await o.onRetry?.();
      await sleep(Math.min(10_000, 100 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2));
    }
  }
}

/** The record with its value cut to `maxValueBytes` and only the dlq.* headers. */
function cut(record: OutgoingRecord, maxValueBytes: number): OutgoingRecord {
  const value = record.value === null ? null : Buffer.from(record.value);
  const original = record.headers?.[DLQ_HEADERS.truncated] ?? String(value?.length ?? 0);
  const headers: RecordHeaders = { [DLQ_HEADERS.truncated]: original };
  for (const [name, v] of Object.entries(record.headers ?? {}))
    if (name.startsWith('dlq.') && name !== DLQ_HEADERS.truncated) headers[name] = v;
  return {
    key: record.key,
    value: value && maxValueBytes > 0 ? value.subarray(0, maxValueBytes) : null,
    headers,
  };
}
