// The rollup's loop: every interval, a step for each app (repeated while an
// app is more than a chunk behind); a failure is logged and the next tick
// comes after a backoff that doubles up to a minute. Apps are those with users
// (user_first_seen), listed again every minute.
import type { ClickHouseClient } from '@clickhouse/client';
import { sql } from '@optout/clickhouse';
import { QUARTER_MS } from '@optout/events';
import type { Logger } from '@optout/observability';
import { dropOldMarks } from './housekeeping.ts';
import type { RollupMetrics } from './metrics.ts';
import { AppRollup, type RollupOptions, type StepOutcome } from './rollup.ts';

const APPS_TTL_MS = 60_000;
const MARKS_CLEANUP_MS = 3_600_000;
const MAX_BACKOFF_MS = 60_000;

export interface LoopOptions extends RollupOptions {
  intervalMs: number;
}

export async function listApps(client: ClickHouseClient): Promise<string[]> {
  const result = await client.query({
    query: 'SELECT DISTINCT app_id FROM user_first_seen ORDER BY app_id',
    format: 'JSONEachRow',
  });
  return (await result.json<{ app_id: string }>()).map((r) => r.app_id);
}

/** Steps until the app is not behind: what the loop does for each app, and what tests and the bench call. */
export async function rollupApp(
  rollup: AppRollup,
  onStep: (outcome: StepOutcome, seconds: number) => void = () => {},
  stopping: () => boolean = () => false,
): Promise<StepOutcome> {
  for (;;) {
    const started = performance.now();
    const outcome = await rollup.step();
    onStep(outcome, (performance.now() - started) / 1000);
    if (!outcome.behind || stopping()) return outcome;
  }
}

/**
 * Steps until the app is swept up to its lag and every mark written so far is
 * taken into account (marks_through past the last one): what tests and the
 * bench wait for after loading data. A mark waits `markSlackMs` first.
 */
export async function rollupUntilSettled(
  client: ClickHouseClient,
  appId: string,
  options: RollupOptions,
  timeoutMs = 600_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const rollup = new AppRollup(client, appId, options);
  for (;;) {
    await rollupApp(rollup);
    const result = await client.query({
      query: sql`SELECT count() AS waiting FROM exposure_marks
                 WHERE app_id = ${appId} AND marked_at >= (
                   SELECT argMax(marks_through, version) FROM exposure_rollups WHERE app_id = ${appId})`.text,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ waiting: string }>();
    if (Number(row?.waiting) === 0) return;
    if (Date.now() > deadline) throw new Error(`the rollup of ${appId} left ${row?.waiting} marks waiting`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export class RollupLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;
  private apps: { list: string[]; at: number } = { list: [], at: 0 };
  /** Each app's rollup, with the sweep it keeps between ticks. */
  private readonly rollups = new Map<string, AppRollup>();
  private marksCleanedAt = 0;
  /** When the last tick ended (a healthy loop ticks every interval). */
  lastTickAt = Date.now();

  constructor(
    private readonly client: ClickHouseClient,
    private readonly options: LoopOptions,
    private readonly logger: Logger,
    private readonly metrics: RollupMetrics,
  ) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    try {
      if (Date.now() - this.apps.at > APPS_TTL_MS)
        this.apps = { list: await listApps(this.client), at: Date.now() };
      for (const appId of this.apps.list) {
        if (this.stopped) break;
        let rollup = this.rollups.get(appId);
        if (!rollup) {
          rollup = new AppRollup(this.client, appId, this.options);
          this.rollups.set(appId, rollup);
        }
        await rollupApp(
          rollup,
          (outcome, seconds) => this.record(appId, outcome, seconds),
          () => this.stopped,
        );
      }
      if (Date.now() - this.marksCleanedAt > MARKS_CLEANUP_MS) {
        const dropped = await dropOldMarks(this.client);
        this.marksCleanedAt = Date.now();
        if (dropped > 0)
          this.logger.info({ event: 'rollup_marks_dropped', days: dropped }, 'old marks dropped');
      }
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.metrics.failures.inc();
      this.logger.warn(
        { event: 'rollup_step_failed', err, failures: this.failures },
        'rollup step failed; retrying',
      );
    } finally {
      this.lastTickAt = Date.now();
      const backoff = this.failures === 0 ? 0 : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.failures - 1));
      this.schedule(Math.max(this.options.intervalMs, backoff));
    }
  }

  private record(appId: string, outcome: StepOutcome, seconds: number): void {
    this.metrics.steps.inc({ kind: outcome.kind });
    if (outcome.computedThrough !== null)
      this.metrics.behind.set({ app: appId }, (Date.now() - outcome.computedThrough * QUARTER_MS) / 1000);
    if (outcome.instants === undefined) return;
    this.metrics.stepSeconds.observe({ kind: outcome.kind }, seconds);
    this.metrics.instants.inc(outcome.instants);
    this.metrics.optOutRows.inc({ row: 'opt_out' }, outcome.optOuts ?? 0);
    this.metrics.optOutRows.inc({ row: 'tombstone' }, outcome.tombstones ?? 0);
    this.logger.info(
      {
        event: 'rollup_swept',
        app_id: appId,
        kind: outcome.kind,
        instants: outcome.instants,
        opt_outs: outcome.optOuts,
        tombstones: outcome.tombstones,
        seconds: Math.round(seconds * 1000) / 1000,
        ...outcome.timings,
        through: new Date(outcome.computedThrough! * QUARTER_MS).toISOString(),
      },
      'exposure rollup swept',
    );
  }
}
