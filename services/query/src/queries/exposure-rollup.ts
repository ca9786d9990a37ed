// exposure from the rollup's rows (services/rollup; docs/insights.md
// "Exposure"): per day of the range, the users at risk at its first instant by
// bucket (exposure_day_starts), and its opt-outs at risk by bucket
// (exposure_optouts, each row holding what its bucket needs whatever the
// zone). ./exposure.ts decides which days these answer.
import {
  dateTimeLiteral,
  join,
  type PendingMarks,
  pendingMarksOf,
  pendingMarksSql,
  type RollupStatus,
  rollupStatusOf,
  rollupStatusSql,
  type SqlFragment,
  sql,
  unsafeRaw,
} from '@optout/clickhouse';
import {
  type ConsentRecord,
  compareByTimeThenId,
  DAY_MS,
  histogramIndex,
  optOutExposure,
  optOutPushes,
  PUSH_BUCKETS,
  PUSHES_BEFORE_MS,
  QUARTER_MS,
  transitionsOf,
} from '@optout/events';
import { num, type Warehouse } from '../warehouse.ts';
import { dayIndex } from './days.ts';
import { type FactScope, finalRows, inRange, rawEvents } from './scope.ts';

/** A day of the range: its index and [start, end) in epoch ms. */
export interface Day {
  index: number;
  start: number;
  end: number;
}

export interface RollupRead {
  status: RollupStatus | null;
  pending: PendingMarks;
  /** Users at risk by bucket at each day start that has its row (epoch ms -> counts per bucket). */
  userDays: Map<number, number[]>;
  /** Opt-outs at risk by bucket per day index, from the rows before computed_through. */
  optOuts: Map<number, number[]>;
  /** Days the opt-out rows cannot answer: two versions of a row, or a row outside its day (zone rules differ). */
  unsure: Set<number>;
  /** Users with a transition at or after computed_through in the range (the tail). */
  tailUsers: string[];
}

/** At most this many users' opt-outs after computed_through are computed here; more: their day is computed exactly. */
export const TAIL_USERS_LIMIT = 2000;

const ms = (q: SqlFragment) => sql`(${q})`;

/** computed_through of the app's status, in epoch ms (0 when never rolled up). */
function computedThroughMs(appId: string): SqlFragment {
  return ms(
    sql`SELECT toInt64(toUnixTimestamp(argMax(computed_through, version))) * 1000 FROM exposure_rollups WHERE app_id = ${appId}`,
  );
}

/** marks_through of the app's status; without a status, a time no mark has (nothing to read). */
function marksSince(appId: string): SqlFragment {
  return sql`SELECT if(count() = 0, toDateTime('2105-12-31 00:00:00', 'UTC'), argMax(marks_through, version))
             FROM exposure_rollups WHERE app_id = ${appId}`;
}

function addTo(map: Map<number, number[]>, key: number, bucket: number, count: number, buckets: number) {
  let counts = map.get(key);
  if (!counts) {
    counts = new Array<number>(buckets).fill(0);
    map.set(key, counts);
  }
  counts[bucket]! += count;
}

/**
 * Per day start that has its row: the users at risk by pushes in window W, as
 * [k, users] pairs (k = 0..50, the last "or more"; the cells of W are the
 * histogram indexes from histogramIndex(W, 0)).
 */
export function userDaysSql(scope: FactScope, days: readonly Day[], windowDays: number): SqlFragment {
  // Numbers (code, not input): a list of toDateTime() calls costs more to parse than to run.
  const starts = unsafeRaw(days.map((d) => d.start / 1000).join(','));
  const minutes = unsafeRaw([...new Set(days.map((d) => (d.start % DAY_MS) / 60_000))].join(','));
  const first = histogramIndex(windowDays, 0);
  return sql`
    SELECT toUnixTimestamp(day_start) AS s,
           arrayMap(c -> c - ${first}, arrayFilter(c -> c >= ${first} AND c < ${first + PUSH_BUCKETS}, cells)) AS ks,
           arrayFilter((n, c) -> c >= ${first} AND c < ${first + PUSH_BUCKETS}, users, cells) AS ns
    FROM exposure_day_starts FINAL
    WHERE app_id = ${scope.appId} AND channel = ${scope.channel}
      AND minute_of_day IN (${minutes}) AND day_start IN (${starts})`;
}

