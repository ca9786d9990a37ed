// What a step writes: the histograms of every instant it swept (4 channels
// each), the rows of the opt-outs of its time range, tombstones for the rows
// of that range that are no opt-out any more (a late consent change, an
// erasure); the step then writes the app's status (./rollup.ts). Rows carry
// the step's version (the server clock when it started, and a counter): a
// later step wins.
import type { ClickHouseClient } from '@clickhouse/client';
import {
  clickhouseErrorCode,
  dateTimeLiteral,
  insertTsv,
  sql,
  TABLES,
  type TableSpec,
  TsvRows,
} from '@optout/clickhouse';
import { CHANNELS, DAY_MS, MAX_WINDOW_DAYS, type OptOutExposure, QUARTER_MS } from '@optout/events';
import { onEveryShard } from './housekeeping.ts';
import { type OptOut, READ_SETTINGS } from './read.ts';
import { RowBinaryWriter } from './row-binary.ts';
import type { SweptHistograms } from './sweep/sweep.ts';

const BATCH_ROWS = 20_000;
const BATCH_BYTES = 16 * 1024 * 1024;

/** Rows of one table, inserted in batches of BATCH_ROWS as they are added. */
class Batches<S extends TableSpec> {
  private rows: TsvRows<S>;
  written = 0;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly table: S,
  ) {
    this.rows = new TsvRows(table);
  }

  async add(row: Parameters<TsvRows<S>['add']>[0]): Promise<void> {
    this.rows.add(row);
    if (this.rows.length >= BATCH_ROWS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    await insertTsv(this.client, this.table, this.rows.body());
    this.written += this.rows.length;
    this.rows = new TsvRows(this.table);
  }
}

export interface RunCounts {
  instants: number;
  optOuts: number;
  tombstones: number;
}

/** Live opt-out rows already written for [from, to): "<channel>/<transition_id>" -> optout_at (s). */
async function existingOptOuts(client: ClickHouseClient, appId: string, from: Date, to: Date) {
  const result = await client.query({
    // Every opt-out has a row per window, written together: window 1 lists them.
    query: sql`SELECT channel, transition_id, toUnixTimestamp(optout_at) AS at FROM exposure_optouts FINAL
               WHERE app_id = ${appId} AND window_days = 1
                 AND optout_at >= ${dateTimeLiteral(from)} AND optout_at < ${dateTimeLiteral(to)}
                 AND is_deleted = 0`.text,
    format: 'JSONEachRow',
    clickhouse_settings: READ_SETTINGS,
  });
  const rows = await result.json<{ channel: string; transition_id: string; at: number | string }>();
  return new Map(rows.map((r) => [`${r.channel}/${r.transition_id}`, Number(r.at)]));
}

/** Rows of any version in [from, to). */
async function anyOptOutRows(client: ClickHouseClient, appId: string, from: Date, to: Date): Promise<number> {
  const result = await client.query({
    query: sql`SELECT count() AS n FROM exposure_optouts
               WHERE app_id = ${appId} AND optout_at >= ${dateTimeLiteral(from)} AND optout_at < ${dateTimeLiteral(to)}`
      .text,
    format: 'JSONEachRow',
  });
  return Number((await result.json<{ n: string }>())[0]?.n ?? 0);
}

/** Code 388, CANNOT_ASSIGN_OPTIMIZE: with optimize_throw_if_noop, a merge OPTIMIZE could not do now. */
const CANNOT_ASSIGN_OPTIMIZE = 388;
const MERGE_ATTEMPTS = 10;

/**
 * Merges the monthly partitions of [from, to) so that each opt-out and window
 * has one row left, its latest (OPTIMIZE ... FINAL waits for the merge it
 * does). With optimize_throw_if_noop a merge it cannot do fails instead of
 * passing in silence: when a background merge holds some of the parts (the
 * rows were just inserted), so it is tried again after that merge had time to
 * end, and then the run fails (and is retried). Only the partitions a server
 * holds: an empty one is a "noop" too, and a shard need not hold every month.
 */
