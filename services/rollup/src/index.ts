// services/rollup: the exposure rollup (SPEC 5.1 exposure; docs/insights.md
// "Exposure"). `startRollup` wires the pieces; main.ts runs it as a process.
// One instance is enough; two write the same rows (harmless, wasted work).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clickhouseConnection, createClickHouseClient } from '@optout/clickhouse';
import { createLogger, createRegistry, type Logger, startProbeServer } from '@optout/observability';
import type { RollupConfig } from './config.ts';
import { RollupLoop } from './loop.ts';
import { createRollupMetrics } from './metrics.ts';

export { loadRollupConfig, type RollupConfig, rollupShape } from './config.ts';
export { listApps, rollupApp, rollupUntilSettled } from './loop.ts';
export { AppRollup, type RollupOptions, type StepOutcome } from './rollup.ts';

export interface RollupHandle {
  port: number;
  logger: Logger;
  stop(): Promise<void>;
}

export async function startRollup(config: RollupConfig): Promise<RollupHandle> {
  const logger = createLogger('rollup', config.LOG_LEVEL);
  const registry = createRegistry('rollup');
  const metrics = createRollupMetrics(registry);
  const clickhouse = createClickHouseClient({
    ...clickhouseConnection(config),
    database: config.CLICKHOUSE_DATABASE,
    application: 'optout-rollup',
    // A step reads a month of pushes: minutes at the scale of millions of users.
    requestTimeoutMs: 30 * 60_000,
    logger,
  });
  const loop = new RollupLoop(
    clickhouse,
    {
      intervalMs: config.EXPOSURE_ROLLUP_INTERVAL_MS,
      lagMs: config.EXPOSURE_ROLLUP_LAG_MS,
      quietMs: config.EXPOSURE_ROLLUP_QUIET_MS,
      maxDelayMs: config.EXPOSURE_ROLLUP_MAX_DELAY_MS,
      chunkDays: config.EXPOSURE_ROLLUP_CHUNK_DAYS,
    },
    logger,
    metrics,
  );
  const server: Server = await startProbeServer(config.HTTP_HOST, config.HTTP_PORT, registry, {
    healthy: () => {
      // A step over a month of a large app can take minutes; a loop silent for 30 is stuck.
      const silentMs = Date.now() - loop.lastTickAt;
      return { ok: silentMs < 30 * 60_000, detail: { loop_silent_ms: silentMs } };
    },
    ready: async () => {
      const clickhouseUp = await clickhouse.ping().then(
        (r) => r.success,
        () => false,
      );
      return { ok: clickhouseUp, detail: { clickhouse: clickhouseUp } };
    },
  });
  loop.start();
  logger.info({ event: 'rollup_started', port: (server.address() as AddressInfo).port }, 'rollup running');
  return {
    port: (server.address() as AddressInfo).port,
    logger,
    async stop() {
      await loop.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await clickhouse.close();
      logger.info({ event: 'rollup_stopped' }, 'rollup stopped');
    },
  };
}