/**
 * Per day index: the rollup's opt-outs (before computed_through) whose user
 * was at risk at the day's start, by bucket (the pushes in [s - W days, s):
 * optOutPushes of @optout/events, in SQL), as a map bucket -> opt-outs.
 *
 * The rows are read without FINAL first: on a single server the rollup leaves
 * one row per opt-out and window in the ranges its status covers
 * (services/rollup/src/write.ts merges a range it wrote again before the
 * status says so), and a FINAL read of 100,000 rows costs more than everything
 * else here. `rows` and `ids` check it: where they differ (two versions of an
 * opt-out: on a cluster each replica holds its own copy and the one it fetched
 * until they merge), the rows are read again with FINAL (`final`). A day with
 * a row outside [s, next start) (`misfits`: ClickHouse's local date of t and
 * this service's day starts, periods.ts, disagree on the zone) is computed
 * exactly.
 */
export function optOutsSql(
  scope: FactScope,
  days: readonly Day[],
  windowDays: number,
  maxBucket: number,
  final = false,
): SqlFragment {
  const starts = unsafeRaw(`[${[...days.map((d) => d.start), days[days.length - 1]!.end].join(',')}]`);
  const columns = sql`optout_at_ms, transition_id, first_seen_ms, out_before, flips, within, recent, band`;
  const where = [
    sql`window_days = ${windowDays}`,
    sql`optout_at_ms < ${computedThroughMs(scope.appId)}`,
    sql`is_deleted = 0`,
  ];
  const rows = final
    ? finalRows({
        table: 'exposure_optouts',
        columns,
        appId: scope.appId,
        channel: scope.channel,
        timeColumn: 'optout_at',
        range: scope.range,
        where,
      })
    : sql`SELECT ${columns} FROM exposure_optouts
          WHERE app_id = ${scope.appId} AND channel = ${scope.channel}
            AND ${inRange(sql`optout_at`, scope.range)} AND ${join(where, ' AND ')}`;
  // Lambdas capture u and s; each is also read outside a lambda, or 18.16 drops it from the subquery.
  return sql`
    SELECT d, count() AS rows, uniqExact(transition_id) AS ids, countIf(NOT fits) AS misfits,
           sumMap([toUInt16(least(k, ${maxBucket}))], [toUInt64(at_risk AND fits)]) AS buckets
    FROM (
      SELECT d, fits, transition_id,
             toInt64(within) + arrayCount(o -> o <= u, band) - arrayCount(o -> o <= u, recent) AS k,
             first_seen_ms < s AND out_before = arrayCount(f -> f < s, flips) % 2 AS at_risk
      FROM (
        SELECT ${dayIndex(sql`optout_at_ms`, scope.range)} AS d, ${starts}[d + 1] AS s,
               s <= optout_at_ms AND optout_at_ms < ${starts}[d + 2] AS fits,
               intDiv(optout_at_ms, ${QUARTER_MS}) - intDiv(s, ${QUARTER_MS}) AS u,
               transition_id, first_seen_ms, out_before, flips, within, recent, band
        FROM (${rows})
      )
      WHERE u >= 0
    )
    GROUP BY d`;
}

/**
 * Users with a transition on the channel from computed_through to the range's
 * end (any version: a superset is fine, the tail reads their raw events).
 */
function tailUsersSql(scope: FactScope): SqlFragment {
  return sql`SELECT DISTINCT user_id FROM consent_transitions
    WHERE app_id = ${scope.appId} AND channel = ${scope.channel}
      AND occurred_at >= toDateTime(intDiv(${computedThroughMs(scope.appId)}, 1000), 'UTC')
      AND occurred_at < ${dateTimeLiteral(scope.range.end)}
    LIMIT ${TAIL_USERS_LIMIT + 1}`;
}

