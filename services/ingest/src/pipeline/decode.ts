// The first steps every input record goes through: size, decode (Avro,
// Confluent wire format) and validation, then the key and partition checks of
// SPEC 2 (a record outside its key's partition would meet its user's other
// streams on another instance, so its answers would be wrong).
import {
  type EraseUserMessage,
  type EventCodec,
  type EventKind,
  type InputEvent,
  MAX_RECORD_BYTES,
  parseControl,
} from '@optout/events';
import { type ConsumedRecord, keyHash } from '@optout/kafka';
import type { AdmittedEvent } from '../state/affected.ts';
import { dlq, ok, type StepResult } from './results.ts';

export function decodeRecord(
  codec: EventCodec,
  kind: EventKind,
  topic: string,
  record: ConsumedRecord,
  partition: number,
  partitionCount: number,
): StepResult<AdmittedEvent> {
  if (record.value !== null && record.value.length > MAX_RECORD_BYTES)
    return dlq(
      'too_large',
      `value of ${record.value.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte limit`,
    );
  const result = codec.decode(kind, record.value);
  if (!result.ok) return dlq(result.reason, result.detail);
  const event = result.event;
  const placed = placement(record, event, partition, partitionCount);
  if (placed.type !== 'ok') return placed;
  const { userKey, keyHash: hash } = placed.value;
  return ok({ input: { kind, event } as InputEvent, keyHash: hash, userKey, topic });
}

export interface DecodedControl {
  message: EraseUserMessage;
  keyHash: number;
  userKey: string;
}

/** A control record: a valid erase_user message, keyed and partitioned like the user's records. */
export function decodeControl(
  record: ConsumedRecord,
  partition: number,
  partitionCount: number,
): StepResult<DecodedControl> {
  if (record.value !== null && record.value.length > MAX_RECORD_BYTES)
    return dlq(
      'too_large',
      `value of ${record.value.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte limit`,
    );
  const parsed = parseControl(record.value);
  if (!parsed.ok) return dlq('bad_control', parsed.detail);
  const message = parsed.message;
  const placed = placement(record, message, partition, partitionCount);
  if (placed.type !== 'ok') return placed;
  return ok({ message, ...placed.value });
}

/**
 * SPEC 2: a record is keyed `<app_id>:<user_id>` and sits in the partition
 * Kafka's default partitioner gives that key; a record placed otherwise would
 * meet its user's other streams on another instance.
 */
function placement(
  record: ConsumedRecord,
  who: { app_id: string; user_id: string },
  partition: number,
  partitionCount: number,
): StepResult<{ userKey: string; keyHash: number }> {
  const userKey = `${who.app_id}:${who.user_id}`;
  const key = record.key?.toString('utf8');
  if (key !== userKey)
    return dlq('wrong_key', `key ${JSON.stringify(key ?? null)} is not ${JSON.stringify(userKey)}`);
  // The key's bytes are the user key's UTF-8: hash them as they came.
  const hash = keyHash(record.key!);
  if (hash % partitionCount !== partition)
    return dlq(
      'wrong_partition',
      `key ${JSON.stringify(userKey)} belongs in partition ${hash % partitionCount}, not ${partition}`,
    );
  return ok({ userKey, keyHash: hash });
}
