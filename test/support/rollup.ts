// The exposure rollup (services/rollup) run in-process on a test database until
// every app is swept up to its lag and every mark is taken into account: what
// `npm run rollup` gets to within seconds, every EXPOSURE_ROLLUP_INTERVAL_MS.
import {
  AppRollup,
  listApps,
  type RollupOptions,
  rollupApp,
  rollupUntilSettled,
} from '../../services/rollup/src/index.ts';
import { writerClient } from './clickhouse.ts';

/** Takes marks into account after 1 s (10 s in production: several servers, views in any order). */
export const TEST_ROLLUP: RollupOptions = {
  lagMs: 120_000,
  quietMs: 0,
  maxDelayMs: 0,
  chunkDays: 30,
  markSlackMs: 1000,
};

export async function settleRollup(database: string, options: Partial<RollupOptions> = {}): Promise<void> {
  const client = writerClient(database);
  try {
    for (const appId of await listApps(client))
      await rollupUntilSettled(client, appId, { ...TEST_ROLLUP, ...options });
  } finally {
    await client.close();
  }
}

/**
 * The rollup running beside a load, as `npm run rollup` would: a pass over the
 * apps, a pause, again, until stopped. It sweeps data that is still arriving,
 * so its rows go stale and its marks must say so.
 */
export function rollupAlongside(
  database: string,
  options: Partial<RollupOptions> = {},
): { stop(): Promise<void> } {
  const client = writerClient(database);
  let stopped = false;
  const rollups = new Map<string, AppRollup>();
  const running = (async () => {
    while (!stopped) {
      for (const appId of await listApps(client)) {
        if (stopped) break;
        const rollup = rollups.get(appId) ?? new AppRollup(client, appId, { ...TEST_ROLLUP, ...options });
        rollups.set(appId, rollup);
        await rollupApp(rollup, undefined, () => stopped);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      await client.close();
    },
  };
}
