// events: outcome of each opt-out (retained / churned / pending) and the app
// events seen in the lookback_days before retained and churned opt-outs
// (docs/api-contract.md).
import { type SqlFragment, sql } from '@optout/clickhouse';
import { num, type Warehouse } from '../warehouse.ts';
import { DAY_MS, type FactScope, inRange, liveOptOuts } from './scope.ts';

export type Outcome = 'retained' | 'churned' | 'pending';

export interface EventsResult {
  outcomes: Record<Outcome, { opt_outs: number; users: number }>;
  events: { event_name: string; retain: number; churn: number }[];
}

/**
 * Outcome of each live opt-out with X = lookback_days: retained if the first
 * AppEvent after t (next_activity_at_ms) is within (t, t + X]; churned if not
 * and t + X is already past; pending otherwise. `nowMs` is the server's clock,
 * bound as a literal so the query itself is deterministic.
 */
function outcomesSql(scope: FactScope, lookbackDays: number, nowMs: number): SqlFragment {
  const windowMs = lookbackDays * DAY_MS;
  return sql`
    SELECT
      transition_id,
      user_id,
      multiIf(
        next_activity_at_ms > 0 AND next_activity_at_ms <= occurred_at_ms + ${windowMs}, 'retained',
        occurred_at_ms + ${windowMs} < ${nowMs}, 'churned',
        'pending') AS outcome
    FROM (${liveOptOuts(scope, ['occurred_at_ms', 'next_activity_at_ms'])})`;
}

/** Latest version of each (opt-out, event name, day-before) count with days_before <= X. */
function eventCountsSql(scope: FactScope, lookbackDays: number): SqlFragment {
  return sql`
    SELECT transition_id, event_name, argMax(user_id, version) AS user_v, argMax(events, version) AS events_v
    FROM optout_event_counts
    WHERE app_id = ${scope.appId} AND channel = ${scope.channel}
      AND ${inRange(sql`optout_at`, scope.range)}
      AND days_before >= 1 AND days_before <= ${lookbackDays}
    GROUP BY transition_id, event_name, days_before`;
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
  // left out here (charts show retained and churned only).
  const order = count === 'unique' ? sql`retain_users + churn_users` : sql`retain_total + churn_total`;
  return sql`
    SELECT
      event_name,
      sumIf(events_v, outcome = 'retained') AS retain_total,
      sumIf(events_v, outcome = 'churned') AS churn_total,
      uniqExactIf(user_v, outcome = 'retained' AND events_v > 0) AS retain_users,
      uniqExactIf(user_v, outcome = 'churned' AND events_v > 0) AS churn_users
    FROM (${eventCountsSql(scope, lookbackDays)}) AS counts
    ALL INNER JOIN (
      SELECT transition_id, outcome
      FROM (${outcomesSql(scope, lookbackDays, nowMs)})
      WHERE outcome != 'pending'
    ) AS outcomes USING transition_id
    GROUP BY event_name
    HAVING retain_total + churn_total > 0
    ORDER BY ${order} DESC, event_name ASC
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
        SELECT outcome, count() AS opt_outs, uniqExact(user_id) AS users
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
    const outcome = row.outcome as Outcome;
    if (outcome in outcomes) outcomes[outcome] = { opt_outs: num(row.opt_outs), users: num(row.users) };
  }
  const unique = options.count === 'unique';
  return {
    outcomes,
    events: eventRows.map((row) => ({
      event_name: String(row.event_name),
      retain: num(unique ? row.retain_users : row.retain_total),
      churn: num(unique ? row.churn_users : row.churn_total),
    })),
  };
}
