// The exposure rollup (services/rollup) run in-process on a test database until
// every app is swept up to its lag and every mark is taken into account: what
// `npm run rollup` gets to within seconds, every EXPOSURE_ROLLUP_INTERVAL_MS.

import type { ClickHouseClient } from '@optout/clickhouse';
import {
  AppRollup,
  listApps,
  type RollupOptions,
  rollupApp,
  rollupUntilSettled,
} from '../../services/rollup/src/index.ts';

/** Takes marks into account after 1 s (10 s in production: several servers, views in any order). */
export const TEST_ROLLUP: RollupOptions = {
  lagMs: 120_000,
  quietMs: 0,
  maxDelayMs: 0,
  chunkDays: 30,
  markSlackMs: 1000,
};

/** `client`: a writer of the pipeline's database (on the cluster, one that knows the cluster). */
export async function settleRollup(
  client: ClickHouseClient,
  options: Partial<RollupOptions> = {},
): Promise<void> {
  for (const appId of await listApps(client))
    await rollupUntilSettled(client, appId, { ...TEST_ROLLUP, ...options });
}

/**
 * The rollup running beside a load, as `npm run rollup` would: a pass over the
 * apps, a pause, again, until stopped; a pass that fails (a server restarted
 * by a fault test) is tried again, as the service's loop does. It sweeps data
 * that is still arriving, so its rows go stale and its marks must say so.
 */
export function rollupAlongside(
  client: ClickHouseClient,
  options: Partial<RollupOptions> = {},
): { stop(): Promise<void> } {
  let stopped = false;
  const rollups = new Map<string, AppRollup>();
  // Failed passes are expected while a fault test has a server down, but a
  // pass that fails for another reason would otherwise only surface in the
  // final settle (as code 288 did): each distinct message is printed at stop.
  const failures = new Map<string, number>();
  const running = (async () => {
    while (!stopped) {
      try {
        for (const appId of await listApps(client)) {
          if (stopped) break;
          const rollup = rollups.get(appId) ?? new AppRollup(client, appId, { ...TEST_ROLLUP, ...options });
          rollups.set(appId, rollup);
          await rollupApp(rollup, undefined, () => stopped);
        }
      } catch (error) {
        // The service logs it and tries again after a backoff; so does this.
        const message = error instanceof Error ? error.message : String(error);
        failures.set(message, (failures.get(message) ?? 0) + 1);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      for (const [message, count] of failures)
        console.warn(`the rollup beside the load failed ${count} pass(es): ${message}`);
    },
  };
}
