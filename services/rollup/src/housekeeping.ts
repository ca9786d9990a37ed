// What the rollup cleans up after itself (docs/insights.md "Exposure"):
//
// - erasures: a step reads the raw tables while an erasure may be deleting
//   from them, so it can write an opt-out row of the erased user after
//   erasure's own deletion of this table ran. When a step takes an erasure's
//   mark into account, the rows up to τ of the users erased lately are
//   deleted again (SPEC 6: erased stays erased, stored nowhere);
// - marks: once every app's marks_through is past them, a day's marks are
//   never read again; its partition is dropped a day later.
//
// On a cluster both are statements on the replicated local tables, one server
// per shard (the table through Distributed takes no mutation).
import type { ClickHouseClient } from '@clickhouse/client';
import {
  type ClickHouseSettings,
  clusterOf,
  commandOnEveryShard,
  dateTimeLiteral,
  identifier,
  join,
  localTableOf,
  type SqlFragment,
  sql,
} from '@optout/clickhouse';

/**
 * Statements on `table(name)`: the table itself, or on a cluster its replicated
 * local table, one server per shard; `server` is the client of that server.
 */
export async function onEveryShard(
  client: ClickHouseClient,
  statements: (
    table: (name: string) => SqlFragment,
    server: ClickHouseClient,
    tableName: (name: string) => string,
  ) => SqlFragment[] | Promise<SqlFragment[]>,
  settings?: ClickHouseSettings,
) {
  const cluster = clusterOf(client) !== undefined;
  const tableName = (name: string) => (cluster ? localTableOf(name) : name);
  const table = (name: string) => identifier(tableName(name));
  const queries = async (server: ClickHouseClient) =>
    (await statements(table, server, tableName)).map((q) => q.text);
  if (cluster) await commandOnEveryShard(client, queries, settings);
  else
    for (const query of await queries(client))
      await client.command({ query, ...(settings ? { clickhouse_settings: settings } : {}) });
}

async function rows<T>(client: ClickHouseClient, query: SqlFragment): Promise<T[]> {
  const result = await client.query({ query: query.text, format: 'JSONEachRow' });
  return result.json<T>();
}

/**
 * Deletes the opt-out rows up to τ of the users erased recently (recorded in
 * the ledger since `since`, epoch s, less a day for the clocks of the ingest
 * hosts that wrote it), in one mutation: the step calls it after an erasure's
 * mark. Returns how many users it covered.
 */
export async function purgeErased(client: ClickHouseClient, appId: string, since: number): Promise<number> {
  const erased = await rows<{ user_id: string; through: string }>(
    client,
    sql`SELECT user_id, max(erased_through_ms) AS through FROM erased_users
        WHERE app_id = ${appId} AND recorded_at >= ${dateTimeLiteral(new Date((since - 86_400) * 1000))}
        GROUP BY user_id LIMIT ${PURGE_USERS}`,
  );
  if (erased.length === 0) return 0;
  const each = erased.map((e) => sql`(user_id = ${e.user_id} AND optout_at_ms <= ${Number(e.through)})`);
  await onEveryShard(client, (table) => [
    sql`ALTER TABLE ${table('exposure_optouts')} DELETE
        WHERE app_id = ${appId} AND (${join(each, ' OR ')})`,
  ]);
  return erased.length;
}

/** Users one purge covers at most (the mutation's text stays under max_query_size). */
const PURGE_USERS = 1000;

/** Drops the days of marks older than every app's marks_through by a day; returns how many. */
export async function dropOldMarks(client: ClickHouseClient): Promise<number> {
  const [oldest] = await rows<{ apps: string; through: string }>(
    client,
    sql`SELECT count() AS apps, min(through) AS through FROM (
          SELECT app_id, toUnixTimestamp(argMax(marks_through, version)) AS through FROM exposure_rollups GROUP BY app_id)`,
  );
  if (!oldest || Number(oldest.apps) === 0) return 0;
  const cutoff = new Date((Number(oldest.through) - 86_400) * 1000);
  const old = await rows<{ day: string }>(
    client,
    sql`SELECT DISTINCT toString(toYYYYMMDD(marked_at)) AS day FROM exposure_marks
        WHERE marked_at < ${dateTimeLiteral(cutoff)}`,
  );
  if (old.length === 0) return 0;
  // Partition ids are toYYYYMMDD numbers (code from ClickHouse, checked to be digits).
  const days = old.map((o) => o.day).filter((d) => /^\d{8}$/.test(d));
  await onEveryShard(client, (table) =>
    days.map((day) => sql`ALTER TABLE ${table('exposure_marks')} DROP PARTITION ${Number(day)}`),
  );
  return days.length;
}
