// Prometheus metrics of the rollup (SPEC 6): what each step did, how long it
// took, and how far behind the wall clock each app's rows are.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createRollupMetrics(registry: Registry) {
  const registers = [registry];
  return {
    steps: new Counter({
      name: 'optout_rollup_steps_total',
      help: 'Rollup steps per kind (build, forward, resweep, postponed, idle)',
      labelNames: ['kind'],
      registers,
    }),
    failures: new Counter({
      name: 'optout_rollup_failures_total',
      help: 'Steps that failed (retried at the next interval, with backoff)',
      registers,
    }),
    stepSeconds: new Histogram({
      name: 'optout_rollup_step_duration_seconds',
      help: 'Time of a step that swept, from reading to the status written',
      labelNames: ['kind'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    instants: new Counter({
      name: 'optout_rollup_instants_total',
      help: 'Quarter-hour instants swept (4 histogram rows each)',
      registers,
    }),
    optOutRows: new Counter({
      name: 'optout_rollup_optout_rows_total',
      help: 'Opt-out rows written, and tombstones',
      labelNames: ['row'],
      registers,
    }),
    behind: new Gauge({
      name: 'optout_rollup_behind_seconds',
      help: 'How far behind the wall clock the swept instants of an app are',
      labelNames: ['app'],
      registers,
    }),
  };
}

export type RollupMetrics = ReturnType<typeof createRollupMetrics>;
