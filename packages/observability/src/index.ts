// Logger and metrics registry shared by every service. Logs are JSON, one line
// per event (pino); metrics are Prometheus (prom-client), one registry per process.
import { type Logger, pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';

export { type Probes, startProbeServer } from './probes.ts';
export type { Logger };

/** Header and field names that may carry secrets; pino replaces them with [redacted]. */
const REDACT = ['req.headers.authorization', 'headers.authorization', 'authorization', 'apiKey', 'key'];

export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    name: service,
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
