// (c) State bytes per active user, measured directly: a realistic history from
// the simulator is applied to the ingest's own PartitionState in this process,
// with a forced garbage collection before and after, so the figure is the
// state itself (not kafkajs buffers or garbage awaiting collection).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PartitionState } from '../services/ingest/src/state/partition-state.ts';
import { Simulation } from '../services/simulator/src/index.ts';
import type { SectionResult } from './common.ts';
import { median } from './stats.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settledHeap(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

function measureOnce(seed: number, options: { users: number; days: number }) {
  const simulation = new Simulation({
    seed,
    apps: 3,
    users: options.users,
    campaigns: 12,
    days: options.days,
    endMs: Date.now(),
  });
  // Events are generated batch by batch and dropped once applied, as in ingest:
  // after the last collection only the state (and what it retains) is left.
  const before = settledHeap();
  const state = new PartitionState(0);
  for (const batch of simulation.history(10_000)) for (const input of batch) state.apply(input);
  const bytes = settledHeap() - before;
  return { bytes, users: state.users.size, events: state.eventCount() };
}

export async function benchState(options: {
  users: number;
  days: number;
  runs: number;
}): Promise<SectionResult> {
  const perUser: number[] = [];
  const perEvent: number[] = [];
  let users = 0;
  let events = 0;
  for (let run = 0; run < options.runs; run++) {
    // One run per call, so nothing of the previous run is reachable when measuring.
    const result = measureOnce(7 + run, options);
    users = result.users;
    events = result.events;
    perUser.push(result.bytes / users);
    perEvent.push(result.bytes / events);
  }
  const on = `${users.toLocaleString('en')} users, ${events.toLocaleString('en')} events held (${(events / users).toFixed(0)} per user, ${options.days} days of simulated history), median of ${options.runs} runs`;
  return {
    section: 'state',
    status: 'ok',
    figures: [
      {
        name: 'state bytes per active user',
        value: median(perUser),
        unit: 'bytes',
        measured: `V8 heap after minus before (forced GC), / users; ${on}`,
      },
      {
        name: 'state bytes per event held',
        value: median(perEvent),
        unit: 'bytes',
        measured: `same, / events held; ${on}`,
      },
    ],
    details: { users, events, perUser, perEvent },
  };
}
