// Rows in ClickHouse's RowBinary format, for the histograms: up to 1,530
// cells a row, 384 rows a day of history. Written straight from the typed
// arrays (no text), through exec(): @clickhouse/client has no RowBinary
// encoder of its own (its issues #25, #216). The format: integers little
// endian, a String or an Array prefixed by its length as a LEB128 varint.
import { endianness } from 'node:os';
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';

if (endianness() !== 'LE')
  throw new Error('RowBinaryWriter copies typed arrays as they are: little-endian machines only');

export class RowBinaryWriter {
  private buffer = Buffer.allocUnsafe(1 << 20);
  private used = 0;

  get bytes(): number {
    return this.used;
  }

  private room(n: number): void {
    if (this.used + n <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.used + n));
    this.buffer.copy(bigger, 0, 0, this.used);
    this.buffer = bigger;
  }

  private varint(n: number): void {
    this.room(10);
    let v = n;
    while (v >= 0x80) {
      this.buffer[this.used++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buffer[this.used++] = v;
  }

  string(s: string): this {
    const length = Buffer.byteLength(s);
    this.varint(length);
    this.room(length);
    this.used += this.buffer.write(s, this.used, 'utf8');
    return this;
  }

  uint16(n: number): this {
    this.room(2);
    this.used = this.buffer.writeUInt16LE(n, this.used);
    return this;
  }

  uint32(n: number): this {
    this.room(4);
    this.used = this.buffer.writeUInt32LE(n, this.used);
    return this;
  }

  uint64(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a UInt64 that fits a double: ${n}`);
    this.room(8);
    this.used = this.buffer.writeUInt32LE(n % 2 ** 32, this.used);
    this.used = this.buffer.writeUInt32LE(Math.floor(n / 2 ** 32), this.used);
    return this;
  }

  /** An Array(UInt16) or Array(UInt32): the typed array's own bytes are RowBinary's here (checked at load). */
  array(values: Uint16Array | Uint32Array): this {
    this.varint(values.length);
    this.room(values.byteLength);
    this.used += Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(
      this.buffer,
      this.used,
    );
    return this;
  }

  /** INSERT INTO `table` (columns) the rows written so far; the writer is empty after. */
  async insert(client: ClickHouseClient, table: string, columns: readonly string[]): Promise<void> {
    if (this.used === 0) return;
    const body = this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(1 << 20);
    this.used = 0;
    const { stream } = await client.exec({
      query: `INSERT INTO ${table} (${columns.join(', ')}) FORMAT RowBinary`,
      values: Readable.from([body], { objectMode: false }),
    });
    // The reply (empty on success) must be read for the request to finish.
    for await (const _ of stream as AsyncIterable<Buffer>) {
    }
  }
}
