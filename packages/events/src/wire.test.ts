import { describe, expect, it } from 'vitest';
import { wireHeaderError, wireSchemaId, writeWireHeader } from './wire.ts';

describe('wire header', () => {
  it('accepts magic 0 and reads the big-endian schema id', () => {
    const value = Buffer.from([0, 0x01, 0x02, 0x03, 0x04, 0x99]);
    expect(wireHeaderError(value)).toBeNull();
    expect(wireSchemaId(value)).toBe(0x01020304);
  });

  it('reports null and zero-length values as empty', () => {
    expect(wireHeaderError(null)?.reason).toBe('empty');
    expect(wireHeaderError(Buffer.alloc(0))?.reason).toBe('empty');
  });

  it('reports a wrong first byte as bad_magic', () => {
    expect(wireHeaderError(Buffer.from([1, 0, 0, 0, 1, 2]))).toEqual({
      reason: 'bad_magic',
      detail: 'first byte is 1, expected 0 (Confluent wire format)',
    });
    expect(wireHeaderError(Buffer.from('{"json":true}'))?.reason).toBe('bad_magic');
  });

  it('reports a value shorter than the header as bad_magic', () => {
    expect(wireHeaderError(Buffer.from([0, 0, 0, 1]))).toEqual({
      reason: 'bad_magic',
      detail: 'value is 4 bytes, shorter than the 5-byte wire header',
    });
  });

  it('writes a header that reads back', () => {
    const value = Buffer.alloc(7);
    writeWireHeader(value, 123_456);
    expect(value.subarray(0, 5)).toEqual(Buffer.from([0, 0, 0x01, 0xe2, 0x40]));
    expect(wireSchemaId(value)).toBe(123_456);
  });
});
