// Prometheus metrics of the ingest service (SPEC 6): a counter wherever a record
// can be dead-lettered, dropped or arrive late; a histogram where time goes.
import type { RoundFlow } from '@optout/kafka';
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
    deadLetterRetries: new Counter({
      name: 'optout_ingest_dead_letter_send_retries_total',
      help: 'Failed dead-letter sends that were retried',
      registers,
    }),
    dropped: new Counter({
      name: 'optout_ingest_records_dropped_total',
      help: 'Records not processed without a dead letter, per topic and reason (erased: an event of an erased user at or before the erasure)',
      labelNames: ['topic', 'reason'],
      registers,
    }),
    late: new Counter({
      name: 'optout_ingest_records_late_total',
      help: 'Records that arrived after an opt-out or consent change they precede: they corrected facts',
      labelNames: ['topic'],
      registers,
    }),
    lag: new Gauge({
      name: 'optout_ingest_consumer_lag',
      help: 'Records behind the high watermark, per partition',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    roundRecords: new Histogram({
      name: 'optout_ingest_round_records',
      help: 'Records per processed round (the batches of one fetch)',
      buckets: [1, 10, 100, 1000, 5000, 10000, 50000, 100000, 500000],
      registers,
    }),
    roundSeconds: new Histogram({
      name: 'optout_ingest_round_duration_seconds',
      help: 'Time to process a round, from fetch to committed offsets',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    recomputedUsers: new Counter({
      name: 'optout_ingest_recomputed_users_total',
      help: 'Users whose facts were recomputed from the raw events',
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
    querySeconds: new Histogram({
      name: 'optout_clickhouse_query_duration_seconds',
      help: 'ClickHouse read latency of ingest (recompute reads), per query',
      labelNames: ['query'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    clickhouseRetries: new Counter({
      name: 'optout_clickhouse_retries_total',
      help: 'Failed ClickHouse calls that were retried, per operation',
      labelNames: ['operation'],
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
      help: 'Erasure jobs finished, by status (failed: overdue, still waited for)',
      labelNames: ['status'],
      registers,
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/** What the state holds, read on scrape only (never on the hot path). */
export interface StateStats {
  partitions: number;
  /** Partitions whose restore is under way. */
  restoring: number;
  users: number;
  consentChanges: number;
  erasedUsers: number;
  /** Users and events in the partitions' history caches. */
  cachedUsers: number;
  cachedEvents: number;
}

/** A gauge whose value is read from the pipeline when Prometheus scrapes it. */
function readGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/**
 * The pipeline's backpressure: at most two rounds are prepared and not yet
 * committed (packages/kafka, MAX_IN_FLIGHT), each at most one fetch. The time
 * rounds waited for a slot grows when ClickHouse writes, not decoding, set the pace.
 */
export function registerFlowMetrics(registry: Registry, flow: () => RoundFlow): void {
  readGauge(
    registry,
    'optout_ingest_rounds_in_flight',
    'Rounds being prepared or written and not yet committed (at most 2)',
    () => flow().rounds,
  );
  readGauge(
    registry,
    'optout_ingest_records_in_flight',
    'Records of the rounds in flight',
    () => flow().records,
  );
  let reported = 0;
  new Counter({
    name: 'optout_ingest_backpressure_wait_seconds_total',
    help: 'Time fetched rounds waited for the writes of earlier rounds before being prepared',
    registers: [registry],
    collect() {
      const waited = flow().waitedSeconds;
      this.inc(waited - reported);
      reported = waited;
    },
  });
}

export function registerStateGauges(registry: Registry, stats: () => StateStats): void {
  const gauge = (name: string, help: string, read: (s: StateStats) => number) =>
    readGauge(registry, name, help, () => read(stats()));
  gauge('optout_ingest_state_partitions', 'Partitions whose state is held (restored)', (s) => s.partitions);
  gauge('optout_ingest_restoring_partitions', 'Partitions being restored right now', (s) => s.restoring);
  gauge('optout_ingest_state_users', 'Users held in state (users with consent changes)', (s) => s.users);
  gauge(
    'optout_ingest_state_consent_changes',
    'Consent changes held in the consent index',
    (s) => s.consentChanges,
  );
  gauge(
    'optout_ingest_state_erased_users',
    'Erased users in the ledger of held partitions',
    (s) => s.erasedUsers,
  );
}
