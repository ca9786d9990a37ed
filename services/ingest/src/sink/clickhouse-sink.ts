// Writes rows to ClickHouse, retrying with exponential backoff for as long as it
// takes (ClickHouse down = the pipeline pauses, SPEC 6) unless the pipeline is
// stopping. Rows are never dropped: the caller commits offsets only after this
// returns, and a stop abandons the batch uncommitted (it is redelivered).
import type { ClickHouseClient } from '@optout/clickhouse';
import type { Logger } from '@optout/observability';
import type { IngestMetrics } from '../metrics.ts';

export class SinkStoppedError extends Error {
  override name = 'SinkStoppedError';
}

export interface SinkOptions {
  client: ClickHouseClient;
  logger: Logger;
  metrics: IngestMetrics;
  /** True once the service is shutting down: stop retrying. */
  stopping: () => boolean;
  /** Called between retries, e.g. the consumer heartbeat, so the group keeps us. */
  onRetry?: () => Promise<void>;
  maxBackoffMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ClickHouseSink {
  constructor(private readonly options: SinkOptions) {}

  async insert(
    table: string,
    rows: readonly Record<string, unknown>[],
    onRetry?: () => Promise<void>,
  ): Promise<void> {
    if (rows.length === 0) return;
    const { client, logger, metrics, stopping } = this.options;
    const maxBackoff = this.options.maxBackoffMs ?? 10_000;
    for (let attempt = 0; ; attempt++) {
      const timer = metrics.insertSeconds.startTimer({ table });
      try {
        await client.insert({ table, values: rows as Record<string, unknown>[], format: 'JSONEachRow' });
        timer();
        metrics.insertRows.inc({ table }, rows.length);
        if (attempt > 0)
          logger.info(
            { event: 'clickhouse_insert_recovered', table, attempts: attempt + 1 },
            'insert succeeded after retries',
          );
        return;
      } catch (error) {
        if (stopping()) throw new SinkStoppedError(`stopping while inserting into ${table}`);
        metrics.insertRetries.inc({ table });
        const backoff = Math.min(maxBackoff, 100 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
        logger.warn(
          {
            event: 'clickhouse_insert_failed',
            table,
            rows: rows.length,
            attempt: attempt + 1,
            backoff_ms: Math.round(backoff),
            err: error,
          },
          'insert failed; retrying',
        );
        await (onRetry ?? this.options.onRetry)?.().catch(() => {});
        await sleep(backoff);
      }
    }
  }
}
