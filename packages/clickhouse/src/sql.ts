// The one place where values become SQL text.
//
// ClickHouse 18.16 has no server-side query parameters (`{a:String}` is sent as
// the unknown setting `param_a`), so every value is bound client-side as an
// escaped literal. Everything that may end up in a query is a SqlFragment: a
// literal, a quoted identifier, a constant chosen by code (unsafeRaw) or a
// `sql` template built from those. Plain JS values interpolated into `sql` are
// always turned into literals, never pasted in as text.

const TOKEN = Symbol('SqlFragment');

/** A piece of SQL text that is safe to send as-is. Only this module creates them. */
export class SqlFragment {
  readonly text: string;

  constructor(token: symbol, text: string) {
    if (token !== TOKEN)
      throw new TypeError('SqlFragment: use sql``, literal(), identifier() or unsafeRaw()');
    this.text = text;
  }

  toString(): string {
    return this.text;
  }
}

export type SqlValue = string | number | bigint | boolean | null | Date | SqlFragment | readonly SqlValue[];

const fragment = (text: string) => new SqlFragment(TOKEN, text);

// Lone surrogates cannot be encoded as UTF-8; Node would send U+FFFD instead,
// so the server would silently store a different string. With the `u` flag a
// valid pair is one code point and does not match this class.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

