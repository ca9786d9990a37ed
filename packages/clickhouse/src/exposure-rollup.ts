// How far the exposure rollup got, and the marks that may make its rows stale
// (migration 0012, docs/insights.md "Exposure"), as both of their readers see
// them: the rollup (which re-sweeps from the marks) and the query service
// (which answers the days they cover from the raw events until the rollup has).
//
// A 'seen' mark says that an event of a user landed late; it changed the
// rollup's input only if it lowered the user's first event. The user's first
// event as stored now is at most the mark's (the mark's event is one of the
// user's events): when it is lower, something earlier was known already and
// the mark changed nothing. When it is not (or the state is not visible yet:
// the mark's view may have run first), the mark counts.
import { dateTimeLiteral, type SqlFragment, sql } from './sql.ts';

export interface PendingMarks {
  /** Marks that may have changed something. */
  count: number;
  /** Of which erasures (their users are in the ledger, erased_users). */
  erasures: number;
  /** The hull of what they cover: instants in (fromMs, toMs]. */
  fromMs: number;
  toMs: number;
  /** Their marked_at range (epoch seconds). */
  firstMarkedAt: number;
  lastMarkedAt: number;
}

/**
 * One row: count, covers_from, covers_to, first_marked, last_marked of the
 * marks with marked_at in [from, to); `from` may be a scalar subquery.
 */
export function pendingMarksSql(appId: string, from: Date | SqlFragment, to?: Date): SqlFragment {
  const since = from instanceof Date ? dateTimeLiteral(from) : sql`(${from})`;
  const when = sql`app_id = ${appId} AND marked_at >= ${since}${
    to ? sql` AND marked_at < ${dateTimeLiteral(to)}` : sql``
  }`;
  return sql`
    SELECT count() AS count, countIf(kind = 'erase') AS erasures, min(from_ms) AS covers_from, max(to_ms) AS covers_to,
           toUnixTimestamp(min(marked_at)) AS first_marked, toUnixTimestamp(max(marked_at)) AS last_marked
    FROM (
      SELECT kind, user_id, from_ms, to_ms, marked_at FROM exposure_marks WHERE ${when}
    ) ANY LEFT JOIN (
      SELECT user_id, 1 AS stored, minMerge(first_seen_ms) AS first_seen FROM user_first_seen
      WHERE app_id = ${appId}
        AND user_id IN (SELECT user_id FROM exposure_marks WHERE ${when} AND kind = 'seen')
      GROUP BY user_id
    ) USING user_id
    WHERE NOT (kind = 'seen' AND stored = 1 AND first_seen < from_ms)`;
}

/** The PendingMarks of pendingMarksSql's row (JSONEachRow: 64-bit numbers come quoted). */
export function pendingMarksOf(row: Record<string, unknown> | undefined): PendingMarks {
  const count = Number(row?.count ?? 0);
  if (count === 0)
    return {
      count: 0,
      erasures: 0,
      fromMs: Number.POSITIVE_INFINITY,
      toMs: Number.NEGATIVE_INFINITY,
      firstMarkedAt: 0,
      lastMarkedAt: 0,
    };
  return {
    count,
    erasures: Number(row!.erasures),
    fromMs: Number(row!.covers_from),
    toMs: Number(row!.covers_to),
    firstMarkedAt: Number(row!.first_marked),
    lastMarkedAt: Number(row!.last_marked),
  };
}

/** An app's rollup status (exposure_rollups): instants in quarters since the epoch, marks_through in seconds. */
export interface RollupStatus {
  /** No user is known at instants up to this one (their rows are all zero). */
  computedFrom: number;
  /** Every instant from computedFrom to this one has its rows, and every opt-out before it. */
  computedThrough: number;
  /** Every mark with marked_at before this (epoch seconds) is taken into account. */
  marksThrough: number;
}

const QUARTER_S = 900;

/** One row: the latest status of the app (runs = 0: never rolled up). */
export function rollupStatusSql(appId: string): SqlFragment {
  return sql`
    SELECT count() AS runs, toUnixTimestamp(argMax(computed_from, version)) AS computed_from,
           toUnixTimestamp(argMax(computed_through, version)) AS computed_through,
           toUnixTimestamp(argMax(marks_through, version)) AS marks_through
    FROM exposure_rollups WHERE app_id = ${appId}`;
}

export function rollupStatusOf(row: Record<string, unknown> | undefined): RollupStatus | null {
  if (!row || Number(row.runs) === 0) return null;
  return {
    computedFrom: Number(row.computed_from) / QUARTER_S,
    computedThrough: Number(row.computed_through) / QUARTER_S,
    marksThrough: Number(row.marks_through),
  };
}
