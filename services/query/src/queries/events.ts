// events: outcome of each opt-out (retained / churned / pending) and the app
// events seen in the lookback_days before retained and churned opt-outs
// (docs/api-contract.md). The counts come from the opt-outs' own rows
// (migration 0013): the outcomes and the names in parallel, each one FINAL
// read of the range's opt-outs.
import { type SqlFragment, sql } from '@optout/clickhouse';
import { num, type Warehouse } from '../warehouse.ts';
import {
  DAY_MS,
  distinctCount,
  type FactScope,
  finalRows,
  inRange,
  liveOptOuts,
  type TransitionColumn,
} from './scope.ts';

export type Outcome = 'retained' | 'churned' | 'pending';

export interface EventsResult {
  outcomes: Record<Outcome, { opt_outs: number; users: number }>;
  events: { event_name: string; retain: number; churn: number }[];
}

/**
 * Outcome of each live opt-out with X = lookback_days: retained if the first
 * AppEvent after t (next_activity_at_ms) is within (t, t + X]; churned if not
 * and t + X is already past; pending otherwise. `nowMs` is the server's clock,
 * bound as a literal so the query itself is deterministic. As a code (1
 * retained, 2 churned, 3 pending): the join's right side carries one byte per
 * opt-out instead of a string.
 */
function outcomeCode(lookbackDays: number, nowMs: number): SqlFragment {
  const windowMs = lookbackDays * DAY_MS;
  return sql`multiIf(
    next_activity_at_ms > 0 AND next_activity_at_ms <= occurred_at_ms + ${windowMs}, 1,
    occurred_at_ms + ${windowMs} < ${nowMs}, 2,
    3)`;
}

const OUTCOME_NAMES: Record<string, Outcome> = { '1': 'retained', '2': 'churned', '3': 'pending' };

function outcomesSql(scope: FactScope, lookbackDays: number, nowMs: number): SqlFragment {
  return sql`
    SELECT outcome, count() AS opt_outs, ${distinctCount(sql`user_id`)} AS users
    FROM (
      SELECT user_id, ${outcomeCode(lookbackDays, nowMs)} AS outcome
      FROM (${liveOptOuts(scope, ['occurred_at_ms', 'next_activity_at_ms'])})
    )
    GROUP BY outcome`;
}

/**
 * Whether optout_event_counts holds any count row of the scope: the rows of
 * opt-outs written before migration 0013 (or by a release without it). A
 * primary-key lookup (app_id, channel, optout_at): a few granules at most.
 * Without one, an opt-out of the range with event_counts_in_row = 0 has no
 * counts anywhere, so the rows' own counts are the whole answer.
 */
function hasCountsApartSql(scope: FactScope): SqlFragment {
  return sql`
    SELECT count() AS n FROM (
      SELECT 1 FROM optout_event_counts
      WHERE app_id = ${scope.appId} AND channel = ${scope.channel} AND ${inRange(sql`optout_at`, scope.range)}
      LIMIT 1
    )`;
}

/**
 * Retained and churned opt-outs (pending ones are left out: charts show
 * retained and churned only) whose counts are in the row (`inRow` 1) or in
 * optout_event_counts (0), with their outcome.
 */
function decidedOptOuts(
  scope: FactScope,
  lookbackDays: number,
  nowMs: number,
  inRow: 0 | 1,
  columns: readonly TransitionColumn[],
): SqlFragment {
  const read = liveOptOuts(scope, [
    'occurred_at_ms',
    'next_activity_at_ms',
    'event_counts_in_row',
    ...columns,
  ]);
  return sql`
    SELECT *, ${outcomeCode(lookbackDays, nowMs)} AS outcome
    FROM (${read})
    WHERE event_counts_in_row = ${inRow} AND outcome != 3`;
}

/**
 * One row per (opt-out, event name, day-before) count with days_before <= X, as
 * (event_name, outcome, user_id, events), from the counts the transition rows
 * carry: one FINAL read of the opt-outs, whose arrays ARRAY JOIN unfolds.
 * `user` is user_id, or a constant named so when users are not counted.
 */
function countsInRowSql(
  scope: FactScope,
  lookbackDays: number,
  nowMs: number,
  user: SqlFragment,
): SqlFragment {
  const decided = decidedOptOuts(scope, lookbackDays, nowMs, 1, [
    'event_names',
    'event_days_before',
    'event_counts',
  ]);
  return sql`
    SELECT event_name, outcome, user_id, events
    FROM (SELECT outcome, ${user}, event_names, event_days_before, event_counts FROM (${decided}))
    ARRAY JOIN event_names AS event_name, event_days_before AS days_before, event_counts AS events
    WHERE days_before >= 1 AND days_before <= ${lookbackDays}`;
}

