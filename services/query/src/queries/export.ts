// export: one row per user with at least one live opt-out in range on the
// channel (docs/api-contract.md), streamed in order of opted_out_at, user_id.
//
// One JOIN per SELECT (18.16), so the per-user pieces are joined one at a time:
// in-range opt-outs <- current status <- external id <- identifiers. Every right
// side is grouped by user_id (one row per user), so ALL LEFT JOIN means "look
// up"; a missing right row gives type defaults, hence the has_* flags.
import { type SqlFragment, sql } from '@optout/clickhouse';
import { type FactScope, liveOptOuts, liveTransitions } from './scope.ts';

/** Per user: latest opt-out in range, how many, and the source of that latest one. */
function inRangeSql(scope: FactScope): SqlFragment {
  return sql`
    SELECT
      user_id,
      max(occurred_at_ms) AS opted_out_at_ms,
      count() AS opt_outs_in_range,
      tupleElement(argMax(tuple(source), tuple(occurred_at_ms, transition_id)), 1) AS latest_source
    FROM (${liveOptOuts(scope, ['occurred_at_ms', 'source'])})
    GROUP BY user_id`;
}

/** The users of the export, as the right side of IN. */
function usersSql(scope: FactScope): SqlFragment {
  return sql`SELECT DISTINCT user_id FROM (${liveOptOuts(scope)})`;
}

/** Whether the user's latest live transition on the channel, over all time, is an opt-out. */
function currentStatusSql(scope: FactScope): SqlFragment {
  const all = liveTransitions({
    appId: scope.appId,
    channel: scope.channel,
    kinds: 'all',
    columns: ['occurred_at_ms'],
    where: sql`user_id IN (${usersSql(scope)})`,
  });
  return sql`
    SELECT user_id, argMax(kind, tuple(occurred_at_ms, transition_id)) = 'OPT_OUT' AS is_opted_out
    FROM (${all})
    GROUP BY user_id`;
}

/** Latest known value per user: latest observed_at_ms, ties broken by the larger event_id. */
function latestKnownSql(scope: FactScope, table: 'user_external_ids' | 'user_identifiers'): SqlFragment {
  return table === 'user_external_ids'
    ? sql`
      SELECT user_id, argMax(external_id, tuple(observed_at_ms, event_id)) AS external_v, toUInt8(1) AS has_external
      FROM user_external_ids
      WHERE app_id = ${scope.appId} AND user_id IN (${usersSql(scope)})
      GROUP BY user_id`
    : sql`
      SELECT user_id, argMax(identifiers, tuple(observed_at_ms, event_id)) AS identifiers_v, toUInt8(1) AS has_identifiers
      FROM user_identifiers
      WHERE app_id = ${scope.appId} AND user_id IN (${usersSql(scope)})
      GROUP BY user_id`;
}

export function exportSql(scope: FactScope): SqlFragment {
  return sql`
    SELECT user_id, opted_out_at_ms, opt_outs_in_range, latest_source, is_opted_out,
           external_v, has_external, identifiers_v, has_identifiers
    FROM (
      SELECT user_id, opted_out_at_ms, opt_outs_in_range, latest_source, is_opted_out, external_v, has_external
      FROM (
        SELECT user_id, opted_out_at_ms, opt_outs_in_range, latest_source, is_opted_out
        FROM (${inRangeSql(scope)}) AS in_range
        ALL LEFT JOIN (${currentStatusSql(scope)}) AS status USING user_id
      ) AS with_status
      ALL LEFT JOIN (${latestKnownSql(scope, 'user_external_ids')}) AS external USING user_id
    ) AS with_external
    ALL LEFT JOIN (${latestKnownSql(scope, 'user_identifiers')}) AS identifiers USING user_id
    ORDER BY opted_out_at_ms ASC, user_id ASC`;
}

/** One export row as the contract names and types it. */
export interface ExportRow {
  user_id: string;
  external_id: string | null;
  opted_out_at: string;
  opt_outs_in_range: number;
  source: string | null;
  currently_opted_out: boolean;
  identifiers: Record<string, string>;
}

export const EXPORT_COLUMNS = [
  'user_id',
  'external_id',
  'opted_out_at',
  'opt_outs_in_range',
  'source',
  'currently_opted_out',
  'identifiers',
] as const satisfies readonly (keyof ExportRow)[];

/** Parses the stored identifiers JSON into an object with sorted keys ({} if none or unreadable). */
export function sortedIdentifiers(text: unknown): Record<string, string> {
  if (typeof text !== 'string' || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const out: Record<string, string> = {};
  for (const key of Object.keys(parsed).sort()) out[key] = String((parsed as Record<string, unknown>)[key]);
  return out;
}

/** A streamed ClickHouse row (JSONEachRow; Int64 as strings) to the contract's row. */
export function toExportRow(row: Record<string, unknown>): ExportRow {
  return {
    user_id: String(row.user_id),
    external_id: Number(row.has_external) === 1 ? String(row.external_v) : null,
    opted_out_at: new Date(Number(row.opted_out_at_ms)).toISOString(),
    opt_outs_in_range: Number(row.opt_outs_in_range),
    source: row.latest_source === null || row.latest_source === undefined ? null : String(row.latest_source),
    currently_opted_out: Number(row.is_opted_out) === 1,
    identifiers: Number(row.has_identifiers) === 1 ? sortedIdentifiers(row.identifiers_v) : {},
  };
}
