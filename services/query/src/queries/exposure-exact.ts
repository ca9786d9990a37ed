// exposure, exactly from the raw events: the opt-out rate by recent push volume
// over user-days at risk (SPEC 5.1). It reads every push of the range and its
// window, so ./exposure.ts uses it only for the days the rollup's rows do not
// answer (docs/insights.md "Exposure").
//
// A user-day at risk is (user, day D of the range) with the user known before
// D's first instant s(D) and not opted out at s(D); its `pushes` k are the
// user's pushes in [s(D) - W days, s(D)). Every such condition turns into a
// run of consecutive days once written in day indexes (days.ts):
//
//   a push at p counts on the days D with p < s(D) <= p + W days,
//     i.e. dayIndex(p) + 1 .. dayIndex(p + W days);
//   a transition at t with the next one at t' decides the status on the days
//     D with t < s(D) <= t', i.e. dayIndex(t) + 1 .. dayIndex(t');
//   a user first seen at f is known on the days dayIndex(f) + 1 .. .
//
// So each user's days are a sum of +1/-1 steps: sumMap merges the steps of a
// user by day, arrayCumSum turns them into (k, opted out, known) per run of
// days, and the runs are summed into buckets of k. Users with no push in a
// window have k = 0 there and leave no step: their user-days come from the
// difference (known users) - (opted-out users) - (users with k >= 1), where
// "known" counts every user of user_first_seen (the pre-aggregated part: one
// min state per user). Opt-outs are points on their day, counted when the
// user was known and at risk at its start.
import { type SqlFragment, sql } from '@optout/clickhouse';
import { num, type Warehouse } from '../warehouse.ts';
import { dayCount, dayIndex, storable } from './days.ts';
import { DAY_MS, type FactScope, liveOptOuts, liveTransitions, rawEvents } from './scope.ts';

/** Per bucket of pushes (0 .. max_bucket, the last one "or more"): user-days at risk and their opt-outs. */
export interface ExposureCounts {
  userDays: number[];
  optOuts: number[];
}

export const emptyCounts = (maxBucket: number): ExposureCounts => ({
  userDays: new Array<number>(maxBucket + 1).fill(0),
  optOuts: new Array<number>(maxBucket + 1).fill(0),
});

// Transitions before the range decide who is opted out at its start, however
// old: they are read from here on (2000 is where the validator's range starts).
const HISTORY_START = new Date(Date.UTC(2000, 0, 1));

const clampDay = (day: SqlFragment, days: number) => sql`greatest(0, least(${days}, ${day}))`;

// Every branch of the UNION ALL gives its step arrays the same types.
const keysOf = (keys: SqlFragment) => sql`CAST(${keys} AS Array(Int32))`;
const stepsOf = (steps: SqlFragment) => sql`CAST(${steps} AS Array(Int64))`;

/** Steps of the pushes: +1 on the first day a push counts, -1 after its last. */
function pushSteps(scope: FactScope, windowDays: number): SqlFragment {
  const { range } = scope;
  const days = dayCount(range);
  const windowMs = windowDays * DAY_MS;
  const pushes = rawEvents('raw_push', sql`user_id, occurred_at_ms`, scope.appId, {
    start: storable(range.start.getTime() - windowMs),
    end: range.end,
  });
  const first = clampDay(sql`${dayIndex(sql`occurred_at_ms`, range)} + 1`, days);
  const after = clampDay(sql`${dayIndex(sql`occurred_at_ms + ${windowMs}`, range)} + 1`, days);
  return sql`
    SELECT cityHash64(user_id) AS uid, ${keysOf(sql`[${first}, ${after}]`)} AS keys,
      ${stepsOf(sql`[1, -1]`)} AS dk, ${stepsOf(sql`[0, 0]`)} AS dout, ${stepsOf(sql`[0, 0]`)} AS dknown,
      ${stepsOf(sql`[0, 0]`)} AS dq
    FROM (${pushes})`;
}

/**
 * Steps of the opted-out runs (a live opt-out until the user's next transition)
 * and the opt-out points of the range, from every live transition before the
 * range's end, ordered per user by (t, transition_id) like the definition.
 */
