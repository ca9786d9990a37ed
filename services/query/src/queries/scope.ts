// The slice of facts every chart reads: one app, one channel, one range.
// Shared SQL fragments live here so "a live opt-out in range" has one definition.
import { dateTimeLiteral, join, type SqlFragment, sql, unsafeRaw } from '@optout/clickhouse';
import type { Channel } from '../params.ts';
import type { ResolvedRange } from '../periods.ts';

export interface FactScope {
  appId: string;
  channel: Channel;
  range: ResolvedRange;
}

export const DAY_MS = 86_400_000;

/** `column >= start AND column < end` for a DateTime column (start/end are whole seconds). */
export function inRange(column: SqlFragment, range: { start: Date; end: Date }): SqlFragment {
  return sql`${column} >= ${dateTimeLiteral(range.start)} AND ${column} < ${dateTimeLiteral(range.end)}`;
}

/**
 * Reading the latest version of versioned facts: `FROM <table> FINAL WHERE ...`.
 *
 * The fact tables are ReplacingMergeTree(version), and every version of a row
 * shares its sorting key (ingest rewrites a transition, its touches and its
 * event counts with the same key columns and a higher version; a tombstone is
 * the same key with is_deleted = 1). FINAL collapses each key to its highest
 * version and only THEN applies WHERE, on 18.16 and on current servers, so
 * `FINAL WHERE is_deleted = 0 AND kind = 'OPT_OUT'` means "the latest version
 * is live and an opt-out": a tombstone hides every older version of its row.
 *
 * That holds only for WHERE. PREWHERE is applied while reading, BEFORE the
 * versions are collapsed: `PREWHERE is_deleted = 0` would drop the tombstone
 * and resurrect the older live version. So:
 * - never write PREWHERE in a query that reads FINAL;
 * - the Warehouse sends `optimize_move_to_prewhere = 0` with every query, so
 *   the server does not move WHERE conditions to PREWHERE on its own (18.16
 *   does that by default, also with FINAL).
 * Conditions on sorting-key columns (app_id, channel, occurred_at / optout_at,
 * transition_id, ...) are the same for every version of a row, so they may
 * also prune parts and granules through the primary key without changing the
 * result. Different partitions never hold versions of the same row: the
 * partition (month of occurred_at / optout_at) is a function of the key.
 *
 * On 18.16 a FINAL read is one single-threaded merge stream, whatever
 * max_threads says. A ranged read is therefore split into FINAL_SLICES
 * consecutive time slices (on the table's time key column, so every version of
 * a row falls in one slice), joined with UNION ALL: the slices are merged and
 * filtered in parallel (2 = the cores of the 18.16 server here; 4 and 8 were
 * not faster). Current servers parallelise FINAL themselves; the slices are
 * harmless there. Keep `IN (subquery)` filters OUTSIDE finalRows (on the
 * query that reads it): inside, 18.16 builds the set once per slice.
 *
 * This relies on every version of a row having the same sorting key. If
 * ingest ever rewrote a transition with another occurred_at (or a touch with
 * another optout_at), FINAL would keep both versions where the former
 * `argMax ... GROUP BY transition_id` picked one.
 */
export const FINAL_SLICES = 2;

export type FactTable =
  | 'consent_transitions'
  | 'optout_campaign_touches'
  | 'optout_event_counts'
  // The exposure rollup's opt-out rows: versioned and tombstoned the same way.
  | 'exposure_optouts';

export interface FinalRead {
  table: FactTable;
  /** The select list (columns and expressions of one row). */
  columns: SqlFragment;
  /** app_id / channel / time key column of the table. */
  appId: string;
  channel: Channel;
  timeColumn: 'occurred_at' | 'optout_at';
  /** Rows with the time key in [start, end), or from start on with `onwards`; all time when omitted. */
  range?: TimeRange;
  /** Further conditions, applied AFTER the versions are collapsed (see above). */
  where?: readonly SqlFragment[];
}

/** [start, end) of a time key column; with `onwards`, everything from start on (end only guides slicing). */
export interface TimeRange {
  start: Date;
  end: Date;
  onwards?: boolean;
}

/** Splits [start, end) into at most `n` consecutive ranges on whole seconds. */
export function sliceRange(range: { start: Date; end: Date }, n: number): { start: Date; end: Date }[] {
  const startS = Math.floor(range.start.getTime() / 1000);
  const endS = Math.floor(range.end.getTime() / 1000);
  if (endS <= startS) return [range];
  const count = Math.max(1, Math.min(n, endS - startS));
  const bounds = Array.from(
    { length: count + 1 },
    (_, i) => startS + Math.floor(((endS - startS) * i) / count),
  );
  return bounds
    .slice(0, -1)
    .map((s, i) => ({ start: new Date(s * 1000), end: new Date(bounds[i + 1]! * 1000) }));
}

/** The latest version of each row of a fact table, as a UNION ALL of FINAL slices. */
export function finalRows(read: FinalRead): SqlFragment {
  return finalSlices(read.table, read.columns, read.timeColumn, read.range, [
    sql`app_id = ${read.appId}`,
    sql`channel = ${read.channel}`,
    ...(read.where ?? []),
  ]);
}

