// The slice of facts every chart reads: one app, one channel, one range.
// Shared SQL fragments live here so "a live opt-out in range" has one definition.
import { dateTimeLiteral, type SqlFragment, sql } from '@optout/clickhouse';
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

export interface TransitionFilter {
  appId: string;
  channel: Channel;
  /** Only transitions with occurred_at in [start, end); all time when omitted. */
  range?: { start: Date; end: Date };
  /** Extra condition on key columns that never change between versions (e.g. user_id IN ...). */
  where?: SqlFragment;
  /** Only opt-outs (the default), or every live transition (opt-ins too). */
  kinds?: 'opt_outs' | 'all';
}

/**
 * The latest version of each consent transition, with deleted ones dropped.
 *
 * Versions of one transition share its sorting key (app, channel, occurred_at,
 * transition_id) and user, so filtering on those before GROUP BY is safe; kind
 * and is_deleted may change between versions, so they are filtered only AFTER
 * argMax has picked the latest one (never FINAL, which is slow and not needed).
 * The inner aliases end in `_v` because ClickHouse resolves aliases in WHERE:
 * `argMax(user_id, version) AS user_id` would turn `WHERE user_id ...` into an
 * aggregate. argMax skips NULL arguments, so the nullable source is wrapped in
 * a tuple to keep a NULL in the latest version.
 */
export function liveTransitions(filter: TransitionFilter): SqlFragment {
  const conditions = [sql`app_id = ${filter.appId}`, sql`channel = ${filter.channel}`];
  if (filter.range) conditions.push(inRange(sql`occurred_at`, filter.range));
  if (filter.where) conditions.push(filter.where);
  const kindFilter = (filter.kinds ?? 'opt_outs') === 'opt_outs' ? sql`AND kind = 'OPT_OUT'` : sql``;
  return sql`
    SELECT
      transition_id,
      user_v AS user_id,
      kind_v AS kind,
      occurred_at_v AS occurred_at,
      occurred_at_ms_v AS occurred_at_ms,
      source_v AS source,
      pushes_before_v AS pushes_before,
      last_touch_campaign_id_v AS last_touch_campaign_id,
      last_touch_at_ms_v AS last_touch_at_ms,
      next_activity_at_ms_v AS next_activity_at_ms
    FROM (
      SELECT
        transition_id,
        argMax(user_id, version) AS user_v,
        argMax(kind, version) AS kind_v,
        argMax(occurred_at, version) AS occurred_at_v,
        argMax(occurred_at_ms, version) AS occurred_at_ms_v,
        tupleElement(argMax(tuple(source), version), 1) AS source_v,
        argMax(pushes_before, version) AS pushes_before_v,
        argMax(last_touch_campaign_id, version) AS last_touch_campaign_id_v,
        argMax(last_touch_at_ms, version) AS last_touch_at_ms_v,
        argMax(next_activity_at_ms, version) AS next_activity_at_ms_v,
        argMax(is_deleted, version) AS is_deleted_v
      FROM consent_transitions
      WHERE ${joinAnd(conditions)}
      GROUP BY transition_id
    )
    WHERE is_deleted_v = 0 ${kindFilter}`;
}

function joinAnd(conditions: SqlFragment[]): SqlFragment {
  return conditions.reduce((all, c) => sql`${all} AND ${c}`);
}

/** Live opt-outs of the scope: in range, latest version, not deleted. */
export function liveOptOuts(scope: FactScope): SqlFragment {
  return liveTransitions({ appId: scope.appId, channel: scope.channel, range: scope.range });
}
