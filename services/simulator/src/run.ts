// The two modes of the simulator, shared by the CLI, the demo and the benchmark:
// backfill (history as fast as Kafka takes it) and live (a steady trickle).
import type { InputEvent } from '@optout/events';
import { DAY_MS } from './model/behaviour.ts';
import { type DisorderOptions, NO_DISORDER, withDisorder } from './model/disorder.ts';
import { type SimRecord, withMalformed } from './model/malformed.ts';
import { createRng } from './model/rng.ts';
import type { Simulation } from './model/stream.ts';
import { createProgressBar, formatCount } from './progress.ts';
import type { Sender } from './send.ts';

export interface NoiseOptions {
  disorder: DisorderOptions;
  /** Share of malformed records in the output (0..0.5). */
  malformed: number;
}

export const NO_NOISE: NoiseOptions = { disorder: NO_DISORDER, malformed: 0 };

/** The record stream of `batches` with the configured noise, seeded from the simulation seed. */
export function withNoise(
  batches: Iterable<InputEvent[]>,
  noise: NoiseOptions,
  seed: number,
  label: string,
): Iterable<SimRecord[]> {
  const rng = createRng(seed).fork(`noise-${label}`);
  return withDisorder(
    withMalformed(batches, noise.malformed, rng.fork('malformed')),
    noise.disorder,
    rng.fork('disorder'),
  );
}

export interface BackfillResult {
  events: number;
  malformed: number;
  seconds: number;
}

/**
 * Sends the history as fast as possible. `sender` null = generate only (dry run).
 * `progress` false = no progress bar.
 */
export async function backfill(
  sim: Simulation,
  sender: Sender | null,
  options: { batchSize: number; noise: NoiseOptions; progress?: boolean; signal?: AbortSignal },
): Promise<BackfillResult> {
  const started = performance.now();
  const bar = options.progress === false ? null : createProgressBar('backfill');
  let events = 0;
  let malformed = 0;
  const span = Math.max(1, sim.endMs - sim.startMs);
  let simulatedTo = sim.startMs;
  for (const batch of withNoise(sim.history(options.batchSize), options.noise, sim.options.seed, 'history')) {
    if (options.signal?.aborted) break;
    for (const record of batch) {
      if (record.kind === 'malformed') malformed++;
      else {
        events++;
        if (record.event.occurred_at > simulatedTo) simulatedTo = record.event.occurred_at;
      }
    }
    if (sender) await sender.send(batch);
    if (bar) {
      const seconds = (performance.now() - started) / 1000;
      const day = Math.min(sim.options.days + 1, Math.floor((simulatedTo - sim.startMs) / DAY_MS) + 1);
      bar.update(
        simulatedTo - sim.startMs,
        span,
        `day ${day}/${sim.options.days + 1}  ${formatCount(events)} events  ${formatCount(events / Math.max(seconds, 1e-3))} ev/s`,
      );
    }
  }
  if (sender) await sender.flush();
  const seconds = (performance.now() - started) / 1000;
  bar?.finish(
    `${formatCount(events)} events (+${formatCount(malformed)} malformed) in ${seconds.toFixed(1)}s, ${formatCount(events / Math.max(seconds, 1e-3))} ev/s`,
  );
  return { events, malformed, seconds };
}

export interface LiveOptions {
  /** Events per second. */
  rate: number;
  noise: NoiseOptions;
  /** Stops after this long (ms); undefined = until the signal aborts. */
  durationMs?: number | undefined;
  signal?: AbortSignal;
  /** Called after each tick with the totals so far. */
  onTick?: (totals: { events: number; malformed: number }) => void;
}

/**
 * The live trickle: the simulation goes on after the history and its events are
 * sent at `rate` per second, stamped with the wall clock at sending (simulated
 * time runs faster than real time; the order of each user's story is kept).
 * Their ids get a suffix unique to this run, so they never collide with the
 * same simulated events sent by an earlier live run.
 */
export async function live(
  sim: Simulation,
  sender: Sender | null,
  options: LiveOptions,
): Promise<BackfillResult> {
  const started = Date.now();
  const suffix = `-L${started.toString(36)}`;
  const source = sim.continuation(1_000)[Symbol.iterator]();
  let pending: InputEvent[] = [];
  const take = (n: number): InputEvent[] => {
    while (pending.length < n) {
      const next = source.next();
      if (next.done) break;
      pending = pending.concat(next.value);
    }
    const out = pending.slice(0, n);
    pending = pending.slice(n);
    return out;
  };
  const tickMs = 200;
  let due = 0;
  let lastStamp = 0;
  const totals = { events: 0, malformed: 0 };
  let stopping = false;
  const batches = (function* () {
    while (!stopping) {
      const now = Date.now();
      const elapsed = now - started;
      due = Math.floor((elapsed / 1000) * options.rate) - totals.events;
      const batch = take(Math.max(0, due));
      for (const input of batch) {
        // Monotone wall-clock stamps: same-millisecond events keep their order.
        lastStamp = Math.max(lastStamp, now);
        input.event.occurred_at = lastStamp;
        input.event.event_id += suffix;
      }
      totals.events += batch.length;
      yield batch;
    }
  })();
  const records = withNoise(batches, options.noise, sim.options.seed, `live-${started}`)[Symbol.iterator]();
  for (;;) {
    // Once stopping, the source ends and the disorder stage hands out what it held back.
    stopping ||=
      options.signal?.aborted === true ||
      (options.durationMs !== undefined && Date.now() - started >= options.durationMs);
    const next = records.next();
    if (next.done) break;
    for (const record of next.value) if (record.kind === 'malformed') totals.malformed++;
    if (sender && next.value.length > 0) await sender.send(next.value);
    options.onTick?.(totals);
    if (!stopping) await sleep(tickMs, options.signal);
  }
  if (sender) await sender.flush();
  return { events: totals.events, malformed: totals.malformed, seconds: (Date.now() - started) / 1000 };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
