// The steps of one app's rollup: read its status and the marks since, decide
// what to sweep, sweep it, write the rows, then the status.
//
// - Never rolled up: sweep from the app's first event.
// - A mark that may have changed an instant already computed: sweep again from
//   it. The status's computed_through goes back to where that sweep stops, so
//   the query service answers the instants after it from the raw events until
//   later steps have swept them again (each sweeps at most `chunkDays`).
// - Otherwise, go forward to the last quarter hour that is `lagMs` old: from
//   the sweep kept since the last step when there is one (AppRollup).
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
import {
  MARK_SLACK_MS,
  optOutExposure,
  PUSHES_BEFORE_MS,
  QUARTER_MS,
  QUARTERS_PER_DAY,
} from '@optout/events';
import { purgeErased } from './housekeeping.ts';
import {
  type AppUsers,
  firstEventOf,
  loadUsers,
  READ_SETTINGS,
  readPushes,
  serverNowSeconds,
} from './read.ts';
import { type AppHistory, PushGrid, quarterOf } from './sweep/history.ts';
import { AppSweep } from './sweep/sweep.ts';
import { type OptOutRow, type RunCounts, writeHistograms, writeOptOuts } from './write.ts';

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
  /** Where a sweeping step's time went (logged). */
  timings?: Record<string, number>;
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

/** A sweep kept between steps: the next forward step reads only what is new. */
interface Kept {
  users: AppUsers;
  history: AppHistory;
  sweep: AppSweep;
}

/**
 * One app's rollup, step by step. It keeps its sweep between steps: going
 * forward then reads only the pushes of the new instants, the users and the
 * transitions (far fewer than a month of pushes), and sweeps just the new
 * instants. Anything behind the sweep that changed came with a mark, and a
 * mark makes the next step sweep afresh from it.
 */
export class AppRollup {
  private kept: Kept | null = null;

  constructor(
    private readonly client: ClickHouseClient,
    readonly appId: string,
    private readonly o: RollupOptions,
  ) {}

  async step(): Promise<StepOutcome> {
    try {
      return await this.stepOnce();
    } catch (error) {
      this.kept = null;
      throw error;
    }
  }

