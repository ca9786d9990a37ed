// Rows serialised once, straight into ClickHouse's TabSeparated format, in the
// column order of the catalogue (./catalogue.ts). TSV is what both 18.16 and
// current servers read fastest from text (reference doc 4), and building the
// text directly skips the client's per-object JSON encoding.
//
// TabSeparated rules: a field is the value's text with `\`, tab, newline,
// carriage return and NUL backslash-escaped; NULL is `\N`; a DateTime may be
// given as epoch seconds; an array is `[1,2,3]`.
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ColumnType, RowOf, TableSpec } from './catalogue.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
const TSV_SPECIAL = /[\\\t\n\r\u0000]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above
const HAS_TSV_SPECIAL = /[\\\t\n\r\u0000]/;
const TSV_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
};

export function escapeTsv(text: string): string {
  return HAS_TSV_SPECIAL.test(text) ? text.replace(TSV_SPECIAL, (c) => TSV_ESCAPES[c]!) : text;
}

// One encoder per column type; the line encoders below call them directly.
const str = (value: unknown, column: string): string => {
  if (typeof value !== 'string') throw new TypeError(`${column}: expected a string`);
  return escapeTsv(value);
};
const nullableStr = (value: unknown, column: string): string => (value === null ? '\\N' : str(value, column));
const int64 = (value: unknown, column: string): string => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw new TypeError(`${column}: expected a safe integer, got ${String(value)}`);
  return String(value);
};
const uint = (value: unknown, column: string): string => {
  const text = int64(value, column);
  if ((value as number) < 0) throw new RangeError(`${column}: negative value ${text}`);
  return text;
};
const arrayOf =
  (element: (value: unknown, column: string) => string) =>
  (value: unknown, column: string): string => {
    if (!Array.isArray(value)) throw new TypeError(`${column}: expected an array`);
    return `[${value.map((v) => element(v, column)).join(',')}]`;
  };
// A String inside an array is quoted: in single quotes, with the quote and the
// control characters backslash-escaped (ClickHouse's quoted-string rules), so
// the array's text holds no raw tab or newline and needs no TSV escaping itself.
// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
const QUOTED_SPECIAL = /[\\'\t\n\r\u0000\b\f]/g;
const QUOTED_ESCAPES: Record<string, string> = { ...TSV_ESCAPES, "'": "\\'", '\b': '\\b', '\f': '\\f' };
const quotedStr = (value: unknown, column: string): string => {
  if (typeof value !== 'string') throw new TypeError(`${column}: expected a string`);
  return `'${value.replace(QUOTED_SPECIAL, (c) => QUOTED_ESCAPES[c]!)}'`;
};
const uint8 = (value: unknown, column: string): string => {
  const text = uint(value, column);
  if ((value as number) > 255) throw new RangeError(`${column}: ${text} does not fit UInt8`);
  return text;
};
const viewOnly = (_value: unknown, column: string): string => {
  throw new TypeError(`${column}: written through its view, not inserted`);
};

const FIELD: Record<ColumnType, (value: unknown, column: string) => string> = {
  String: str,
  Enum8: str,
  'Nullable(String)': nullableStr,
  Int64: int64,
  UInt8: uint8,
  UInt16: uint,
  UInt32: uint,
  UInt64: uint,
  "DateTime('UTC')": uint,
  'Array(String)': arrayOf(quotedStr),
  'Array(UInt8)': arrayOf(uint8),
  'Array(UInt16)': arrayOf(uint),
  'Array(UInt32)': arrayOf(uint),
  'Array(Int64)': arrayOf(int64),
  'AggregateFunction(min, Int64)': viewOnly,
};

/** The TSV field of one value of a column. */
export function tsvField(type: ColumnType, value: unknown, column: string): string {
  return FIELD[type](value, column);
}

type LineEncoder = (row: unknown) => string;

const encoders = new WeakMap<TableSpec, LineEncoder>();

/**
 * One TSV line per row, from a function made once per table that reads each
 * column by name (`row.app_id`, ...): the hot path of ingest, where a loop over
 * columns with `row[name]` would be a slow, megamorphic lookup. The generated
 * code contains only the catalogue's column names (checked to be identifiers),
 * never data.
 */
function lineEncoder(table: TableSpec): LineEncoder {
  let encode = encoders.get(table);
  if (encode) return encode;
  const fields = table.columns.map((c, i) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(c.name)) throw new TypeError(`column name ${c.name} is not an identifier`);
    const label = JSON.stringify(`${table.name}.${c.name} (${c.type})`);
    return `f[${i}](row.${c.name}, ${label})${i < table.columns.length - 1 ? " + '\\t'" : ''}`;
  });
  const perColumn = table.columns.map((c) => FIELD[c.type]);
  encode = new Function('f', `return (row) => ${fields.join(' + ')} + '\\n';`)(perColumn) as LineEncoder;
  encoders.set(table, encode);
  return encode;
}

const CHUNK_BYTES = 1024 * 1024;
/**
 * Lines are joined into text of about this many UTF-16 units before being
 * written into the buffer: one UTF-8 write per line cost more than the line's
 * encoding (1.4-2x the time per row, measured with a copy of this code).
 */
const PENDING_UNITS = 16 * 1024;

/**
 * Rows for one table, encoded as they are added into 1 MiB buffers: no array of
 * line strings and no joined copy of them stay alive for the garbage collector.
 */
export class TsvRows<S extends TableSpec> {
  private readonly chunks: Buffer[] = [];
  private current = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private pending = '';
  private rows = 0;
  private readonly encode: LineEncoder;

  constructor(readonly table: S) {
    this.encode = lineEncoder(table);
  }

  add(row: RowOf<S>): void {
    this.pending += this.encode(row);
    this.rows++;
    if (this.pending.length >= PENDING_UNITS) this.writePending();
  }

  private writePending(): void {
    const text = this.pending;
    this.pending = '';
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.current.length - this.used < text.length * 3) {
      if (this.used > 0) this.chunks.push(this.current.subarray(0, this.used));
      this.current = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, text.length * 3));
      this.used = 0;
    }
    this.used += this.current.write(text, this.used, 'utf8');
  }

  get length(): number {
    return this.rows;
  }

  /** The encoded rows, as the buffers they were written into. */
  body(): Buffer[] {
    if (this.pending.length > 0) this.writePending();
    return this.used > 0 ? [...this.chunks, this.current.subarray(0, this.used)] : [...this.chunks];
  }
}

/** INSERT INTO <table> (<catalogue columns>) FORMAT TabSeparated, with `body` as the data. */
export async function insertTsv(
  client: ClickHouseClient,
  table: TableSpec,
  body: readonly Buffer[],
): Promise<void> {
  const [first, ...rest] = table.columns.map((c) => c.name);
  await client.insert({
    table: table.name,
    values: Readable.from(body, { objectMode: false }),
    format: 'TabSeparated',
    columns: [first!, ...rest],
  });
}
