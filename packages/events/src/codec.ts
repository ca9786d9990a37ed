// Decode and encode the four input records in the Confluent wire format.
//
// Sync/async design: writer schemas live in a registry (a file or an HTTP
// server), so fetching one is async; decoding must be cheap and synchronous.
// The consumer therefore calls `await codec.prepare(batchValues)` once per
// fetched batch (it resolves at once when every schema id in the batch is
// cached: the normal case after the first batch), then `decode` per record,
// which is synchronous and never touches the network. Calling `decode` for a
// schema id that was never prepared is a programming error and throws
// SchemaNotPreparedError, rather than dead-lettering a good record. A registry
// outage makes `prepare` reject (retry the batch); a definite "no such schema"
// is cached and decodes as `unknown_schema`.
import type { Type } from 'avsc';
import { type SchemaRegistry, UnknownSchemaError } from './registry.ts';
import { bundledReaderTypes } from './schemas.ts';
import { EVENT_KINDS, type EventKind, type EventOf } from './types.ts';
import { validateEvent } from './validate.ts';
import { WIRE_HEADER_BYTES, wireHeaderError, wireSchemaId, writeWireHeader } from './wire.ts';

export type DecodeFailureReason = 'empty' | 'bad_magic' | 'unknown_schema' | 'undecodable' | 'invalid';

export type DecodeResult<K extends EventKind = EventKind> =
  | { ok: true; event: EventOf<K> }
  | { ok: false; reason: DecodeFailureReason; detail: string };

export interface EventCodecOptions {
  registry: SchemaRegistry;
  /** Subject of each kind, used to find the schema to encode with (`<topic>-value`). */
  subjects: Readonly<Record<EventKind, string>>;
  /** Reader schema per kind (default: the highest bundled version of each kind). */
  readers?: Partial<Record<EventKind, Type>>;
  /** Where the bundled reader schemas are read from (default: the repository's schemas/). */
  schemasDir?: string;
}

export interface EventCodec {
  readonly subjects: Readonly<Record<EventKind, string>>;
  /** Loads the writer schemas of every framed value; rejects only if the registry is unreachable. */
  prepare(values: Iterable<Buffer | null | undefined>): Promise<void>;
  /** Synchronous decode + validation; the value's schema id must have gone through `prepare`. */
  decode<K extends EventKind>(kind: K, value: Buffer | null | undefined): DecodeResult<K>;
  /** `prepare([value])` then `decode`: convenient, not for the hot path. */
  decodeAsync<K extends EventKind>(kind: K, value: Buffer | null | undefined): Promise<DecodeResult<K>>;
  /** Loads the latest schema of each kind's subject so `encodeSync` can run. */
  prepareEncode(kinds?: readonly EventKind[]): Promise<void>;
  /** Encodes with the latest schema of the kind's subject (Avro type checks only, see validateEvent). */
  encode<K extends EventKind>(kind: K, event: EventOf<K>): Promise<Buffer>;
  /** As `encode`, after `prepareEncode` (or an earlier `encode`) of that kind; throws otherwise. */
  encodeSync<K extends EventKind>(kind: K, event: EventOf<K>): Buffer;
}

/** `decode` met a schema id that `prepare` never saw. */
export class SchemaNotPreparedError extends Error {
  override name = 'SchemaNotPreparedError';
}

type Resolver = ReturnType<Type['createResolver']>;

/** How to read one writer schema id as one kind; built once, then reused for every record. */
interface ReadPlan {
  reader: Type;
  /** undefined when writer and reader are the same schema (no resolution needed). */
  resolver: Resolver | undefined;
  failure: { reason: DecodeFailureReason; detail: string } | null;
}

interface EncodePlan {
  id: number;
  type: Type;
}