function consentSteps(scope: FactScope): SqlFragment {
  const { range } = scope;
  const days = dayCount(range);
  const live = liveTransitions({
    appId: scope.appId,
    channel: scope.channel,
    range: { start: HISTORY_START, end: range.end },
    kinds: 'all',
    columns: ['occurred_at_ms'],
  });
  const startMs = range.start.getTime();
  const endMs = range.end.getTime();
  const from = clampDay(sql`${dayIndex(sql`t`, range)} + 1`, days);
  const until = sql`if(next < 0, ${days}, ${clampDay(sql`${dayIndex(sql`next`, range)} + 1`, days)})`;
  const isOut = sql`kind = 'OPT_OUT'`;
  const opens = sql`${isOut} AND ${from} < ${until}`;
  const point = sql`${isOut} AND t >= ${startMs} AND t < ${endMs}`;
  return sql`
    SELECT uid, ${keysOf(sql`[${from}, ${until}, if(${point}, ${dayIndex(sql`t`, range)}, 0)]`)} AS keys,
      ${stepsOf(sql`[0, 0, 0]`)} AS dk, ${stepsOf(sql`if(${opens}, [1, -1, 0], [0, 0, 0])`)} AS dout,
      ${stepsOf(sql`[0, 0, 0]`)} AS dknown, ${stepsOf(sql`[0, 0, if(${point}, 1, 0)]`)} AS dq
    FROM (
      SELECT uid, t, next, kind
      FROM (
        SELECT uid, arrayMap(x -> x.1, ordered) AS times, arrayMap(x -> x.3, ordered) AS kinds,
          arrayMap(i -> if(i < length(times), times[i + 1], -1), arrayEnumerate(times)) AS nexts
        FROM (
          SELECT cityHash64(user_id) AS uid,
            arraySort(groupArray(tuple(occurred_at_ms, transition_id, kind))) AS ordered
          FROM (${live})
          GROUP BY uid
        )
      )
      ARRAY JOIN times AS t, nexts AS next, kinds AS kind
    )`;
}

/** Known from the day after the user's first event: only needed for the opt-out points. */
function knownSteps(scope: FactScope): SqlFragment {
  const days = dayCount(scope.range);
  const optedOut = sql`SELECT user_id FROM (${liveOptOuts(scope)})`;
  return sql`
    SELECT cityHash64(user_id) AS uid,
      ${keysOf(sql`[${clampDay(sql`${dayIndex(sql`first_seen`, scope.range)} + 1`, days)}]`)} AS keys,
      ${stepsOf(sql`[0]`)} AS dk, ${stepsOf(sql`[0]`)} AS dout, ${stepsOf(sql`[1]`)} AS dknown,
      ${stepsOf(sql`[0]`)} AS dq
    FROM (
      SELECT user_id, finalizeAggregation(first_seen_ms) AS first_seen
      FROM user_first_seen FINAL
      -- The key columns are the same for every state of a user: safe beside FINAL.
      WHERE app_id = ${scope.appId} AND user_id IN (${optedOut})
    )`;
}

/**
 * Per bucket of k (capped at maxBucket): user-days at risk with k >= 1, the
 * opt-outs at risk, and (for the difference) the opted-out user-days. A run
 * starts at each step key and lasts to the next key (the last one to the end).
 */
function runsSql(scope: FactScope, windowDays: number, maxBucket: number): SqlFragment {
  const days = dayCount(scope.range);
  return sql`
    SELECT least(k, ${maxBucket}) AS bucket,
      sumIf(len, outs = 0 AND k > 0) AS pushed_days,
      sumIf(q, outs = 0 AND known > 0) AS opt_outs,
      sumIf(len, outs > 0) AS opted_out_days
    FROM (
      SELECT m.1 AS keys, arrayCumSum(m.2) AS ks, arrayCumSum(m.3) AS os, arrayCumSum(m.4) AS kn, m.5 AS qs,
        arrayMap(i -> if(i < length(keys), keys[i + 1], ${days}) - keys[i], arrayEnumerate(keys)) AS lens
      FROM (
        SELECT uid, sumMap(keys, dk, dout, dknown, dq) AS m
        FROM (
          ${pushSteps(scope, windowDays)}
          UNION ALL ${consentSteps(scope)}
          UNION ALL ${knownSteps(scope)}
        )
        GROUP BY uid
      )
    )
    ARRAY JOIN ks AS k, os AS outs, kn AS known, qs AS q, lens AS len
    GROUP BY bucket`;
}

/** User-days of known users: each user counts the days of the range after their first event's day. */
function knownDaysSql(scope: FactScope): SqlFragment {
  const days = dayCount(scope.range);
  return sql`
    SELECT sum(${days} - ${clampDay(sql`${dayIndex(sql`first_seen`, scope.range)} + 1`, days)}) AS known_days
    FROM (
      SELECT finalizeAggregation(first_seen_ms) AS first_seen
      FROM user_first_seen FINAL
      WHERE app_id = ${scope.appId}
    )`;
}

/** The counts of the range's days, exactly from the raw events. */
export async function exactExposure(
  warehouse: Warehouse,
  scope: FactScope,
  windowDays: number,
  maxBucket: number,
  timeoutMs: number,
): Promise<ExposureCounts> {
  const [runs, known] = await Promise.all([
    warehouse.rows(runsSql(scope, windowDays, maxBucket), { timeoutMs, label: 'exposure_runs' }),
    warehouse.rows(knownDaysSql(scope), { timeoutMs, label: 'exposure_known' }),
  ]);
  const counts = emptyCounts(maxBucket);
  let optedOutDays = 0;
  for (const row of runs) {
    const bucket = num(row.bucket);
    counts.userDays[bucket]! += num(row.pushed_days);
    counts.optOuts[bucket]! += num(row.opt_outs);
    optedOutDays += num(row.opted_out_days);
  }
  const atRiskDays = (known[0] ? num(known[0].known_days) : 0) - optedOutDays;
  const pushedDays = counts.userDays.reduce((sum, n) => sum + n, 0);
  counts.userDays[0] = atRiskDays - pushedDays;
  return counts;
}
