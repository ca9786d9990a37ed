// winback: for the opt-outs in the range, whether the user opted back in on the
// same channel within 1, 7 and 30 days (SPEC 5.1), overall and per source.
//
// The fast path reads only the live opt-outs of the range: ingest writes on
// each the time of the user's next opt-in on the channel when it is at most 30
// days later, else 0 (next_opt_in_at_ms, migration 0011; kept exact under any
// arrival order like every fact: docs/design.md, "Versions"). One FINAL read of
// the range's opt-outs and one GROUP BY, instead of every transition of the
// range and 30 days more grouped into per-user arrays.
//
// -1 marks a row written before the column existed (an older release, or
// before the migration). The same query counts those rows, and when any
// opt-out of the range has one, the answer comes from the exact computation
// of the release before instead (fromTransitions): an upgraded database
// answers exactly at once, and at the fast path's speed once replayed
// (docs/operations.md, "Upgrading").
import { type SqlFragment, sql, unsafeRaw } from '@optout/clickhouse';
import { num, type Warehouse } from '../warehouse.ts';
import { storable } from './days.ts';
import { DAY_MS, type FactScope, liveOptOuts, liveTransitions } from './scope.ts';
import { compareText } from './sort.ts';

export const WINBACK_DAYS = [1, 7, 30] as const;
const LONGEST_MS = 30 * DAY_MS;

export interface WinbackWindow {
  days: number;
  won_back: number;
  pending: number;
  lost: number;
}

export interface WinbackResult {
  opt_outs: number;
  windows: WinbackWindow[];
  sources: { source: string | null; opt_outs: number; windows: WinbackWindow[] }[];
}

/**
 * Per window d: opt-outs won back (`won`, a condition on the row) and those
 * not won back whose window is still open at `nowMs`; `t` is the opt-out's time.
 */
function perWindow(won: (ms: number) => SqlFragment, t: SqlFragment, nowMs: number): SqlFragment {
  // Aliases from the constant WINBACK_DAYS (code, not input).
  return WINBACK_DAYS.map((d) => {
    const isWon = won(d * DAY_MS);
    return sql`
      countIf(${isWon}) AS ${unsafeRaw(`won_${d}`)},
      countIf(NOT (${isWon}) AND ${t} + ${d * DAY_MS} > ${nowMs}) AS ${unsafeRaw(`pending_${d}`)}`;
  }).reduce((all, w) => sql`${all}, ${w}`);
}

/**
 * The fast path: per source, from the opt-outs' own next_opt_in_at_ms (0: none
 * within 30 days; the opt-in's time is > 0). `unknown` counts the rows written
 * before the column (-1): any makes the caller fall back.
 */
function fromOptOutsSql(scope: FactScope, nowMs: number): SqlFragment {
  const won = (ms: number) => sql`next_opt_in_at_ms > 0 AND next_opt_in_at_ms - occurred_at_ms <= ${ms}`;
  return sql`
    SELECT source, count() AS opt_outs, countIf(next_opt_in_at_ms < 0) AS unknown,
      ${perWindow(won, sql`occurred_at_ms`, nowMs)}
    FROM (${liveOptOuts(scope, ['occurred_at_ms', 'source', 'next_opt_in_at_ms'])})
    GROUP BY source`;
}

/**
 * The fallback (the computation of the release before next_opt_in_at_ms): one
 * row per opt-out in range with its source, t, and the time to its next
 * opt-in (back_ms, -1 when none within 30 days of the range's end).
 *
 * The next opt-in of an opt-out at t is the first live OPT_IN of the user and
 * channel after it in (t, transition_id) order, the order of the definition.
 * Only opt-ins up to 30 days after the range's end can decide a window, so
 * the read stops there; what it does not see is "not won back (yet)". Users
 * are grouped by the 64-bit hash of their id (cheaper than the string; the
 * collision stance of distinctCount in scope.ts).
 */
function optOutsWithReturnSql(scope: FactScope): SqlFragment {
  const { range } = scope;
  const live = liveTransitions({
    appId: scope.appId,
    channel: scope.channel,
    range: { start: range.start, end: storable(range.end.getTime() + LONGEST_MS) },
    kinds: 'all',
    columns: ['occurred_at_ms', 'source'],
  });
  return sql`
    SELECT source, t, if(back_at < 0, -1, back_at - t) AS back_ms
    FROM (
      SELECT t, kind, source, back_at
      FROM (
        SELECT arrayMap(x -> x.1, ordered) AS times, arrayMap(x -> x.3, ordered) AS kinds,
          arrayMap(x -> x.4, ordered) AS sources,
          arrayMap(i -> arrayFirstIndex((k, j) -> k = 'OPT_IN' AND j > i, kinds, arrayEnumerate(kinds)),
            arrayEnumerate(kinds)) AS next_in,
          arrayMap(n -> if(n = 0, toInt64(-1), times[n]), next_in) AS back_ats
        FROM (
          SELECT arraySort(groupArray(tuple(occurred_at_ms, transition_id, kind, source))) AS ordered
          FROM (${live})
          GROUP BY cityHash64(user_id)
        )
      )
      ARRAY JOIN times AS t, kinds AS kind, sources AS source, back_ats AS back_at
    )
    WHERE kind = 'OPT_OUT' AND t >= ${range.start.getTime()} AND t < ${range.end.getTime()}`;
}

/** The fallback, per source, in the fast path's columns. */
function fromTransitionsSql(scope: FactScope, nowMs: number): SqlFragment {
  const won = (ms: number) => sql`back_ms >= 0 AND back_ms <= ${ms}`;
  return sql`
    SELECT source, count() AS opt_outs, ${perWindow(won, sql`t`, nowMs)}
    FROM (${optOutsWithReturnSql(scope)})
    GROUP BY source`;
}

function windowsOf(row: Record<string, unknown>, optOuts: number): WinbackWindow[] {
  return WINBACK_DAYS.map((days) => {
    const won = num(row[`won_${days}`]);
    const pending = num(row[`pending_${days}`]);
    return { days, won_back: won, pending, lost: optOuts - won - pending };
  });
}

export async function winback(
  warehouse: Warehouse,
  scope: FactScope,
  now: Date,
  timeoutMs: number,
): Promise<WinbackResult> {
  const nowMs = now.getTime();
  const started = Date.now();
  let rows = await warehouse.rows(fromOptOutsSql(scope, nowMs), { timeoutMs, label: 'winback' });
  if (rows.some((row) => num(row.unknown) > 0))
    // Within what is left of the request's time limit.
    rows = await warehouse.rows(fromTransitionsSql(scope, nowMs), {
      timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)),
      label: 'winback_from_transitions',
    });
  const sources = rows
    .map((row) => {
      const optOuts = num(row.opt_outs);
      return {
        source: row.source === null ? null : String(row.source),
        opt_outs: optOuts,
        windows: windowsOf(row, optOuts),
      };
    })
    .sort(
      (a, b) =>
        b.opt_outs - a.opt_outs ||
        (a.source === null ? 1 : 0) - (b.source === null ? 1 : 0) ||
        compareText(a.source ?? '', b.source ?? ''),
    );
  // Every count is additive over sources.
  const optOuts = sources.reduce((sum, s) => sum + s.opt_outs, 0);
  const windows = WINBACK_DAYS.map((days, i) => {
    const won = sources.reduce((sum, s) => sum + s.windows[i]!.won_back, 0);
    const pending = sources.reduce((sum, s) => sum + s.windows[i]!.pending, 0);
    return { days, won_back: won, pending, lost: optOuts - won - pending };
  });
  return { opt_outs: optOuts, windows, sources };
}
