// What a run writes: the histograms of every instant it swept (4 channels
// each), the rows of the opt-outs of its time range, tombstones for the rows
// of that range that are no opt-out any more (a late consent change, an
// erasure), and last the app's status (../status.ts). Rows carry the run's
// version (the server clock when it started, and a counter): a later run wins.
import type { ClickHouseClient } from '@clickhouse/client';
import { dateTimeLiteral, insertTsv, sql, TABLES, type TableSpec, TsvRows } from '@optout/clickhouse';
import { CHANNELS, DAY_MS, MAX_WINDOW_DAYS, optOutExposure, QUARTER_MS } from '@optout/events';
import { onEveryShard } from './housekeeping.ts';
import { type LoadedApp, READ_SETTINGS } from './read.ts';
import { RowBinaryWriter } from './row-binary.ts';
import { ExposureSweep } from './sweep/sweep.ts';

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

/**
 * Merges the monthly partitions of [from, to) so that each opt-out and window
 * has one row left, its latest (OPTIMIZE ... FINAL waits for the merge; with
 * optimize_throw_if_noop a merge it cannot do now fails the run, retried).
 */
async function mergeOptOuts(client: ClickHouseClient, from: Date, to: Date): Promise<void> {
  const months: number[] = [];
  for (
    let m = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1));
    m < to;
    m.setUTCMonth(m.getUTCMonth() + 1)
  )
    months.push(m.getUTCFullYear() * 100 + m.getUTCMonth() + 1);
  await onEveryShard(
    client,
    (table) =>
      months.map((month) => sql`OPTIMIZE TABLE ${table('exposure_optouts')} PARTITION ${month} FINAL`),
    { optimize_throw_if_noop: 1 },
  );
}

/**
 * Sweeps instants fromQuarter..toQuarter and writes their rows and the
 * opt-outs of [fromQuarter, toQuarter); rows of earlier sweeps that are no
 * opt-out now get a tombstone from `staleFromQuarter` (<= fromQuarter: an
 * erasure can leave no event, hence no opt-out, before fromQuarter).
 */
export async function writeRun(
  client: ClickHouseClient,
  appId: string,
  loaded: LoadedApp,
  run: { fromQuarter: number; toQuarter: number; staleFromQuarter: number; version: number },
): Promise<RunCounts> {
  const { fromQuarter, toQuarter, version } = run;
  const histograms = new RowBinaryWriter();
  const columns = TABLES.exposure_day_starts.columns.map((c) => c.name);
  const sweep = new ExposureSweep(loaded.history, fromQuarter);
  for (let q = fromQuarter; q <= toQuarter; q++) {
    if (q > fromQuarter) sweep.advance();
    const at = q * QUARTER_MS;
    const channels = sweep.snapshot();
    // In the catalogue's column order: app_id, channel, minute_of_day, day_start, cells, users, version.
    for (let c = 0; c < CHANNELS.length; c++)
      histograms
        .string(appId)
        .string(CHANNELS[c]!)
        .uint16((at % DAY_MS) / 60_000)
        .uint32(at / 1000)
        .uint16Array(channels[c]!.cells)
        .uint32Array(channels[c]!.users)
        .uint64(version);
    if (histograms.bytes >= BATCH_BYTES) await histograms.insert(client, 'exposure_day_starts', columns);
  }
  await histograms.insert(client, 'exposure_day_starts', columns);

  const fromMs = fromQuarter * QUARTER_MS;
  const toMs = toQuarter * QUARTER_MS;
  const staleFrom = new Date(run.staleFromQuarter * QUARTER_MS);
  const stale = await existingOptOuts(client, appId, staleFrom, new Date(toMs));
  const rewrites = (await anyOptOutRows(client, appId, staleFrom, new Date(toMs))) > 0;
  const optOuts = new Batches(client, TABLES.exposure_optouts);
  let written = 0;
  for (const o of loaded.optOuts) {
    if (o.t >= run.staleFromQuarter * QUARTER_MS && o.t < fromMs)
      throw new Error(`an opt-out at ${o.t} before the sweep's start ${fromMs} would get a tombstone`);
    if (o.t < fromMs || o.t >= toMs) continue;
    const row = optOutExposure(
      o.t,
      loaded.history.firstSeen[o.user]!,
      loaded.transitions.get(`${o.user}/${o.channel}`) ?? [],
      loaded.pushTimes.get(o.user) ?? [],
    );
    stale.delete(`${o.channel}/${o.id}`);
    for (let w = 1; w <= MAX_WINDOW_DAYS; w++)
      await optOuts.add({
        app_id: appId,
        channel: o.channel,
        window_days: w,
        optout_at: Math.floor(o.t / 1000),
        transition_id: o.id,
        user_id: o.userId,
        optout_at_ms: o.t,
        first_seen_ms: row.firstSeenMs,
        out_before: row.outBefore ? 1 : 0,
        flips: row.flips,
        within: row.pushes.within[w - 1]!,
        recent: row.pushes.recent,
        band: row.pushes.bands[w - 1]!,
        version,
        is_deleted: 0,
      });
    written++;
  }
  for (const [key, at] of stale) {
    const slash = key.indexOf('/');
    for (let w = 1; w <= MAX_WINDOW_DAYS; w++)
      await optOuts.add({
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
  await optOuts.flush();
  // The query service reads these rows without FINAL (query/src/queries/exposure-rollup.ts):
  // where this run wrote over earlier rows, merge them to the latest before the status says so.
  if (rewrites) await mergeOptOuts(client, staleFrom, new Date(toMs));
  return {
    instants: toQuarter - fromQuarter + 1,
    optOuts: written,
    tombstones: stale.size,
  };
}
