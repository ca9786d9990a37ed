import { describe, expect, it } from 'vitest';
import {
  dateLiteral,
  dateTimeLiteral,
  identifier,
  inList,
  join,
  literal,
  SqlFragment,
  sql,
  stringLiteral,
  unsafeRaw,
} from './sql.ts';

const lit = (v: Parameters<typeof literal>[0]) => literal(v).text;

describe('literal: strings', () => {
  it('quotes and escapes backslash and quote', () => {
    expect(lit('')).toBe("''");
    expect(lit("it's")).toBe("'it\\'s'");
    expect(lit('a\\b')).toBe("'a\\\\b'");
    expect(lit("\\'")).toBe("'\\\\\\''");
  });

  it('escapes control characters, leaves everything else raw', () => {
    expect(lit('\0\b\f\n\r\t')).toBe("'\\0\\b\\f\\n\\r\\t'");
    expect(lit('\u0001\u001b\u001f\u007f')).toBe("'\\x01\\x1b\\x1f\\x7f'");
    expect(lit('é日本👨‍👩‍👧\u2028\ufeff')).toBe("'é日本👨‍👩‍👧\u2028\ufeff'");
  });

  it('keeps SQL-looking text inside the literal', () => {
    expect(lit("x' OR 1=1 --")).toBe("'x\\' OR 1=1 --'");
    expect(lit('{a:String} FORMAT JSON /*')).toBe("'{a:String} FORMAT JSON /*'");
    expect(lit('\\N\\x41')).toBe("'\\\\N\\\\x41'");
  });

  it('rejects lone surrogates but accepts pairs', () => {
    expect(() => lit('a\ud800b')).toThrow(/lone surrogate/);
    expect(() => lit('\udc00')).toThrow(/lone surrogate/);
    expect(() => lit('\ud83d')).toThrow(/lone surrogate/);
    expect(lit('\ud83d\ude00')).toBe("'😀'");
  });

  it('stringLiteral refuses non-strings', () => {
    expect(() => stringLiteral(5 as unknown as string)).toThrow(TypeError);
  });
});

