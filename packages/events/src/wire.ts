// Confluent wire format: byte 0 = 0 (magic), bytes 1-4 = big-endian int32 schema
// id, then the Avro binary body. Header checks return null on success so the
// hot path allocates nothing for a good record.

export const MAGIC_BYTE = 0;
export const WIRE_HEADER_BYTES = 5;

export interface WireHeaderError {
  reason: 'empty' | 'bad_magic';
  detail: string;
}

/** Why `value` has no usable wire header, or null if it has one. */
export function wireHeaderError(value: Buffer | null | undefined): WireHeaderError | null {
  if (value == null || value.length === 0)
    return { reason: 'empty', detail: 'no value (tombstone or empty)' };
  if (value[0] !== MAGIC_BYTE) {
    return {
      reason: 'bad_magic',
      detail: `first byte is ${value[0]}, expected ${MAGIC_BYTE} (Confluent wire format)`,
    };
  }
  if (value.length < WIRE_HEADER_BYTES) {
    return {
      reason: 'bad_magic',
      detail: `value is ${value.length} bytes, shorter than the ${WIRE_HEADER_BYTES}-byte wire header`,
    };
  }
  return null;
}

/** The schema id of a value that passed `wireHeaderError`. */
export function wireSchemaId(value: Buffer): number {
  return value.readInt32BE(1);
}

/** Writes the wire header for `schemaId` into the first 5 bytes of `target`. */
export function writeWireHeader(target: Buffer, schemaId: number): void {
  target[0] = MAGIC_BYTE;
  target.writeInt32BE(schemaId, 1);
}
