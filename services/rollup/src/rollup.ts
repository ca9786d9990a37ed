// One step of one app's rollup: read its status and the marks since, decide
// what to sweep, sweep it, write the rows, then the status.
//
// - Never rolled up: sweep from the app's first event.
// - A mark that may have changed an instant already computed: sweep again from
//   it. The status's computed_through goes back to where that sweep stops, so
//   the query service answers the instants after it from the raw events until
//   later steps have swept them again (each sweeps at most `chunkDays`).
// - Otherwise, go forward to the last quarter hour that is `lagMs` old.
//
// The rows a step writes are a function of what it read: the pushes, consent
// changes and first events visible when it started reading, which include every
// event whose mark has a marked_at before marks_through (MARK_SLACK_MS). Marks
// that keep coming (a backfill) postpone a new sweep until `quietMs` without
// one, or `maxDelayMs` after the first; the query service stays exact meanwhile.
import type { ClickHouseClient } from '@clickhouse/client';
import {
  insertTsv,
  pendingMarksOf,
  pendingMarksSql,
  type RollupStatus,
  rollupStatusOf,
  rollupStatusSql,
  type SqlFragment,
  TABLES,
  TsvRows,
} from '@optout/clickhouse';
import { MARK_SLACK_MS, QUARTER_MS, QUARTERS_PER_DAY } from '@optout/events';
import { purgeErased } from './housekeeping.ts';
import { loadPushes, loadUsers, READ_SETTINGS, serverNowSeconds } from './read.ts';
import { quarterOf } from './sweep/history.ts';
import { type RunCounts, writeRun } from './write.ts';

export interface RollupOptions {
  /** Instants are swept once they are this old (at least MARK_LATE_MS + MARK_SLACK_MS and a margin). */
  lagMs: number;
  /** A sweep again waits until no new mark came for this long... */
  quietMs: number;
  /** ...or until the oldest waiting mark is this old. */
  maxDelayMs: number;
  /** The most days one step sweeps (memory: the pushes of chunkDays + 32 days). */
  chunkDays: number;
  /** How long after its marked_at a mark is taken into account (MARK_SLACK_MS; tests on one server use less). */
  markSlackMs?: number;
}

export type StepKind = 'build' | 'forward' | 'resweep' | 'postponed' | 'idle';

export interface StepOutcome extends Partial<RunCounts> {
  kind: StepKind;
  /** computed_through after the step, in quarters; null: never rolled up. */
  computedThrough: number | null;
  /** Whether the app is still behind its target (call again without waiting). */
  behind: boolean;
}

let sequence = 0;

async function one(
  client: ClickHouseClient,
  query: SqlFragment,
): Promise<Record<string, unknown> | undefined> {
  const result = await client.query({
    query: query.text,
    format: 'JSONEachRow',
    clickhouse_settings: READ_SETTINGS,
  });
  return (await result.json<Record<string, unknown>>())[0];
}

async function writeStatus(client: ClickHouseClient, appId: string, status: RollupStatus, version: number) {
  const rows = new TsvRows(TABLES.exposure_rollups);
  rows.add({
    app_id: appId,
    computed_from: (status.computedFrom * QUARTER_MS) / 1000,
    computed_through: (status.computedThrough * QUARTER_MS) / 1000,
    marks_through: status.marksThrough,
    version,
  });
  await insertTsv(client, TABLES.exposure_rollups, rows.body());
}

export async function rollupStep(
  client: ClickHouseClient,
  appId: string,
  o: RollupOptions,
): Promise<StepOutcome> {
  const now = await serverNowSeconds(client);
  // Later steps win: the server clock, then a counter for steps in the same second.
  const version = now * 1000 + (sequence++ % 1000);
  const status = rollupStatusOf(await one(client, rollupStatusSql(appId)));
  const target = Math.floor((now * 1000 - o.lagMs) / QUARTER_MS);
  const marksThrough = now - Math.ceil((o.markSlackMs ?? MARK_SLACK_MS) / 1000);
  const chunk = o.chunkDays * QUARTERS_PER_DAY;

  let resweepFromMs: number | null = null;
  let pendingErasure = false;
  if (status) {
    const pending = pendingMarksOf(
      await one(
        client,
        pendingMarksSql(appId, new Date(status.marksThrough * 1000), new Date(marksThrough * 1000)),
      ),
    );
    if (pending.count > 0 && pending.fromMs < status.computedThrough * QUARTER_MS) {
      const quiet = (now - pending.lastMarkedAt) * 1000 >= o.quietMs;
      const overdue = (now - pending.firstMarkedAt) * 1000 >= o.maxDelayMs;
      if (!quiet && !overdue)
        return { kind: 'postponed', computedThrough: status.computedThrough, behind: false };
      resweepFromMs = pending.fromMs;
      pendingErasure = pending.erasures > 0;
    } else if (target <= status.computedThrough) {
      if (marksThrough > status.marksThrough)
        await writeStatus(client, appId, { ...status, marksThrough }, version);
      return { kind: 'idle', computedThrough: status.computedThrough, behind: false };
    }
  }

  const users = await loadUsers(client, appId);
  const firstQuarter = Number.isFinite(users.firstEventMs) ? quarterOf(users.firstEventMs) : target;
  let kind: StepKind;
  let from: number;
  if (!status) {
    kind = 'build';
    from = firstQuarter;
  } else if (resweepFromMs !== null) {
    kind = 'resweep';
    from = Math.max(quarterOf(Math.max(0, resweepFromMs)), firstQuarter);
  } else {
    kind = 'forward';
    from = status.computedThrough;
  }
  from = Math.min(from, target);
  const to = Math.min(target, from + chunk);
  // Before `from`, a sweep again finds rows to tombstone only when the app's
  // first event moved later than the mark (an erasure of its earliest users).
  const staleFrom =
    kind === 'resweep' && status
      ? Math.min(from, Math.max(quarterOf(Math.max(0, resweepFromMs!)), status.computedFrom))
      : from;
  const loaded = await loadPushes(client, appId, users, from * QUARTER_MS, to * QUARTER_MS);
  const counts = await writeRun(client, appId, loaded, {
    fromQuarter: from,
    toQuarter: to,
    staleFromQuarter: staleFrom,
    version,
  });
  // Before the status: a step that fails after the purge does it again.
  if (status && kind === 'resweep' && pendingErasure) await purgeErased(client, appId, status.marksThrough);
  await writeStatus(
    client,
    appId,
    { computedFrom: Math.min(firstQuarter, to), computedThrough: to, marksThrough },
    version,
  );
  return { kind, ...counts, computedThrough: to, behind: to < target };
}

/** How far behind the wall clock the rollup of an app is, in ms (for a gauge). */
export const lagOf = (computedThrough: number, nowMs: number) => nowMs - computedThrough * QUARTER_MS;
