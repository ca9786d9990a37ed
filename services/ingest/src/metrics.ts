// Prometheus metrics of the ingest service (SPEC 6): a counter wherever a record
// can be dead-lettered, deduplicated or arrive late; a histogram where time goes.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createIngestMetrics(registry: Registry) {
  const registers = [registry];
  return {
    recordsIn: new Counter({
      name: 'optout_ingest_records_in_total',
      help: 'Records fetched, per topic',
      labelNames: ['topic'],
      registers,
    }),
    decoded: new Counter({
      name: 'optout_ingest_records_decoded_total',
      help: 'Records decoded and valid, per topic',
      labelNames: ['topic'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'optout_ingest_records_dead_lettered_total',
      help: 'Records sent to the dead-letter topic, per topic and reason',
      labelNames: ['topic', 'reason'],
      registers,
    }),
    late: new Counter({
      name: 'optout_ingest_records_late_total',
      help: 'Records older than an event of the same user seen before (out of order): they may correct facts',
      labelNames: ['topic'],
      registers,
    }),
    duplicates: new Counter({
      name: 'optout_ingest_records_duplicate_total',
      help: 'Records whose event_id was already held (redeliveries): ignored',
      labelNames: ['topic'],
      registers,
    }),
    lag: new Gauge({
      name: 'optout_ingest_consumer_lag',
      help: 'Records behind the high watermark, per partition',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'optout_ingest_batch_records',
      help: 'Records per processed batch',
      buckets: [1, 10, 100, 500, 1000, 5000, 10000, 50000],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'optout_ingest_batch_duration_seconds',
      help: 'Time to process a batch, from fetch to committed offsets',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    insertRows: new Counter({
      name: 'optout_clickhouse_insert_rows_total',
      help: 'Rows inserted into ClickHouse, per table',
      labelNames: ['table'],
      registers,
    }),
    insertSeconds: new Histogram({
      name: 'optout_clickhouse_insert_duration_seconds',
      help: 'ClickHouse insert latency, per table',
      labelNames: ['table'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    insertRetries: new Counter({
      name: 'optout_clickhouse_insert_retries_total',
      help: 'Failed inserts that were retried',
      labelNames: ['table'],
      registers,
    }),
    factsWritten: new Counter({
      name: 'optout_ingest_facts_written_total',
      help: 'Fact rows written, per table',
      labelNames: ['table'],
      registers,
    }),
    restoreSeconds: new Histogram({
      name: 'optout_ingest_restore_duration_seconds',
      help: 'Time to restore the state of an assigned partition',
      buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers,
    }),
    erasures: new Counter({
      name: 'optout_ingest_erasures_total',
      help: 'User erasures carried out',
      registers,
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/** Users and events held in state, summed on scrape only (never on the hot path). */
export function registerStateGauges(
  registry: Registry,
  stats: () => { users: number; events: number },
): void {
  new Gauge({
    name: 'optout_ingest_state_users',
    help: 'Users held in per-user state',
    registers: [registry],
    collect() {
      this.set(stats().users);
    },
  });
  new Gauge({
    name: 'optout_ingest_state_events',
    help: 'Events held in per-user state',
    registers: [registry],
    collect() {
      this.set(stats().events);
    },
  });
}
