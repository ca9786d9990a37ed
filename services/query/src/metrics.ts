// Prometheus metrics of the query service (SPEC 6): HTTP latency by route and
// status, and what the load limits refuse, on top of the default process metrics.
import { createRegistry } from '@optout/observability';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Why a request was refused by a load limit (docs/decisions.md, "Load limits").
 * A closed set, so the label cannot grow with traffic.
 */
export const REJECTION_REASONS = [
  'rate_limit',
  'key_concurrency',
  'key_exports',
  'clickhouse_queue_full',
  'clickhouse_queue_timeout',
  'overload_event_loop_delay',
  'overload_heap_used',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export interface QueryMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  rejections: Counter<'reason'>;
  clickhouseRunning: Gauge;
  clickhouseQueued: Gauge;
  exposureDays: Counter<'source'>;
}

export function createQueryMetrics(): QueryMetrics {
  const registry = createRegistry('query');
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'query_requests_rejected_total',
    help: 'API requests refused by a load limit (429 or 503), by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  // Every reason from 0, so a dashboard's rate() has a series before the first refusal.
  for (const reason of REJECTION_REASONS) rejections.inc({ reason }, 0);
  const clickhouseRunning = new Gauge({
    name: 'query_clickhouse_queries_running',
    help: 'ClickHouse queries of this service running now (capped by CLICKHOUSE_MAX_CONCURRENT_QUERIES)',
    registers: [registry],
  });
  const clickhouseQueued = new Gauge({
    name: 'query_clickhouse_queries_queued',
    help: 'ClickHouse queries waiting for a slot (at most CLICKHOUSE_QUEUE_SIZE)',
    registers: [registry],
  });
  const exposureDays = new Counter({
    name: 'query_exposure_days_total',
    help: "Days of exposure answers, by where they came from: the rollup's rows, or the raw events (exact, slow at scale)",
    labelNames: ['source'] as const,
    registers: [registry],
  });
  for (const source of ['rollup', 'exact']) exposureDays.inc({ source }, 0);
  return { registry, httpDuration, rejections, clickhouseRunning, clickhouseQueued, exposureDays };
}

/** Counts one refusal; the reason is one of a fixed set. */
export function countRejection(metrics: QueryMetrics, reason: RejectionReason): void {
  metrics.rejections.inc({ reason });
}
