// Dead-letter records: the original key, value and headers unchanged, plus
// headers that say where the record came from and why it was refused.
import type { Message } from 'kafkajs';

export type DeadLetterReason =
  | 'empty'
  | 'bad_magic'
  | 'unknown_schema'
  | 'undecodable'
  | 'invalid'
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
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export const DLQ_HEADERS = {
  reason: 'dlq.reason',
  detail: 'dlq.detail',
  topic: 'dlq.source.topic',
  partition: 'dlq.source.partition',
  offset: 'dlq.source.offset',
  at: 'dlq.at',
} as const;

export function deadLetterMessage(letter: DeadLetter, now = new Date()): Message {
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