/** Everything the rollup answers for the range, in one round trip of parallel queries. */
export async function readRollup(
  warehouse: Warehouse,
  scope: FactScope,
  days: readonly Day[],
  windowDays: number,
  maxBucket: number,
  timeoutMs: number,
): Promise<RollupRead> {
  const options = (label: string) => ({ timeoutMs, label });
  const [status, pending, userDayRows, optOutRows, tail] = await Promise.all([
    warehouse.rows(rollupStatusSql(scope.appId), options('exposure_status')),
    warehouse.rows(pendingMarksSql(scope.appId, marksSince(scope.appId)), options('exposure_marks')),
    warehouse.rows(userDaysSql(scope, days, windowDays), options('exposure_user_days')),
    warehouse.rows(optOutsSql(scope, days, windowDays, maxBucket), options('exposure_optouts')),
    warehouse.rows(tailUsersSql(scope), options('exposure_tail')),
  ]);
  const buckets = maxBucket + 1;
  const userDays = new Map<number, number[]>();
  for (const row of userDayRows) {
    const counts = new Array<number>(buckets).fill(0);
    const ns = row.ns as unknown[];
    (row.ks as unknown[]).forEach((k, i) => {
      counts[Math.min(num(k), maxBucket)]! += num(ns[i]);
    });
    userDays.set(num(row.s) * 1000, counts);
  }
  const twice = optOutRows.some((row) => num(row.rows) !== num(row.ids));
  const finalRowsOf = twice
    ? await warehouse.rows(
        optOutsSql(scope, days, windowDays, maxBucket, true),
        options('exposure_optouts_final'),
      )
    : optOutRows;
  const optOuts = new Map<number, number[]>();
  const unsure = new Set<number>();
  for (const row of finalRowsOf) {
    const d = num(row.d);
    if (num(row.rows) !== num(row.ids) || num(row.misfits) > 0) unsure.add(d);
    const [buckets, counts] = row.buckets as [unknown[], unknown[]];
    buckets.forEach((b, i) => {
      addTo(optOuts, d, num(b), num(counts[i]), maxBucket + 1);
    });
  }
  return {
    status: rollupStatusOf(status[0]),
    pending: pendingMarksOf(pending[0]),
    userDays,
    optOuts,
    unsure,
    tailUsers: tail.map((r) => String(r.user_id)),
  };
}

/**
 * The opt-outs at or after `fromMs` (computed_through) in `day`, computed like
 * the rollup computes its rows, from the raw events of the tail's users: per
 * bucket, those at risk at the day's start.
 */
export async function tailOptOuts(
  warehouse: Warehouse,
  scope: FactScope,
  users: readonly string[],
  fromMs: number,
  day: Day,
  windowDays: number,
  maxBucket: number,
  timeoutMs: number,
): Promise<number[]> {
  const counts = new Array<number>(maxBucket + 1).fill(0);
  if (users.length === 0) return counts;
  const options = (label: string) => ({ timeoutMs, label });
  const mine = sql`user_id IN (${join(users.map((u) => sql`${u}`))})`;
  const [consent, pushes, seen] = await Promise.all([
    warehouse.rows(
      sql`SELECT user_id, occurred_at_ms, event_id, status FROM raw_consent
          WHERE app_id = ${scope.appId} AND channel = ${scope.channel} AND ${mine}`,
      options('exposure_tail_consent'),
    ),
    warehouse.rows(
      rawEvents(
        'raw_push',
        sql`user_id, occurred_at_ms`,
        scope.appId,
        { start: new Date(Math.max(0, fromMs - PUSHES_BEFORE_MS)), end: new Date(day.end) },
        [mine],
      ),
      options('exposure_tail_pushes'),
    ),
    warehouse.rows(
      sql`SELECT user_id, minMerge(first_seen_ms) AS first_seen FROM user_first_seen
          WHERE app_id = ${scope.appId} AND ${mine} GROUP BY user_id`,
      options('exposure_tail_seen'),
    ),
  ]);
  const firstSeen = new Map(seen.map((r) => [String(r.user_id), num(r.first_seen)]));
  const pushTimes = groupTimes(pushes);
  const records = new Map<string, ConsentRecord[]>();
  for (const r of consent) {
    const list = records.get(String(r.user_id)) ?? [];
    const status = r.status as ConsentRecord['status'];
    list.push({ t: num(r.occurred_at_ms), id: String(r.event_id), status, source: null });
    records.set(String(r.user_id), list);
  }
  for (const [user, list] of records) {
    // A redelivered change is stored twice until a merge: one record per event id.
    const history = [...new Map(list.map((r) => [r.id, r])).values()].sort(compareByTimeThenId);
    const transitions = transitionsOf(history);
    const times = pushTimes.get(user) ?? [];
    // The first event is at most any event read here (the stored state may lag a fresh insert).
    const seenAt = Math.min(
      firstSeen.get(user) ?? Number.POSITIVE_INFINITY,
      history[0]!.t,
      times[0] ?? Number.POSITIVE_INFINITY,
    );
    for (const x of transitions) {
      if (x.kind !== 'OPT_OUT' || x.t < fromMs || x.t >= day.end) continue;
      const k = optOutPushes(optOutExposure(x.t, seenAt, transitions, times), day.start, windowDays);
      if (k !== null) counts[Math.min(k, maxBucket)]! += 1;
    }
  }
  return counts;
}

/** user_id -> its occurred_at_ms values, ascending. */
function groupTimes(rows: readonly Record<string, unknown>[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of rows) {
    const list = out.get(String(r.user_id)) ?? [];
    list.push(num(r.occurred_at_ms));
    out.set(String(r.user_id), list);
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}
