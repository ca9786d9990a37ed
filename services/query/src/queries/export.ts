// export: one row per user with at least one live opt-out in range on the
// channel (docs/api-contract.md), streamed in order of opted_out_at, user_id.
//
// One GROUP BY user_id over a UNION ALL of the three sources, with small
// states per user and no JOIN (a JOIN's right side would be held in memory
// whole):
// - the user's live transitions from the range start on, which give both the
//   in-range figures and the current status: a user of the export has a live
//   opt-out at or after `start`, so a transition before `start` can never be
//   the user's latest one;
// - the user's external ids and identifiers (latest known: latest
//   observed_at_ms, ties broken by the larger event_id).
// "Latest by (ms, id)" is argMax over one String key: the ms, offset and
// written with a fixed 15 digits, followed by the id, compares exactly like
// tuple(ms, id) but keeps argMax on its fast String path (a tuple key makes
// every state a generic Field, several times slower on a million users).
// Values that may be missing are kept as 'v' + value, '' for none.
// Rows come back as TabSeparated, already rendered where SQL can do it
// (opted_out_at as ISO-8601 text): parsing JSON rows was most of the export's
// time. The first column is that date, so no data line can start with
// "Code: " (the server's way of appending an error to a streamed body).
import { type SqlFragment, sql } from '@optout/clickhouse';
import { csvCell, csvLine } from '../csv.ts';
import { type FactScope, liveOptOuts, liveTransitions } from './scope.ts';

/** `(ms, id)` as one String that sorts like the tuple (for ms in [-4e14, 5e14)). */
function orderKey(ms: SqlFragment, id: SqlFragment): SqlFragment {
  return sql`concat(toString(${ms} + 500000000000000), ${id})`;
}

const NO_KIND = sql`CAST('OPT_IN' AS Enum8('OPT_OUT' = 1, 'OPT_IN' = 2))`;

export function exportSql(scope: FactScope): SqlFragment {
  const transitions = liveTransitions({
    appId: scope.appId,
    channel: scope.channel,
    range: { start: scope.range.start, end: scope.range.end, onwards: true },
    kinds: 'all',
    columns: ['occurred_at', 'occurred_at_ms', 'source'],
  });
  // Same columns and types in every branch of the UNION ALL (18.16 does not unify them).
  const facts = sql`
    SELECT toUInt8(1) AS src, user_id, occurred_at_ms AS ms,
      ${orderKey(sql`occurred_at_ms`, sql`transition_id`)} AS order_key, kind,
      kind = 'OPT_OUT' AND occurred_at < ${scope.range.end} AS in_range,
      if(isNull(source), '', concat('v', assumeNotNull(source))) AS value
    FROM (${transitions})
    UNION ALL
    SELECT toUInt8(2) AS src, user_id, observed_at_ms AS ms,
      ${orderKey(sql`observed_at_ms`, sql`event_id`)} AS order_key, ${NO_KIND} AS kind,
      toUInt8(0) AS in_range, concat('v', external_id) AS value
    FROM user_external_ids
    WHERE app_id = ${scope.appId}
    UNION ALL
    SELECT toUInt8(3) AS src, user_id, observed_at_ms AS ms,
      ${orderKey(sql`observed_at_ms`, sql`event_id`)} AS order_key, ${NO_KIND} AS kind,
      toUInt8(0) AS in_range, concat('v', identifiers) AS value
    FROM user_identifiers
    WHERE app_id = ${scope.appId}`;
  // Latest-known rows only of users with a live opt-out in range (over hashes:
  // a collision only lets another user's rows in, and that user has no
  // in-range opt-out, so HAVING drops it): keeps the GROUP BY as big as the
  // export, not as the app.
  const exported = sql`SELECT cityHash64(user_id) FROM (${liveOptOuts(scope)})`;
  return sql`
    SELECT
      concat(replaceOne(toString(toDateTime(intDiv(opted_out_at_ms, 1000), 'UTC')), ' ', 'T'),
        '.', substring(toString(1000 + opted_out_at_ms % 1000), 2), 'Z') AS opted_out_at,
      user_id,
      opt_outs_in_range,
      is_opted_out,
      if(latest_source_v = '', NULL, substring(latest_source_v, 2)) AS latest_source,
      if(external_v = '', NULL, substring(external_v, 2)) AS external_id,
      substring(identifiers_v, 2) AS identifiers
    FROM (
      SELECT
        user_id,
        maxIf(ms, in_range) AS opted_out_at_ms,
        countIf(in_range) AS opt_outs_in_range,
        argMaxIf(value, order_key, in_range) AS latest_source_v,
        argMaxIf(kind, order_key, src = 1) = 'OPT_OUT' AS is_opted_out,
        argMaxIf(value, order_key, src = 2) AS external_v,
        argMaxIf(value, order_key, src = 3) AS identifiers_v
      FROM (${facts})
      WHERE src = 1 OR cityHash64(user_id) IN (${exported})
      GROUP BY user_id
      HAVING opt_outs_in_range > 0
    )
    ORDER BY opted_out_at_ms ASC, user_id ASC`;
}

