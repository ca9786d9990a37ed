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

/** Columns of a live transition a query can ask for (transition_id, user_id and kind always come). */
const LATEST_COLUMNS = {
  occurred_at: sql`argMax(occurred_at, version)`,
  occurred_at_ms: sql`argMax(occurred_at_ms, version)`,
  // argMax skips NULL arguments: wrapping in a tuple keeps a NULL of the latest version.
  source: sql`tupleElement(argMax(tuple(source), version), 1)`,
  pushes_before: sql`argMax(pushes_before, version)`,
  last_touch_campaign_id: sql`argMax(last_touch_campaign_id, version)`,
  last_touch_at_ms: sql`argMax(last_touch_at_ms, version)`,
  next_activity_at_ms: sql`argMax(next_activity_at_ms, version)`,
} as const;

export type TransitionColumn = keyof typeof LATEST_COLUMNS;

export interface TransitionFilter {
  appId: string;
  channel: Channel;
  /** The columns the caller reads: each one is an aggregate state per transition, so ask for few. */
  columns: readonly TransitionColumn[];
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
 * aggregate.
 */
export function liveTransitions(filter: TransitionFilter): SqlFragment {
  const conditions = [sql`app_id = ${filter.appId}`, sql`channel = ${filter.channel}`];
  if (filter.range) conditions.push(inRange(sql`occurred_at`, filter.range));
  if (filter.where) conditions.push(filter.where);
  const kindFilter = (filter.kinds ?? 'opt_outs') === 'opt_outs' ? sql`AND kind_v = 'OPT_OUT'` : sql``;
  const wanted = [...new Set(filter.columns)];
  // Column names come from the LATEST_COLUMNS keys (code, not input).
  const inner = wanted.map((c) => sql`${LATEST_COLUMNS[c]} AS ${unsafeRaw(`${c}_v`)}`);
  const outer = wanted.map((c) => sql`${unsafeRaw(`${c}_v`)} AS ${unsafeRaw(c)}`);
  return sql`
    SELECT transition_id, user_v AS user_id, kind_v AS kind ${join(outer.map((o) => sql`, ${o}`), '')}
    FROM (
      SELECT
        transition_id,
        argMax(user_id, version) AS user_v,
        argMax(kind, version) AS kind_v,
        argMax(is_deleted, version) AS is_deleted_v
        ${join(inner.map((i) => sql`, ${i}`), '')}
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
export function liveOptOuts(scope: FactScope, columns: readonly TransitionColumn[] = []): SqlFragment {
  return liveTransitions({ appId: scope.appId, channel: scope.channel, range: scope.range, columns });
}