  private async stepOnce(): Promise<StepOutcome> {
    const { client, appId, o } = this;
    const now = await serverNowSeconds(client);
    // Later steps win: the server clock, then a counter for steps in the same second.
    const version = now * 1000 + (sequence++ % 1000);
    const status = rollupStatusOf(await one(client, rollupStatusSql(appId)));
    const target = Math.floor((now * 1000 - o.lagMs) / QUARTER_MS);
    const marksThrough = now - Math.ceil((o.markSlackMs ?? MARK_SLACK_MS) / 1000);

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

    const started = performance.now();
    const kind: StepKind = !status ? 'build' : resweepFromMs !== null ? 'resweep' : 'forward';
    const goOn =
      kind === 'forward' && this.kept !== null && this.kept.sweep.quarter === status!.computedThrough;
    const users = await loadUsers(client, appId, goOn ? this.kept!.users : undefined);
    const firstEvent = firstEventOf(users);
    const firstQuarter = Number.isFinite(firstEvent) ? quarterOf(firstEvent) : target;
    let from = !status
      ? firstQuarter
      : kind === 'resweep'
        ? Math.max(quarterOf(Math.max(0, resweepFromMs!)), firstQuarter)
        : status.computedThrough;
    from = Math.min(from, target);
    const to = Math.min(target, from + o.chunkDays * QUARTERS_PER_DAY);
    const usersRead = performance.now();

    let pushes: number;
    let sweep: AppSweep;
    let history: AppHistory;
    if (goOn) {
      ({ sweep, history } = this.kept!);
      const knownUsers = history.users;
      pushes = await readPushes(client, appId, users, history.pushes, from * QUARTER_MS, to * QUARTER_MS);
      // In place: the sweep holds this object.
      Object.assign(history, historyOf(users, history.pushes));
      sweep.extended(knownUsers);
    } else {
      const grid = new PushGrid(quarterOf(from * QUARTER_MS - PUSHES_BEFORE_MS));
      pushes = await readPushes(
        client,
        appId,
        users,
        grid,
        from * QUARTER_MS - PUSHES_BEFORE_MS,
        to * QUARTER_MS,
      );
      history = historyOf(users, grid);
      sweep = new AppSweep(history, from);
    }
    const pushesRead = performance.now();
    const swept = sweep.sweepTo(to);
    const sweptAt = performance.now();
    await writeHistograms(client, appId, swept, version);
    const histogramsWritten = performance.now();
    const optOuts = optOutRows(users, history.pushes, from * QUARTER_MS, to * QUARTER_MS);
    // Before `from`, a sweep again finds rows to tombstone only when the app's
    // first event moved later than the mark (an erasure of its earliest users).
    const staleFrom =
      kind === 'resweep' && status
        ? Math.min(from, Math.max(quarterOf(Math.max(0, resweepFromMs!)), status.computedFrom))
        : from;
    // No opt-out can lie there (no event before the first one): one would get a tombstone.
    const before = users.optOuts.find((o) => o.t >= staleFrom * QUARTER_MS && o.t < from * QUARTER_MS);
    if (before)
      throw new Error(
        `an opt-out at ${before.t} before the sweep's start ${from * QUARTER_MS} would get a tombstone`,
      );
    const counts = await writeOptOuts(
      client,
      appId,
      optOuts,
      { staleFromMs: staleFrom * QUARTER_MS, toMs: to * QUARTER_MS },
      version,
    );
    // Before the status: a step that fails after the purge does it again.
    if (pendingErasure) await purgeErased(client, appId, status!.marksThrough);
    await writeStatus(
      client,
      appId,
      { computedFrom: Math.min(firstQuarter, to), computedThrough: to, marksThrough },
      version,
    );
    // Keep what the next forward step needs: the users, and the pushes of the last 32 days.
    history.pushes.dropBefore(to - PUSHES_BEFORE_MS / QUARTER_MS);
    this.kept = { users, history, sweep };
    const ms = (a: number, b: number) => Math.round(b - a);
    return {
      kind,
      instants: to - from + 1,
      ...counts,
      computedThrough: to,
      behind: to < target,
      timings: {
        users_ms: ms(started, usersRead),
        pushes_ms: ms(usersRead, pushesRead),
        pushes,
        sweep_ms: ms(pushesRead, sweptAt),
        histograms_ms: ms(sweptAt, histogramsWritten),
        optouts_ms: ms(histogramsWritten, performance.now()),
      },
    };
  }
}

/** What the sweep reads of the users (their first events as read now), with the pushes held. */
function historyOf(users: AppUsers, pushes: PushGrid): AppHistory {
  return {
    users: users.firstSeen.length,
    firstSeen: Float64Array.from(users.firstSeen),
    pushes,
    changes: users.changes,
  };
}

/** The rows of the opt-outs in [fromMs, toMs), their pushes from the grid. */
function optOutRows(users: AppUsers, grid: PushGrid, fromMs: number, toMs: number): OptOutRow[] {
  const inRange = users.optOuts.filter((o) => o.t >= fromMs && o.t < toMs);
  if (inRange.length === 0) return [];
  const wanted = new Set(inRange.map((o) => o.user));
  const pushQuarters = grid.quartersOf(wanted, quarterOf(fromMs - PUSHES_BEFORE_MS), quarterOf(toMs - 1) + 1);
  return inRange.map((o) => ({
    optOut: o,
    exposure: optOutExposure(
      o.t,
      users.firstSeen[o.user]!,
      users.transitions.get(`${o.user}/${o.channel}`) ?? [],
      // A push's quarter is all its row needs (optOutExposure): its first instant stands for it.
      (pushQuarters.get(o.user) ?? []).map((q) => q * QUARTER_MS),
    ),
  }));
}
