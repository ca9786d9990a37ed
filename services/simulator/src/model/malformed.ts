// Malformed records mixed into the stream, to exercise the dead-letter path:
// garbage bytes, a wire header with a schema id no registry knows, and a
// well-formed record whose app_id is missing (empty). They are sent raw to the
// topics by send.ts; none of them is a valid event.
import { EVENT_KINDS, type EventKind, type InputEvent } from '@optout/events';
import type { Rng } from './rng.ts';

export type MalformedReason = 'garbage' | 'unknown_schema' | 'missing_app_id';
export const MALFORMED_REASONS: readonly MalformedReason[] = ['garbage', 'unknown_schema', 'missing_app_id'];

/** Far above any id in schemas/registry.json. */
export const UNKNOWN_SCHEMA_ID_BASE = 900_000;

export interface MalformedRecord {
  kind: 'malformed';
  /** The topic (by kind) it is sent to. */
  topic: EventKind;
  reason: MalformedReason;
  key: string;
  /** The raw value for garbage / unknown_schema; null for missing_app_id (send.ts encodes `event`). */
  value: Uint8Array | null;
  /** missing_app_id: the event to encode (its app_id is ''). */
  event: InputEvent | null;
}

export type SimRecord = InputEvent | MalformedRecord;

export function isMalformed(record: SimRecord): record is MalformedRecord {
  return record.kind === 'malformed';
}

/** A malformed record modelled on `template` (a real event of the stream). */
export function malformedFrom(template: InputEvent, rng: Rng): MalformedRecord {
  const reason = rng.pick(MALFORMED_REASONS);
  const topic = rng.chance(0.5) ? template.kind : rng.pick(EVENT_KINDS);
  const key = `${template.event.app_id}:${template.event.user_id}`;
  if (reason === 'missing_app_id') {
    const event = {
      ...template.event,
      app_id: '',
      event_id: `${template.event.event_id}-bad`,
    } as InputEvent['event'];
    return {
      kind: 'malformed',
      topic: template.kind,
      reason,
      key: `:${template.event.user_id}`,
      value: null,
      event: { kind: template.kind, event } as InputEvent,
    };
  }
  const body = rng.bytes(4 + rng.int(60));
  if (reason === 'unknown_schema') {
    const value = new Uint8Array(5 + body.length);
    const view = new DataView(value.buffer);
    value[0] = 0;
    view.setInt32(1, UNKNOWN_SCHEMA_ID_BASE + rng.int(1000));
    value.set(body, 5);
    return { kind: 'malformed', topic, reason, key, value, event: null };
  }
  // Garbage: never starts with the magic byte 0 (so it cannot pass as framed Avro by chance).
  body[0] = 1 + (body[0]! % 255);
  return { kind: 'malformed', topic, reason, key, value: body, event: null };
}

/**
 * Inserts malformed records so that they make up `share` of the output (0..0.5),
 * each after a real event it is modelled on.
 */
export function* withMalformed(
  batches: Iterable<InputEvent[]>,
  share: number,
  rng: Rng,
): Generator<SimRecord[]> {
  if (share <= 0) {
    yield* batches;
    return;
  }
  const perEvent = share / (1 - share);
  for (const batch of batches) {
    const out: SimRecord[] = [];
    for (const input of batch) {
      out.push(input);
      if (rng.chance(perEvent)) out.push(malformedFrom(input, rng));
    }
    yield out;
  }
}