export function createEventCodec(options: EventCodecOptions): EventCodec {
  const { registry, subjects } = options;
  const readers = { ...bundledReadersUnlessGiven(options), ...options.readers } as Record<EventKind, Type>;
  /** Writer schema by id, or the registry's definite "unknown". Shared by all kinds (ids are global). */
  const writers = new Map<number, Type | UnknownSchemaError>();
  const plans = Object.fromEntries(EVENT_KINDS.map((kind) => [kind, new Map<number, ReadPlan>()])) as Record<
    EventKind,
    Map<number, ReadPlan>
  >;
  const encodePlans = new Map<EventKind, EncodePlan>();
  let scratch = Buffer.allocUnsafe(4096);

  async function loadWriter(id: number): Promise<void> {
    try {
      writers.set(id, await registry.writerSchema(id));
    } catch (error) {
      if (!(error instanceof UnknownSchemaError)) throw error;
      writers.set(id, error);
    }
  }

  function planFor(kind: EventKind, id: number): ReadPlan {
    const writer = writers.get(id);
    if (writer === undefined) {
      throw new SchemaNotPreparedError(
        `schema id ${id} was not loaded: await codec.prepare(values) before decode`,
      );
    }
    const reader = readers[kind];
    const plan: ReadPlan = { reader, resolver: undefined, failure: null };
    if (writer instanceof UnknownSchemaError) {
      plan.failure = { reason: 'unknown_schema', detail: writer.message };
    } else if (!writer.equals(reader)) {
      try {
        plan.resolver = reader.createResolver(writer);
      } catch (error) {
        const detail = `writer schema id ${id} (${writer.name}) cannot be read as ${reader.name}: ${(error as Error).message}`;
        plan.failure = { reason: 'undecodable', detail };
      }
    }
    plans[kind].set(id, plan);
    return plan;
  }

  function decode<K extends EventKind>(kind: K, value: Buffer | null | undefined): DecodeResult<K> {
    const headerError = wireHeaderError(value);
    if (headerError !== null) return { ok: false, reason: headerError.reason, detail: headerError.detail };
    const body = value as Buffer;
    const id = wireSchemaId(body);
    const plan = plans[kind].get(id) ?? planFor(kind, id);
    if (plan.failure !== null) return { ok: false, reason: plan.failure.reason, detail: plan.failure.detail };
    let decoded: { value: unknown; offset: number };
    try {
      decoded = plan.reader.decode(body, WIRE_HEADER_BYTES, plan.resolver);
    } catch (error) {
      return { ok: false, reason: 'undecodable', detail: `schema id ${id}: ${(error as Error).message}` };
    }
    if (decoded.offset !== body.length) {
      const detail =
        decoded.offset < 0
          ? `schema id ${id}: truncated Avro body`
          : `schema id ${id}: ${body.length - decoded.offset} trailing bytes after the Avro body`;
      return { ok: false, reason: 'undecodable', detail };
    }
    const event = decoded.value as EventOf<K>;
    const problem = validateEvent(kind, event);
    if (problem !== null) return { ok: false, reason: 'invalid', detail: problem };
    return { ok: true, event };
  }

  async function prepare(values: Iterable<Buffer | null | undefined>): Promise<void> {
    let missing: Set<number> | undefined;
    for (const value of values) {
      if (wireHeaderError(value) !== null) continue;
      const id = wireSchemaId(value as Buffer);
      if (writers.has(id)) continue;
      missing ??= new Set();
      missing.add(id);
    }
    if (missing) await Promise.all(Array.from(missing, loadWriter));
  }

  async function prepareEncode(kinds: readonly EventKind[] = EVENT_KINDS): Promise<void> {
    await Promise.all(
      kinds.map(async (kind) => {
        if (encodePlans.has(kind)) return;
        const latest = await registry.latest(subjects[kind]);
        encodePlans.set(kind, { id: latest.id, type: latest.type });
      }),
    );
  }

  function encodeSync<K extends EventKind>(kind: K, event: EventOf<K>): Buffer {
    const plan = encodePlans.get(kind);
    if (!plan) throw new Error(`no schema loaded to encode ${kind}: await codec.prepareEncode() first`);
    // Encode into a reused scratch buffer, then copy out once: one allocation per record.
    let end = plan.type.encode(event, scratch, WIRE_HEADER_BYTES);
    while (end < 0) {
      scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end));
      end = plan.type.encode(event, scratch, WIRE_HEADER_BYTES);
    }
    writeWireHeader(scratch, plan.id);
    return Buffer.from(scratch.subarray(0, end));
  }

  return {
    subjects,
    prepare,
    decode,
    async decodeAsync(kind, value) {
      await prepare([value]);
      return decode(kind, value);
    },
    prepareEncode,
    async encode(kind, event) {
      await prepareEncode([kind]);
      return encodeSync(kind, event);
    },
    encodeSync,
  };
}

function bundledReadersUnlessGiven(options: EventCodecOptions): Partial<Record<EventKind, Type>> {
  const given = options.readers ?? {};
  if (EVENT_KINDS.every((kind) => given[kind] !== undefined)) return {};
  return bundledReaderTypes(options.schemasDir);
}
