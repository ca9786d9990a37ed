// Every ClickHouse call of ingest, retried with exponential backoff for as long
// as it takes (ClickHouse down = the pipeline pauses, SPEC 6), unless the
// service is stopping or the round was fenced (its heartbeat says the group
// moved on). Rows are never dropped: the round commits its offsets only after
// these calls return, and an abandoned round is redelivered.
import {
  type ClickHouseClient,
  insertTsv,
  type SqlFragment,
  type TableSpec,
  type TsvRows,
} from '@optout/clickhouse';
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
  maxBackoffMs?: number;
}

/** Called between retries (the consumer heartbeat); throws when the round must be abandoned. */
export type Heartbeat = () => Promise<void>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ClickHouseSink {
  constructor(private readonly o: SinkOptions) {}

  get client(): ClickHouseClient {
    return this.o.client;
  }

  /** Runs `work` until it succeeds (see above); for calls that are not a plain insert/select/command. */
  async retrying<T>(label: string, heartbeat: Heartbeat | undefined, work: () => Promise<T>): Promise<T> {
    const { logger, metrics, stopping } = this.o;
    const maxBackoff = this.o.maxBackoffMs ?? 10_000;
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await work();
        if (attempt > 0)
          logger.info(
            { event: 'clickhouse_recovered', operation: label, attempts: attempt + 1 },
            'ClickHouse call succeeded after retries',
          );
        return result;
      } catch (error) {
        if (stopping()) throw new SinkStoppedError(`stopping during ${label}`);
        metrics.clickhouseRetries.inc({ operation: label });
        const backoff = Math.min(maxBackoff, 100 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
        logger.warn(
          {
            event: 'clickhouse_call_failed',
            operation: label,
            attempt: attempt + 1,
            backoff_ms: Math.round(backoff),
            err: error,
          },
          'ClickHouse call failed; retrying',
        );
        await heartbeat?.();
        await sleep(backoff);
      }
    }
  }

  async insert(rows: TsvRows<TableSpec>, heartbeat?: Heartbeat): Promise<void> {
    if (rows.length === 0) return;
    const table = rows.table.name;
    const body = rows.body();
    await this.retrying(`insert ${table}`, heartbeat, async () => {
      const timer = this.o.metrics.insertSeconds.startTimer({ table });
      await insertTsv(this.o.client, rows.table, body);
      timer();
    });
    this.o.metrics.insertRows.inc({ table }, rows.length);
  }

  async select(query: SqlFragment, label: string, heartbeat?: Heartbeat): Promise<Record<string, unknown>[]> {
    return this.retrying(label, heartbeat, async () => {
      const timer = this.o.metrics.querySeconds.startTimer({ query: label });
      const result = await this.o.client.query({ query: query.text, format: 'JSONEachRow' });
      const rows = await result.json<Record<string, unknown>>();
      timer();
      return rows;
    });
  }

  async command(query: SqlFragment, label: string, heartbeat?: Heartbeat): Promise<void> {
    await this.retrying(label, heartbeat, () => this.o.client.command({ query: query.text }).then(() => {}));
  }
}
