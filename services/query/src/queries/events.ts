// events: outcome of each opt-out (retained / churned / pending) and the app
// events seen in the lookback_days before retained and churned opt-outs
// (docs/api-contract.md).
import { type SqlFragment, sql } from '@optout/clickhouse';
import { num, type Warehouse } from '../warehouse.ts';
import { DAY_MS, distinctCount, type FactScope, finalRows, liveOptOuts } from './scope.ts';

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
    SELECT transition_id, user_id, ${outcomeCode(lookbackDays, nowMs)} AS outcome
    FROM (${liveOptOuts(scope, ['occurred_at_ms', 'next_activity_at_ms'])})`;
}

/**
 * Latest version of each (opt-out, event name, day-before) count with
 * days_before <= X; user_id only when unique users are counted.
 */
function eventCountsSql(scope: FactScope, lookbackDays: number, count: 'total' | 'unique'): SqlFragment {
  return finalRows({
    table: 'optout_event_counts',
    columns:
      count === 'unique'
        ? sql`transition_id, event_name, user_id, events`
        : sql`transition_id, event_name, events`,
    appId: scope.appId,
    channel: scope.channel,
    timeColumn: 'optout_at',
    range: scope.range,
    where: [sql`days_before >= 1 AND days_before <= ${lookbackDays}`],
  });
}

function eventsSql(
  scope: FactScope,
  lookbackDays: number,
  count: 'total' | 'unique',
  limit: number,
  nowMs: number,
): SqlFragment {
  // Right side has one row per transition_id, so ALL and ANY agree; ALL INNER
  // has the same meaning on 18.16 and current servers. Pending opt-outs are
  // left out here (charts show retained and churned only). Only the measure
  // the caller shows is computed (`retain` / `churn`).
  const [retain, churn] =
    count === 'unique'
      ? [
          distinctCount(sql`user_id`, sql`outcome = 1 AND events > 0`),
          distinctCount(sql`user_id`, sql`outcome = 2 AND events > 0`),
        ]
      : [sql`sumIf(events, outcome = 1)`, sql`sumIf(events, outcome = 2)`];
  return sql`
    SELECT
      event_name,
      ${retain} AS retain,
      ${churn} AS churn,
      sum(events) AS events_total
    FROM (${eventCountsSql(scope, lookbackDays, count)}) AS counts
    ALL INNER JOIN (
      SELECT transition_id, ${outcomeCode(lookbackDays, nowMs)} AS outcome
      FROM (${liveOptOuts(scope, ['occurred_at_ms', 'next_activity_at_ms'])})
      WHERE outcome != 3
    ) AS outcomes USING transition_id
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
  const [outcomeRows, eventRows] = await Promise.all([
    warehouse.rows(
      sql`
        SELECT outcome, count() AS opt_outs, ${distinctCount(sql`user_id`)} AS users
        FROM (${outcomesSql(scope, options.lookbackDays, nowMs)})
        GROUP BY outcome`,
      { timeoutMs, label: 'events_outcomes' },
    ),
    warehouse.rows(eventsSql(scope, options.lookbackDays, options.count, options.limit, nowMs), {
      timeoutMs,
      label: 'events_names',
    }),
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