/** One export row as the contract names and types it. */
export interface ExportRow {
  user_id: string;
  external_id: string | null;
  opted_out_at: string;
  opt_outs_in_range: number;
  source: string | null;
  currently_opted_out: boolean;
  identifiers: Record<string, string>;
}

export const EXPORT_COLUMNS = [
  'user_id',
  'external_id',
  'opted_out_at',
  'opt_outs_in_range',
  'source',
  'currently_opted_out',
  'identifiers',
] as const satisfies readonly (keyof ExportRow)[];

/** Parses the stored identifiers JSON into an object with sorted keys ({} if none or unreadable). */
export function sortedIdentifiers(text: unknown): Record<string, string> {
  if (typeof text !== 'string' || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const object = parsed as Record<string, unknown>;
  const keys = Object.keys(object);
  // Fast path (what ingest stores): keys already sorted, every value a string,
  // so the parsed object is the answer. `__proto__` takes the general path,
  // where assigning it is dropped as before.
  let canonical = true;
  for (let i = 0; i < keys.length && canonical; i++) {
    const key = keys[i]!;
    canonical = typeof object[key] === 'string' && key !== '__proto__' && (i === 0 || keys[i - 1]! < key);
  }
  if (canonical) return object as Record<string, string>;
  const out: Record<string, string> = {};
  for (const key of keys.sort()) out[key] = String(object[key]);
  return out;
}

// TabSeparated escapes in String values: backslash + one character.
const TSV_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '0': '\0' };

/** A TabSeparated String cell as text (only cells holding a backslash need work). */
export function tsvText(cell: string): string {
  return cell.includes('\\') ? cell.replace(/\\(.)/gs, (_, c: string) => TSV_ESCAPES[c] ?? c) : cell;
}

/** A Nullable(String) cell: `\N` is NULL (a real "\N" string comes escaped as `\\N`). */
function tsvNullable(cell: string | undefined): string | null {
  return cell === undefined || cell === '\\N' ? null : tsvText(cell);
}

/** The tab-separated cells of one exportSql line. */
function cellsOf(line: string): string[] {
  return line.split('\t');
}

/** A line of exportSql's TabSeparated result to the contract's row. */
export function toExportRow(line: string): ExportRow {
  const cells = cellsOf(line);
  return {
    user_id: tsvText(cells[1] ?? ''),
    external_id: tsvNullable(cells[5]),
    opted_out_at: cells[0] ?? '',
    opt_outs_in_range: Number(cells[2]),
    source: tsvNullable(cells[4]),
    currently_opted_out: cells[3] === '1',
    identifiers: sortedIdentifiers(tsvText(cells[6] ?? '')),
  };
}

/**
 * Whether a stored identifiers cell is already the text that
 * JSON.stringify(sortedIdentifiers(tsvText(cell))) writes: `{"k":"v",...}`
 * without whitespace, keys strictly sorted, no backslash (nothing escaped in
 * TSV or JSON), no control character, no key starting with a digit (JS
 * objects move integer-like keys to the front) and no `__proto__`. What
 * ingest stores is nearly always this, and then the cell is passed through
 * instead of parsed and written again.
 */
