// Prometheus metrics of the query service (SPEC 6): HTTP latency by route and
// status on top of the default process metrics.
import { createRegistry } from '@optout/observability';
import { Histogram, type Registry } from 'prom-client';

export interface QueryMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
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
  return { registry, httpDuration };
}