// Characters that need a backslash escape inside '...': the quote and the
// backslash (otherwise `\n`, `\x41`, `\'` would be interpreted), and every C0
// control and DEL (written as escapes so queries stay printable single lines
// in logs; ClickHouse would accept most of them raw).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NEEDS_ESCAPE = /[\\'\u0000-\u001f\u007f]/g;
const NAMED_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function escapeChar(char: string): string {
  return NAMED_ESCAPES[char] ?? `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** `'...'` with backslash escaping; round-trips every well-formed JS string byte for byte. */
export function stringLiteral(value: string): SqlFragment {
  if (typeof value !== 'string') throw new TypeError(`stringLiteral: expected a string, got ${typeof value}`);
  if (LONE_SURROGATE.test(value)) throw new RangeError('stringLiteral: string contains a lone surrogate');
  return fragment(`'${value.replace(NEEDS_ESCAPE, escapeChar)}'`);
}

// Negative numbers are parenthesised: `1-${-5}` would otherwise become `1--5`,
// which ClickHouse reads as `1` followed by a comment.
const signed = (digits: string) => fragment(digits.startsWith('-') ? `(${digits})` : digits);

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function numberLiteral(value: number): SqlFragment {
  if (!Number.isFinite(value)) throw new RangeError(`literal: ${value} is not a finite number`);
  // An integral double between 2^53 and 2^64 is almost always a 64-bit id
  // that already lost precision in JS: refuse it rather than store a neighbour.
  // (Larger magnitudes can only be floats and are written as such.)
  if (Number.isInteger(value) && !Number.isSafeInteger(value) && Math.abs(value) < 2 ** 64) {
    throw new RangeError(`literal: ${value} is beyond 2^53 and may have lost precision; pass a bigint`);
  }
  // String() gives integers without a fraction and floats as the shortest text
  // that parses back to the same double (ClickHouse parses literals with strtod).
  return signed(String(value));
}

function bigintLiteral(value: bigint): SqlFragment {
  if (value < INT64_MIN || value > UINT64_MAX) {
    throw new RangeError(`literal: ${value} does not fit Int64 or UInt64`);
  }
  return signed(value.toString());
}

// DateTime is a UInt32 of seconds, but the 18.16 date tables end on 2105-12-31:
// toDateTime(4294967295) wraps to 1970 there. Refuse what cannot be stored.
const MAX_DATETIME_SECONDS = 4291747199; // 2105-12-31 23:59:59 UTC
const MAX_DATE = '2105-12-31';

function epochSeconds(value: number | Date, caller: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new RangeError(`${caller}: invalid date or time`);
  const seconds = Math.floor(ms / 1000);
  if (seconds < 0 || seconds > MAX_DATETIME_SECONDS) {
    throw new RangeError(
      `${caller}: ${new Date(ms).toISOString()} is outside 1970-01-01 .. 2105-12-31 (DateTime)`,
    );
  }
  return seconds;
}

/** `toDateTime(<seconds>, 'UTC')` from epoch milliseconds or a Date; milliseconds are floored. */
export function dateTimeLiteral(value: number | Date): SqlFragment {
  return fragment(`toDateTime(${epochSeconds(value, 'dateTimeLiteral')}, 'UTC')`);
}

/** A Date as `toDateTime('YYYY-MM-DD hh:mm:ss', 'UTC')` (readable in logs); milliseconds are floored. */
function dateObjectLiteral(value: Date): SqlFragment {
  const seconds = epochSeconds(value, 'literal');
  const text = new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return fragment(`toDateTime('${text}', 'UTC')`);
}

/** `toDate('YYYY-MM-DD')` after checking the text is a real calendar date in the Date range. */
export function dateLiteral(day: string): SqlFragment {
  const match = typeof day === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(day) : null;
  const parsed = match ? new Date(`${day}T00:00:00Z`) : undefined;
  // Date.parse accepts 2024-02-30 on some engines by rolling over; the
  // round trip through toISOString catches any such normalisation.
  if (!parsed || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== day) {
    throw new RangeError(`dateLiteral: ${JSON.stringify(day)} is not a calendar date YYYY-MM-DD`);
  }
  if (day < '1970-01-01' || day > MAX_DATE) {
    throw new RangeError(`dateLiteral: ${day} is outside 1970-01-01 .. ${MAX_DATE}`);
  }
  return fragment(`toDate('${day}')`);
}

function listOf(values: readonly SqlValue[], open: string, close: string): SqlFragment {
  return fragment(`${open}${values.map((v) => literal(v).text).join(', ')}${close}`);
}

/** Any supported JS value as a ClickHouse literal (fragments pass through unchanged). */
export function literal(value: SqlValue): SqlFragment {
  if (value instanceof SqlFragment) return value;
  if (value === null) return fragment('NULL');
  if (Array.isArray(value)) return listOf(value, '[', ']');
  if (value instanceof Date) return dateObjectLiteral(value);
  switch (typeof value) {
    case 'string':
      return stringLiteral(value);
    case 'number':
      return numberLiteral(value);
    case 'bigint':
      return bigintLiteral(value);
    case 'boolean':
      return fragment(value ? '1' : '0');
    default:
      // undefined, objects, functions, symbols: almost always a bug at the call site.
      throw new TypeError(
        `literal: cannot bind a value of type ${value === undefined ? 'undefined' : typeof value}`,
      );
  }
}

/**
 * The right-hand side of `x IN ...`: `(a, b, c)`. 18.16 refuses `x IN [a, b]`
 * ("Type mismatch in IN"), and `IN ()` is a syntax error, so an empty list is
 * refused here: the caller must decide what "in nothing" means.
 */
export function inList(values: readonly SqlValue[]): SqlFragment {
  if (!Array.isArray(values) || values.length === 0) throw new RangeError('inList: needs at least one value');
  return listOf(values, '(', ')');
}

/** `` `name` `` or `` `db`.`table` ``; backticks and backslashes escaped, control characters refused. */
export function identifier(...parts: string[]): SqlFragment {
  if (parts.length === 0) throw new RangeError('identifier: needs a name');
  const quoted = parts.map((part) => {
    if (typeof part !== 'string' || part.length === 0) throw new RangeError('identifier: empty name');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(part) || LONE_SURROGATE.test(part)) {
      throw new RangeError(
        `identifier: ${JSON.stringify(part)} contains a control character or lone surrogate`,
      );
    }
    return `\`${part.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
  });
  return fragment(quoted.join('.'));
}

/**
 * Trusted constant SQL, e.g. a column or direction picked from a fixed
 * whitelist in code. Never pass request input here.
 */
export function unsafeRaw(text: string): SqlFragment {
  if (typeof text !== 'string') throw new TypeError('unsafeRaw: expected a string');
  return fragment(text);
}

/** Fragments (or literals) joined by a constant separator, e.g. a column list. */
export function join(parts: readonly SqlValue[], separator = ', '): SqlFragment {
  return fragment(parts.map((p) => literal(p).text).join(separator));
}

// An array right after IN becomes a tuple list (see inList).
const ENDS_WITH_IN = /\bIN\s*$/i;

/**
 * Tagged template: sql`SELECT * FROM ${identifier('t')} WHERE a = ${x} AND b IN ${[1, 2]}`.
 * Interpolated values become literals; SqlFragments are inserted as they are.
 */
export function sql(strings: TemplateStringsArray, ...values: readonly SqlValue[]): SqlFragment {
  if (!Array.isArray(strings) || !Array.isArray((strings as TemplateStringsArray).raw)) {
    throw new TypeError('sql must be used as a tagged template: sql`...`');
  }
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    // A placeholder inside quotes ('${x}') would be double-quoted; say so
    // instead of producing a query that silently means something else.
    if (/['`"]$/.test(text) && /^['`"]/.test(strings[i + 1] ?? '')) {
      throw new SyntaxError('sql: do not quote placeholders, values are quoted for you');
    }
    const bound = Array.isArray(value) && ENDS_WITH_IN.test(text) ? inList(value) : literal(value);
    text += bound.text + (strings[i + 1] ?? '');
  });
  return fragment(text);
}