async function mergeOptOuts(client: ClickHouseClient, from: Date, to: Date): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await optimizeOptOuts(client, from, to);
    } catch (err) {
      if (clickhouseErrorCode(err) !== CANNOT_ASSIGN_OPTIMIZE || attempt === MERGE_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

async function optimizeOptOuts(client: ClickHouseClient, from: Date, to: Date): Promise<void> {
  const months: number[] = [];
  for (
    let m = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1));
    m < to;
    m.setUTCMonth(m.getUTCMonth() + 1)
  )
    months.push(m.getUTCFullYear() * 100 + m.getUTCMonth() + 1);
  await onEveryShard(
    client,
    async (table, server, tableName) => {
      const result = await server.query({
        query: sql`SELECT DISTINCT toUInt32(partition) AS month FROM system.parts
                   WHERE active AND database = currentDatabase() AND table = ${tableName('exposure_optouts')}
                     AND toUInt32(partition) IN ${months}`.text,
        format: 'JSONEachRow',
      });
      const held = (await result.json<{ month: number | string }>()).map((r) => Number(r.month));
      return held.map((month) => sql`OPTIMIZE TABLE ${table('exposure_optouts')} PARTITION ${month} FINAL`);
    },
    { optimize_throw_if_noop: 1 },
  );
}

/** The swept instants' histograms, four rows (channels) an instant, in RowBinary. */
export async function writeHistograms(
  client: ClickHouseClient,
  appId: string,
  swept: SweptHistograms,
  version: number,
): Promise<void> {
  const rows = new RowBinaryWriter();
  const columns = TABLES.exposure_day_starts.columns.map((c) => c.name);
  for (let q = swept.fromQuarter; q <= swept.toQuarter; q++) {
    const at = q * QUARTER_MS;
    // In the catalogue's column order: app_id, channel, minute_of_day, day_start, cells, users, version.
    for (let c = 0; c < CHANNELS.length; c++) {
      const { cells, users } = swept.at(q, c);
      rows
        .string(appId)
        .string(CHANNELS[c]!)
        .uint16((at % DAY_MS) / 60_000)
        .uint32(at / 1000)
        .array(cells)
        .array(users)
        .uint64(version);
    }
    if (rows.bytes >= BATCH_BYTES) await rows.insert(client, 'exposure_day_starts', columns);
  }
  await rows.insert(client, 'exposure_day_starts', columns);
}

/** An opt-out and what its row holds. */
export interface OptOutRow {
  optOut: OptOut;
  exposure: OptOutExposure;
}

/**
 * The rows of the opt-outs of [fromMs, toMs) (one per window), and a tombstone
 * for each earlier row of [staleFromMs, toMs) that is no opt-out now; where
 * they overwrite earlier rows, merged so that the latest is the only one left.
 * Returns the counts of both.
 */
export async function writeOptOuts(
  client: ClickHouseClient,
  appId: string,
  rows: readonly OptOutRow[],
  range: { staleFromMs: number; toMs: number },
  version: number,
): Promise<Pick<RunCounts, 'optOuts' | 'tombstones'>> {
  const staleFrom = new Date(range.staleFromMs);
  const to = new Date(range.toMs);
  const stale = await existingOptOuts(client, appId, staleFrom, to);
  const rewrites = (await anyOptOutRows(client, appId, staleFrom, to)) > 0;
  const batches = new Batches(client, TABLES.exposure_optouts);
  for (const { optOut: o, exposure: e } of rows) {
    stale.delete(`${o.channel}/${o.id}`);
    for (let w = 1; w <= MAX_WINDOW_DAYS; w++)
      await batches.add({
        app_id: appId,
        channel: o.channel,
        window_days: w,
        optout_at: Math.floor(o.t / 1000),
        transition_id: o.id,
        user_id: o.userId,
        optout_at_ms: o.t,
        first_seen_ms: e.firstSeenMs,
        out_before: e.outBefore ? 1 : 0,
        flips: e.flips,
        within: e.pushes.within[w - 1]!,
        recent: e.pushes.recent,
        band: e.pushes.bands[w - 1]!,
        version,
        is_deleted: 0,
      });
  }
  for (const [key, at] of stale) {
    const slash = key.indexOf('/');
    for (let w = 1; w <= MAX_WINDOW_DAYS; w++)
      await batches.add({
        app_id: appId,
        channel: key.slice(0, slash),
        window_days: w,
        optout_at: at,
        transition_id: key.slice(slash + 1),
        user_id: '',
        optout_at_ms: 0,
        first_seen_ms: 0,
        out_before: 0,
        flips: [],
        within: 0,
        recent: [],
        band: [],
        version,
        is_deleted: 1,
      });
  }
  await batches.flush();
  // The query service reads these rows without FINAL (query/src/queries/exposure-rollup.ts):
  // where this run wrote over earlier rows, merge them to the latest before the status says so.
  if (rewrites) await mergeOptOuts(client, staleFrom, to);
  return { optOuts: rows.length, tombstones: stale.size };
}