/** Raw event tables: ReplacingMergeTree by event identity, no channel column. */
export type RawTable = 'raw_push';

/**
 * The raw events of one app, each once: FINAL collapses the copies of a
 * redelivered event (same event_id, same content, same sorting key), which
 * stay in the table until a merge. Sliced like finalRows, on occurred_at: the
 * copies of an event share it, so they fall in one slice.
 */
export function rawEvents(
  table: RawTable,
  columns: SqlFragment,
  appId: string,
  range: TimeRange,
  where: readonly SqlFragment[] = [],
): SqlFragment {
  return finalSlices(table, columns, 'occurred_at', range, [sql`app_id = ${appId}`, ...where]);
}

function finalSlices(
  table: FactTable | RawTable,
  columns: SqlFragment,
  timeColumn: 'occurred_at' | 'optout_at',
  range: TimeRange | undefined,
  conditions: readonly SqlFragment[],
): SqlFragment {
  const column = unsafeRaw(timeColumn);
  const slice = (time: SqlFragment | null) =>
    sql`SELECT ${columns} FROM ${unsafeRaw(table)} FINAL WHERE ${joinAnd([
      ...conditions,
      ...(time ? [time] : []),
    ])}`;
  if (!range) return slice(null);
  const slices = sliceRange(range, FINAL_SLICES).map((s) => slice(inRange(column, s)));
  if (range.onwards) slices.push(slice(sql`${column} >= ${dateTimeLiteral(range.end)}`));
  return join(slices, ' UNION ALL ');
}

/** Columns of a live transition a query can ask for (transition_id, user_id and kind always come). */
const TRANSITION_COLUMNS = [
  'occurred_at',
  'occurred_at_ms',
  'source',
  'pushes_before',
  'last_touch_campaign_id',
  'last_touch_at_ms',
  'next_activity_at_ms',
  'next_opt_in_at_ms',
  'event_names',
  'event_days_before',
  'event_counts',
  'event_counts_in_row',
] as const;

export type TransitionColumn = (typeof TRANSITION_COLUMNS)[number];

export interface TransitionFilter {
  appId: string;
  channel: Channel;
  /** The columns the caller reads besides transition_id, user_id and kind. */
  columns: readonly TransitionColumn[];
  /** Only transitions with occurred_at in the range; all time when omitted. */
  range?: TimeRange;
  /** Extra condition on columns that never change between versions (e.g. user_id IN ...). */
  where?: SqlFragment;
  /** Only opt-outs (the default), or every live transition (opt-ins too). */
  kinds?: 'opt_outs' | 'all';
}

/**
 * THE definition of a live transition: the latest version of each consent
 * transition, dropped when that version is a tombstone (is_deleted = 1), and
 * with kinds 'opt_outs' (the default) only when it is an opt-out. kind and
 * is_deleted may change between versions, which is why this reads FINAL and
 * filters in WHERE only (see finalRows: correct only without PREWHERE).
 * One row per transition: transition_id, user_id, kind and the asked columns.
 */
export function liveTransitions(filter: TransitionFilter): SqlFragment {
  const where = [sql`is_deleted = 0`];
  if ((filter.kinds ?? 'opt_outs') === 'opt_outs') where.push(sql`kind = 'OPT_OUT'`);
  if (filter.where) where.push(filter.where);
  const wanted = [...new Set(filter.columns)].filter((c) => TRANSITION_COLUMNS.includes(c));
  // Column names come from TRANSITION_COLUMNS (code, not input).
  const columns = sql`transition_id, user_id, kind${join(
    wanted.map((c) => sql`, ${unsafeRaw(c)}`),
    '',
  )}`;
  return finalRows({
    table: 'consent_transitions',
    columns,
    appId: filter.appId,
    channel: filter.channel,
    timeColumn: 'occurred_at',
    ...(filter.range ? { range: filter.range } : {}),
    where,
  });
}

function joinAnd(conditions: SqlFragment[]): SqlFragment {
  return conditions.reduce((all, c) => sql`${all} AND ${c}`);
}

/** Live opt-outs of the scope: in range, latest version, not deleted. */
export function liveOptOuts(scope: FactScope, columns: readonly TransitionColumn[] = []): SqlFragment {
  return liveTransitions({ appId: scope.appId, channel: scope.channel, range: scope.range, columns });
}

/**
 * Exact distinct count of a String column, counted over its 64-bit cityHash64:
 * a hash set of UInt64 is several times cheaper than one of strings. Two
 * distinct values count once only if their hashes collide; for n values the
 * chance of any collision is about n^2 / 2^65 (1e-8 for a million values), so
 * the result is exact in practice. `condition` makes it uniqExactIf.
 */
export function distinctCount(column: SqlFragment, condition?: SqlFragment): SqlFragment {
  return condition
    ? sql`uniqExactIf(cityHash64(${column}), ${condition})`
    : sql`uniqExact(cityHash64(${column}))`;
}