/**
 * The same rows for the opt-outs counted apart: the latest version of each
 * count row in optout_event_counts, joined with the outcome of its opt-out.
 * The right side has one row per transition_id, so ALL and ANY agree; ALL
 * INNER has the same meaning on 18.16 and current servers.
 */
function countsApartSql(
  scope: FactScope,
  lookbackDays: number,
  nowMs: number,
  user: SqlFragment,
): SqlFragment {
  const counts = finalRows({
    table: 'optout_event_counts',
    columns: sql`transition_id, event_name, ${user}, events`,
    appId: scope.appId,
    channel: scope.channel,
    timeColumn: 'optout_at',
    range: scope.range,
    where: [sql`days_before >= 1 AND days_before <= ${lookbackDays}`],
  });
  return sql`
    SELECT event_name, outcome, user_id, events
    FROM (${counts}) AS counts
    ALL INNER JOIN (
      SELECT transition_id, outcome FROM (${decidedOptOuts(scope, lookbackDays, nowMs, 0, [])})
    ) AS outcomes USING transition_id`;
}

/**
 * Per event name, the measure the caller shows (`retain` / `churn`), over the
 * counts in the rows and, with `countedApart`, those in optout_event_counts.
 */
function eventsSql(
  scope: FactScope,
  options: { lookbackDays: number; count: 'total' | 'unique'; limit: number; countedApart: boolean },
  nowMs: number,
): SqlFragment {
  const { lookbackDays, count, limit } = options;
  const [retain, churn] =
    count === 'unique'
      ? [
          distinctCount(sql`user_id`, sql`outcome = 1 AND events > 0`),
          distinctCount(sql`user_id`, sql`outcome = 2 AND events > 0`),
        ]
      : [sql`sumIf(events, outcome = 1)`, sql`sumIf(events, outcome = 2)`];
  // user_id only when unique users are counted: otherwise a constant, not a string per count.
  const user = count === 'unique' ? sql`user_id` : sql`'' AS user_id`;
  const inRow = countsInRowSql(scope, lookbackDays, nowMs, user);
  const counts = options.countedApart
    ? sql`${inRow} UNION ALL ${countsApartSql(scope, lookbackDays, nowMs, user)}`
    : inRow;
  return sql`
    SELECT
      event_name,
      ${retain} AS retain,
      ${churn} AS churn,
      sum(events) AS events_total
    FROM (${counts})
    GROUP BY event_name
    HAVING events_total > 0
    ORDER BY retain + churn DESC, event_name ASC
    LIMIT ${limit}`;
}

export async function events(
  warehouse: Warehouse,
  scope: FactScope,
  options: { lookbackDays: number; count: 'total' | 'unique'; limit: number; now: Date },
  timeoutMs: number,
): Promise<EventsResult> {
  const nowMs = options.now.getTime();
  // Opt-outs written before migration 0013 have their counts in optout_event_counts;
  // only when the range has such rows do the names read them too (docs/operations.md,
  // "Upgrading to event counts in the row"). The check (a key lookup) runs beside
  // the names over the rows' own counts, which are the answer unless it finds
  // such rows; then the names are asked again with both. The outcomes run meanwhile.
  const names = async () => {
    const [[apart], inRow] = await Promise.all([
      warehouse.rows(hasCountsApartSql(scope), { timeoutMs, label: 'events_counts_apart' }),
      warehouse.rows(eventsSql(scope, { ...options, countedApart: false }, nowMs), {
        timeoutMs,
        label: 'events_names',
      }),
    ]);
    if (num(apart?.n) === 0) return inRow;
    return warehouse.rows(eventsSql(scope, { ...options, countedApart: true }, nowMs), {
      timeoutMs,
      label: 'events_names_with_counts_apart',
    });
  };
  const [outcomeRows, eventRows] = await Promise.all([
    warehouse.rows(outcomesSql(scope, options.lookbackDays, nowMs), { timeoutMs, label: 'events_outcomes' }),
    names(),
  ]);
  const outcomes: EventsResult['outcomes'] = {
    retained: { opt_outs: 0, users: 0 },
    churned: { opt_outs: 0, users: 0 },
    pending: { opt_outs: 0, users: 0 },
  };
  for (const row of outcomeRows) {
    const outcome = OUTCOME_NAMES[String(row.outcome)];
    if (outcome) outcomes[outcome] = { opt_outs: num(row.opt_outs), users: num(row.users) };
  }
  return {
    outcomes,
    events: eventRows.map((row) => ({
      event_name: String(row.event_name),
      retain: num(row.retain),
      churn: num(row.churn),
    })),
  };
}
