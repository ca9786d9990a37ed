// Literals through the REAL server: what the server reads back must be the
// value we meant, byte for byte (hex(s) against the JS-side UTF-8 encoding).
import { afterAll, describe, expect, it } from 'vitest';
import { testStack } from '../../../test/support/env.ts';
import { createClickHouseClient } from './client.ts';
import {
  dateLiteral,
  dateTimeLiteral,
  identifier,
  inList,
  join,
  literal,
  type SqlFragment,
  type SqlValue,
  sql,
} from './sql.ts';
import { EDGE_CASES, hostileStrings, utf8Hex } from './testing/hostile-strings.ts';

const stack = testStack();
const client = createClickHouseClient({
  url: stack.clickhouseUrl,
  username: stack.clickhouseUser,
  password: stack.clickhousePassword,
});
afterAll(() => client.close());

async function rows<T>(query: SqlFragment): Promise<T[]> {
  const result = await client.query({ query: query.text, format: 'JSONEachRow' });
  return result.json<T>();
}

/** Splits strings into batches whose literals stay well under max_query_size (256 KiB). */
function batches(strings: string[], maxChars = 100_000): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const s of strings) {
    const length = literal(s).text.length;
    if (current.length > 0 && size + length > maxChars) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(s);
    size += length + 2;
  }
  if (current.length > 0) out.push(current);
  return out;
}

describe('string literals round-trip through ClickHouse', () => {
  it('5,000 generated hostile strings come back identical, byte for byte', async () => {
    const strings = hostileStrings(5000);
    let checked = 0;
    for (const batch of batches(strings)) {
      const [row] = await rows<{ s: string[]; h: string[]; n: string[] }>(
        sql`SELECT ${batch} AS s, arrayMap(x -> hex(x), s) AS h, arrayMap(x -> length(x), s) AS n`,
      );
      expect(row!.s).toHaveLength(batch.length);
      batch.forEach((expected, i) => {
        const where = `string #${checked + i}: ${JSON.stringify(expected).slice(0, 80)}`;
        expect(row!.h[i], where).toBe(utf8Hex(expected));
        expect(row!.s[i], where).toBe(expected);
        expect(Number(row!.n[i]), where).toBe(Buffer.byteLength(expected, 'utf8'));
      });
      checked += batch.length;
    }
    expect(checked).toBe(5000);
  });

  it('edge cases also survive as scalar columns (SELECT <lit> AS s, UNION ALL)', async () => {
    const selects = EDGE_CASES.map((s, i) => sql`SELECT ${i} AS i, ${s} AS s, hex(s) AS h`);
    const result = await rows<{ i: number; s: string; h: string }>(
      sql`SELECT i, s, h FROM (${join(selects, ' UNION ALL ')}) ORDER BY i`,
    );
    expect(result.map((r) => r.s)).toEqual(EDGE_CASES);
    expect(result.map((r) => r.h)).toEqual(EDGE_CASES.map(utf8Hex));
  });

  it('a bound value matches as a WHERE filter', async () => {
    const needles = hostileStrings(200, 99).slice(EDGE_CASES.length);
    const table = sql`(SELECT arrayJoin(${needles}) AS s)`;
    for (const needle of needles.slice(0, 20)) {
      const [row] = await rows<{ c: string }>(sql`SELECT count() AS c FROM ${table} WHERE s = ${needle}`);
      expect(Number(row!.c)).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('numbers, dates, arrays round-trip', () => {
  it('integers of every width, 64-bit read back as strings', async () => {
    const values: [SqlValue, string][] = [
      [0, '0'],
      [1, '1'],
      [-1, '-1'],
      [-128, '-128'],
      [255, '255'],
      [2147483647, '2147483647'],
      [-2147483648, '-2147483648'],
      [4294967295, '4294967295'],
      [Number.MAX_SAFE_INTEGER, '9007199254740991'],
      [-Number.MAX_SAFE_INTEGER, '-9007199254740991'],
      [9007199254740993n, '9007199254740993'],
      [-9223372036854775808n, '-9223372036854775808'],
      [9223372036854775807n, '9223372036854775807'],
      [18446744073709551615n, '18446744073709551615'],
      [true, '1'],
      [false, '0'],
    ];
    const columns = join(values.map(([v], i) => sql`toString(${v}) AS ${identifier(`c${i}`)}`));
    const [row] = await rows<Record<string, string>>(sql`SELECT ${columns}`);
    for (const [i, [, expected]] of values.entries()) expect(row![`c${i}`], expected).toBe(expected);
  });

  it('floats come back as the same double', async () => {
    const floats = [
      0.1,
      0.1 + 0.2,
      -2.5,
      1e-7,
      123456.789,
      1e300,
      1.7976931348623157e308,
      2.2250738585072014e-308,
    ];
    const [row] = await rows<{ f: number[] }>(sql`SELECT ${floats} AS f`);
    expect(row!.f).toEqual(floats);
  });

  it('the negative-number parentheses keep arithmetic right', async () => {
    const [row] = await rows<{ v: number }>(sql`SELECT 1-${-5} AS v`);
    expect(row!.v).toBe(6);
  });

  it('dates and datetimes, including the range ends', async () => {
    const ms = [0, 1_700_000_000_999, Date.UTC(2024, 1, 29, 23, 59, 59), Date.UTC(2105, 11, 31, 23, 59, 59)];
    const [row] = await rows<{ d: string[]; t: string[]; o: string[]; ty: string }>(
      sql`SELECT
        arrayMap(x -> toString(x), [${join(['1970-01-02', '2024-02-29', '2105-12-31'].map(dateLiteral))}]) AS d,
        arrayMap(x -> toString(toUnixTimestamp(x)), [${join(ms.map(dateTimeLiteral))}]) AS t,
        arrayMap(x -> toString(toUnixTimestamp(x)), [${join(ms.map((m) => literal(new Date(m))))}]) AS o,
        toTypeName(${dateTimeLiteral(0)}) AS ty`,
    );
    expect(row!.d).toEqual(['1970-01-02', '2024-02-29', '2105-12-31']);
    const seconds = ms.map((m) => String(Math.floor(m / 1000)));
    expect(row!.t).toEqual(seconds);
    expect(row!.o).toEqual(seconds);
    expect(row!.ty).toBe("DateTime('UTC')");
  });

  it('arrays (nested, nullable, empty) and IN lists', async () => {
    const [row] = await rows<{ a: unknown; b: unknown; e: unknown; t: string; i: number; n: number }>(
      sql`SELECT ${[[1, 2], [3]]} AS a, ${['x', "y'", null]} AS b, ${[]} AS e, toTypeName(b) AS t,
        3 IN ${[1, 2, 3]} AS i, 'q' IN ${inList(['a', 'b'])} AS n`,
    );
    expect(row).toEqual({
      a: [[1, 2], [3]],
      b: ['x', "y'", null],
      e: [],
      t: 'Array(Nullable(String))',
      i: 1,
      n: 0,
    });
  });
});
