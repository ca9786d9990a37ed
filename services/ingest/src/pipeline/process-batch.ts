// One fetched batch of one input topic-partition, turned into what must be
// written: dead letters, raw event rows, and the users whose facts may change.
// Pure apart from mutating the partition state; the loop (consumer.ts) decides
// what to write and when to commit. Every record ends as exactly one of:
// applied, duplicate, or dead letter.
import type { EventCodec, EventKind, InputEvent } from '@optout/events';
import { type DeadLetter, keyHash, partitionForKey } from '@optout/kafka';
import type { KafkaMessage } from 'kafkajs';
import { derivedRows, RAW_TABLE, rawRow } from '../sink/rows.ts';
import type { PartitionState } from '../state/partition-state.ts';
import type { UserState } from '../state/user-state.ts';

export interface BatchInput {
  kind: EventKind;
  topic: string;
  partition: number;
  partitionCount: number;
  messages: readonly KafkaMessage[];
}

export interface BatchPlan {
  deadLetters: DeadLetter[];
  rawTable: string;
  rawRows: Record<string, unknown>[];
  /** Latest-known and reach rows, by table. */
  derived: Map<string, Record<string, unknown>[]>;
  touched: Set<UserState>;
  decoded: number;
  duplicates: number;
  late: number;
}

export function processBatch(input: BatchInput, codec: EventCodec, state: PartitionState): BatchPlan {
  const plan: BatchPlan = {
    deadLetters: [],
    rawTable: RAW_TABLE[input.kind],
    rawRows: [],
    derived: new Map(),
    touched: new Set(),
    decoded: 0,
    duplicates: 0,
    late: 0,
  };
  const toRaw = rawRow[input.kind] as (event: InputEvent['event'], hash: number) => Record<string, unknown>;
  for (const message of input.messages) {
    const letter = (reason: DeadLetter['reason'], detail: string): DeadLetter => ({
      reason,
      detail,
      topic: input.topic,
      partition: input.partition,
      offset: message.offset,
      key: message.key ?? null,
      value: message.value ?? null,
      headers: message.headers,
    });
    const result = codec.decode(input.kind, message.value);
    if (!result.ok) {
      plan.deadLetters.push(letter(result.reason, result.detail));
      continue;
    }
    const event = result.event;
    const expectedKey = `${event.app_id}:${event.user_id}`;
    const key = message.key?.toString('utf8');
    if (key !== expectedKey) {
      plan.deadLetters.push(
        letter('wrong_key', `key ${JSON.stringify(key ?? null)} is not ${JSON.stringify(expectedKey)}`),
      );
      continue;
    }
    // A record outside its key's partition would meet its user's other streams on
    // another instance: its answers would be wrong, so it is not processed.
    const expectedPartition = partitionForKey(expectedKey, input.partitionCount);
    if (expectedPartition !== input.partition) {
      plan.deadLetters.push(
        letter(
          'wrong_partition',
          `key ${JSON.stringify(expectedKey)} belongs in partition ${expectedPartition}, not ${input.partition}`,
        ),
      );
      continue;
    }
    plan.decoded++;
    const outcome = state.apply({ kind: input.kind, event } as InputEvent);
    if (!outcome.admitted) {
      plan.duplicates++;
      continue;
    }
    if (outcome.late) plan.late++;
    plan.touched.add(outcome.user);
    plan.rawRows.push(toRaw(event, keyHash(expectedKey)));
    for (const [table, row] of derivedRows(input.kind, event)) {
      const rows = plan.derived.get(table);
      if (rows) rows.push(row);
      else plan.derived.set(table, [row]);
    }
  }
  return plan;
}