function isPlainSortedObject(cell: string): boolean {
  const n = cell.length;
  if (n < 2 || cell.charCodeAt(0) !== 123 || cell.charCodeAt(n - 1) !== 125) return false;
  if (n === 2) return true;
  if (cell.indexOf('\\') !== -1 || CONTROL.test(cell)) return false;
  let previous: string | null = null;
  let at = 1;
  for (;;) {
    // at: the opening quote of a key.
    if (cell.charCodeAt(at) !== 34) return false;
    const keyEnd = cell.indexOf('"', at + 1);
    if (keyEnd < 0 || keyEnd === at + 1) return false;
    const first = cell.charCodeAt(at + 1);
    if (first >= 48 && first <= 57) return false;
    const key = cell.slice(at + 1, keyEnd);
    if (key === '__proto__' || (previous !== null && !(previous < key))) return false;
    previous = key;
    if (cell.charCodeAt(keyEnd + 1) !== 58 || cell.charCodeAt(keyEnd + 2) !== 34) return false;
    const valueEnd = cell.indexOf('"', keyEnd + 3);
    if (valueEnd < 0) return false;
    const next = cell.charCodeAt(valueEnd + 1);
    if (next === 125) return valueEnd + 2 === n;
    if (next !== 44) return false;
    at = valueEnd + 2;
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON.parse refuses these raw in a string.
const CONTROL = /[\u0000-\u001f]/;

/** The identifiers cell as JSON text, the same as JSON.stringify(sortedIdentifiers(tsvText(cell))). */
export function identifiersJson(cell: string): string {
  return isPlainSortedObject(cell) ? cell : JSON.stringify(sortedIdentifiers(tsvText(cell)));
}

// A String cell that holds none of these is its own JSON string body: no
// TSV escape to undo (backslash), nothing JSON escapes (quote, control
// characters; surrogates only for lone ones, which a UTF-8 decoded cell never
// holds, but any surrogate takes the general path to keep the rule simple).
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what JSON escapes
const JSON_SPECIAL = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A String cell as a JSON string. */
const jsonString = (cell: string) => (JSON_SPECIAL.test(cell) ? JSON.stringify(tsvText(cell)) : `"${cell}"`);

/** A Nullable(String) cell as JSON (null for `\N`). */
const jsonNullable = (cell: string) => (cell === '\\N' ? 'null' : jsonString(cell));

/** A String cell as a CSV cell. */
const csvString = (cell: string) => csvCell(tsvText(cell));

/** A Nullable(String) cell as a CSV cell (empty for `\N`). */
const csvNullable = (cell: string) => (cell === '\\N' ? '' : csvString(cell));

/** The cells of an exportSql line, in its column order. */
type LineCells = [
  at: string,
  user: string,
  count: string,
  optedOut: string,
  source: string,
  external: string,
  ids: string,
];

// Reused by every line: a million lines go through here, and an array per
// line was a third of the formatting time.
const cells: LineCells = ['', '', '', '', '', '', ''];

/** The cells of an exportSql line (valid until the next call), or null without its seven cells. */
function sliceCells(line: string): LineCells | null {
  let start = 0;
  for (let i = 0; i < 6; i++) {
    const tab = line.indexOf('\t', start);
    if (tab < 0) return null;
    cells[i] = line.slice(start, tab);
    start = tab + 1;
  }
  cells[6] = line.slice(start);
  return cells;
}

/**
 * A line of exportSql's TabSeparated result straight to its NDJSON line: the
 * same text as JSON.stringify(toExportRow(line)) plus a newline, without the
 * row object. opted_out_at is ISO-8601 text and opt_outs_in_range plain
 * digits, both as SQL wrote them.
 */
export function ndjsonLine(line: string): string {
  const sliced = sliceCells(line);
  if (sliced === null) return `${JSON.stringify(toExportRow(line))}\n`;
  const [at, user, count, optedOut, source, external, ids] = sliced;
  return `{"user_id":${jsonString(user)},"external_id":${jsonNullable(external)},"opted_out_at":"${at}","opt_outs_in_range":${count},"source":${jsonNullable(source)},"currently_opted_out":${optedOut === '1'},"identifiers":${identifiersJson(ids)}}\n`;
}

/** An export row as a CSV record in EXPORT_COLUMNS order, identifiers as one JSON-valued cell. */
export function rowCsv(row: ExportRow): string {
  return csvLine(
    EXPORT_COLUMNS.map((column) =>
      column === 'identifiers' ? JSON.stringify(row.identifiers) : row[column],
    ),
  );
}

/** A line of exportSql's result straight to its CSV record: the same text as rowCsv(toExportRow(line)). */
export function csvRecord(line: string): string {
  const sliced = sliceCells(line);
  if (sliced === null) return rowCsv(toExportRow(line));
  const [at, user, count, optedOut, source, external, ids] = sliced;
  return `${csvString(user)},${csvNullable(external)},${csvCell(at)},${count},${csvNullable(source)},${optedOut === '1'},${csvCell(identifiersJson(ids))}\r\n`;
}