describe('literal: numbers, bigints, booleans, null', () => {
  it('writes integers as integers and floats as shortest round-trip decimals', () => {
    expect(lit(0)).toBe('0');
    expect(lit(42)).toBe('42');
    expect(lit(-0)).toBe('0');
    expect(lit(1.5)).toBe('1.5');
    expect(lit(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(lit(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
  });

  it('parenthesises negatives so 1 minus -5 cannot become a comment', () => {
    expect(lit(-5)).toBe('(-5)');
    expect(lit(-2.5)).toBe('(-2.5)');
    expect(sql`SELECT 1-${-5}`.text).toBe('SELECT 1-(-5)');
    expect(lit(-9223372036854775808n)).toBe('(-9223372036854775808)');
  });

  it('rejects NaN, Infinity and unsafe integers', () => {
    expect(() => lit(Number.NaN)).toThrow(/finite/);
    expect(() => lit(Number.POSITIVE_INFINITY)).toThrow(/finite/);
    expect(() => lit(2 ** 53)).toThrow(/bigint/);
    expect(() => lit(-(2 ** 63))).toThrow(/bigint/);
    expect(lit(1e300)).toBe('1e+300');
    expect(lit(1e-7)).toBe('1e-7');
  });

  it('writes bigints within Int64..UInt64', () => {
    expect(lit(18446744073709551615n)).toBe('18446744073709551615');
    expect(() => lit(18446744073709551616n)).toThrow(/Int64/);
    expect(() => lit(-9223372036854775809n)).toThrow(/Int64/);
  });

  it('booleans as 1/0, null as NULL', () => {
    expect(lit(true)).toBe('1');
    expect(lit(false)).toBe('0');
    expect(lit(null)).toBe('NULL');
  });

  it('refuses undefined and objects', () => {
    expect(() => literal(undefined as unknown as null)).toThrow(/undefined/);
    expect(() => literal({} as unknown as null)).toThrow(/object/);
  });
});

describe('dates and times', () => {
  it('Date values become toDateTime text in UTC, milliseconds floored', () => {
    expect(lit(new Date('2024-01-31T10:20:30.999Z'))).toBe("toDateTime('2024-01-31 10:20:30', 'UTC')");
    expect(() => lit(new Date('nope'))).toThrow(/invalid/);
    expect(() => lit(new Date('1969-12-31T23:59:59Z'))).toThrow(/outside/);
    expect(() => lit(new Date('2106-01-01T00:00:00Z'))).toThrow(/outside/);
  });

  it('dateTimeLiteral takes epoch ms or a Date', () => {
    expect(dateTimeLiteral(1_700_000_000_999).text).toBe("toDateTime(1700000000, 'UTC')");
    expect(dateTimeLiteral(new Date(0)).text).toBe("toDateTime(0, 'UTC')");
    expect(dateTimeLiteral(Date.UTC(2105, 11, 31, 23, 59, 59)).text).toBe("toDateTime(4291747199, 'UTC')");
    expect(() => dateTimeLiteral(Number.NaN)).toThrow();
    expect(() => dateTimeLiteral(-1000)).toThrow(/outside/);
  });

  it('dateLiteral validates a real calendar day', () => {
    expect(dateLiteral('2024-02-29').text).toBe("toDate('2024-02-29')");
    for (const bad of [
      '2023-02-29',
      '2024-13-01',
      '2024-1-01',
      '2024-01-32',
      "2024-01-01'",
      '',
      '1969-12-31',
    ]) {
      expect(() => dateLiteral(bad), bad).toThrow(RangeError);
    }
    expect(() => dateLiteral('2106-01-01')).toThrow(/outside/);
  });
});

describe('arrays and IN lists', () => {
  it('arrays are recursive', () => {
    expect(lit([])).toBe('[]');
    expect(lit([1, 'a', null, [true]])).toBe("[1, 'a', NULL, [1]]");
  });

  it('inList makes a tuple list and refuses an empty one', () => {
    expect(inList(['a', "b'"]).text).toBe("('a', 'b\\'')");
    expect(() => inList([])).toThrow(/at least one/);
  });

  it('sql turns an array after IN into a tuple list, elsewhere into an array', () => {
    expect(sql`x IN ${[1, 2]} AND y not in ${['a']} AND has(${[1]}, z)`.text).toBe(
      "x IN (1, 2) AND y not in ('a') AND has([1], z)",
    );
  });
});

describe('identifier', () => {
  it('backtick-quotes and escapes', () => {
    expect(identifier('t').text).toBe('`t`');
    expect(identifier('db', 'my table').text).toBe('`db`.`my table`');
    expect(identifier('a`b\\c').text).toBe('`a\\`b\\\\c`');
  });

  it('rejects empty names and control characters', () => {
    expect(() => identifier('')).toThrow(/empty/);
    expect(() => identifier()).toThrow(/needs a name/);
    expect(() => identifier('a\nb')).toThrow(/control/);
  });
});

describe('sql template', () => {
  it('binds values as literals and inserts fragments as-is', () => {
    const q = sql`SELECT * FROM ${identifier('db', 't')} WHERE a = ${"x'y"} AND b IN ${[1, 2]} ORDER BY ${unsafeRaw('a DESC')}`;
    expect(q).toBeInstanceOf(SqlFragment);
    expect(q.text).toBe("SELECT * FROM `db`.`t` WHERE a = 'x\\'y' AND b IN (1, 2) ORDER BY a DESC");
    expect(String(q)).toBe(q.text);
  });

  it('nests sql results without re-quoting them', () => {
    const where = sql`a = ${1}`;
    expect(sql`SELECT 1 WHERE ${where} AND ${sql`b = ${'2'}`}`.text).toBe("SELECT 1 WHERE a = 1 AND b = '2'");
  });

  it('join builds lists from fragments and values', () => {
    expect(join([identifier('a'), identifier('b')]).text).toBe('`a`, `b`');
    expect(join([1, 'x'], ' AND ').text).toBe("1 AND 'x'");
  });

  it('refuses a quoted placeholder and non-template calls', () => {
    expect(() => sql`a = '${'x'}'`).toThrow(/do not quote/);
    const notATemplate = ['SELECT 1'] as unknown as TemplateStringsArray;
    expect(() => sql(notATemplate)).toThrow(/tagged template/);
  });

  it('fragments cannot be constructed from outside', () => {
    expect(() => new SqlFragment(Symbol('SqlFragment'), 'DROP TABLE x')).toThrow(TypeError);
  });
});
