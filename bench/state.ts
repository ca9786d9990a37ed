// (c) State bytes per active user, measured directly: a realistic history from
// the simulator is applied, as ingest applies it, to ingest's own
// PartitionState in this process, with a forced garbage collection before and
// after, so the figure is the state itself (not kafkajs buffers or garbage).
//
// What ingest keeps per user (services/ingest/src/state/): the consent index
// (time, channel, status of every consent change) and, for recent opt-outs,
// their first activity after. Events themselves are not held: facts are
// recomputed from ClickHouse. Users without consent changes cost nothing.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { keyHash } from '@optout/kafka';
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
  const active = new Set<string>();
  let events = 0;
  let state: PartitionState | null = new PartitionState(0);
  for (const batch of simulation.history(10_000)) {
    for (const input of batch) {
      events++;
      const key = `${input.event.app_id}:${input.event.user_id}`;
      active.add(key);
      if (input.kind !== 'consentChange') continue;
      const hash = keyHash(key);
      const { channel, status, occurred_at } = input.event;
      state.index.add(hash, occurred_at, channel, status);
      // Ingest remembers the first activity of every opt-out it recomputed.
      if (status === 'OPTED_OUT')
        state.rememberFirstActivity(hash, channel, occurred_at, occurred_at + 3_600_000);
    }
  }
  // The set of active users is the bench's own bookkeeping, not state: emptied before measuring.
  const users = active.size;
  active.clear();
  const held = state.index.users;
  // The state's size is what the heap loses when the state is let go.
  const withState = settledHeap();
  state = null;
  const bytes = withState - settledHeap();
  return { bytes, users, events, held };
}

export async function benchState(options: {
  users: number;
  days: number;
  runs: number;
}): Promise<SectionResult> {
  const perUser: number[] = [];
  const perEvent: number[] = [];
  const perHeldUser: number[] = [];
  let users = 0;
  let events = 0;
  let held = 0;
  for (let run = 0; run < options.runs; run++) {
    // One run per call, so nothing of the previous run is reachable when measuring.
    const result = measureOnce(7 + run, options);
    users = result.users;
    events = result.events;
    held = result.held;
    perUser.push(result.bytes / users);
    perEvent.push(result.bytes / events);
    perHeldUser.push(result.bytes / Math.max(1, held));
  }
  const on = `${users.toLocaleString('en')} active users, ${events.toLocaleString('en')} events (${(events / users).toFixed(0)} per user, ${options.days} days of simulated history), ${held.toLocaleString('en')} users with consent changes held, median of ${options.runs} runs`;
  return {
    section: 'state',
    status: 'ok',
    figures: [
      {
        name: 'state bytes per active user',
        value: median(perUser),
        unit: 'bytes',
        measured: `V8 heap with the state minus without it (forced GC), / active users; ${on}`,
      },
      {
        name: 'state bytes per event held',
        value: median(perEvent),
        unit: 'bytes',
        measured: `same, / events applied (events are not held: facts are recomputed from ClickHouse); ${on}`,
      },
      {
        name: 'state bytes per user with consent changes',
        value: median(perHeldUser),
        unit: 'bytes',
        measured: `same, / users in the consent index; ${on}`,
      },
    ],
    details: { users, events, held, perUser, perEvent, perHeldUser },
  };
}
