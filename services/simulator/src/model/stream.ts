// The simulation as one endless, time-ordered stream of events, generated lazily
// one day at a time and handed out in batches: `history()` is everything before
// `endMs` (the backfill), `continuation()` what happens after (the live trickle).
import type { InputEvent } from '@optout/events';
import { type Behaviour, DAY_MS, DEFAULT_BEHAVIOUR } from './behaviour.ts';
import { simulateDay } from './day.ts';
import { createRng, type Rng } from './rng.ts';
import { buildWorld, type World } from './world.ts';

export interface SimulationOptions {
  seed: number;
  /** Number of apps (tenants). */
  apps: number;
  /** Users in total, spread over the apps. */
  users: number;
  /** Campaigns per app. */
  campaigns: number;
  /** Full days of history before the day of `endMs`. */
  days: number;
  /** The history ends here (exclusive), epoch ms. Same seed and same endMs: same events. */
  endMs: number;
  behaviour?: Partial<Behaviour>;
}

export interface SimulationProgress {
  /** Days simulated so far, and the history's length in days (the partial last day included). */
  day: number;
  historyDays: number;
  events: number;
}

export function dayFloor(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export class Simulation {
  readonly world: World;
  readonly startMs: number;
  readonly endMs: number;
  readonly behaviour: Behaviour;
  private readonly rng: Rng;
  private readonly idPrefix: string;
  private nextDay = 0;
  private seq = 0;
  /** Events generated for a later day than the one that produced them (late opt-outs past midnight). */
  private carry: InputEvent[] = [];
  /** The part of the last history day after endMs, waiting for `continuation()`. */
  private rest: InputEvent[] = [];
  private historyDone = false;

  constructor(readonly options: SimulationOptions) {
    validateOptions(options);
    this.world = buildWorld(options);
    this.behaviour = { ...DEFAULT_BEHAVIOUR, ...options.behaviour };
    this.startMs = dayFloor(options.endMs) - options.days * DAY_MS;
    this.endMs = options.endMs;
    this.rng = createRng(options.seed);
    // Ids are unique per (seed, first day): two runs over different periods never share an id.
    this.idPrefix = `ev${options.seed.toString(36)}-${(this.startMs / DAY_MS).toString(36)}-`;
  }

  get progress(): SimulationProgress {
    return { day: this.nextDay, historyDays: this.options.days + 1, events: this.seq };
  }

  /** The next simulated day's events, in time order, with ids. */
  private day(): InputEvent[] {
    const day = this.nextDay++;
    const dayStart = this.startMs + day * DAY_MS;
    const dayEnd = dayStart + DAY_MS;
    const generated = simulateDay(this.world, day, dayStart, this.rng.fork(`day-${day}`), this.behaviour);
    let events = generated;
    if (this.carry.length > 0) {
      events = this.carry.concat(generated).sort((x, y) => x.event.occurred_at - y.event.occurred_at);
      this.carry = [];
    }
    // Events past midnight belong to tomorrow's stream (keeps the stream in time order).
    let cut = events.length;
    while (cut > 0 && events[cut - 1]!.event.occurred_at >= dayEnd) cut--;
    if (cut < events.length) {
      this.carry = events.slice(cut);
      events = events.slice(0, cut);
    }
    for (const input of events) input.event.event_id = this.idPrefix + (this.seq++).toString(36);
    return events;
  }

  /** The history (occurred_at < endMs), in time order, in batches of at most `batchSize`. */
  *history(batchSize = 5_000): Generator<InputEvent[]> {
    if (this.historyDone) throw new Error('history() can run only once per Simulation');
    this.historyDone = true;
    while (this.nextDay <= this.options.days) {
      let events = this.day();
      if (this.nextDay > this.options.days) {
        let cut = events.length;
        while (cut > 0 && events[cut - 1]!.event.occurred_at >= this.endMs) cut--;
        this.rest = events.slice(cut);
        events = events.slice(0, cut);
      }
      yield* inBatches(events, batchSize);
    }
  }

  /**
   * What happens after the history, forever, in time order (simulated time: the
   * caller decides when to send and may re-stamp the events). Runs the history
   * first (discarding it) if it was not consumed.
   */
  *continuation(batchSize = 1_000): Generator<InputEvent[]> {
    if (!this.historyDone) for (const _ of this.history(batchSize)) void _;
    if (this.rest.length > 0) {
      const rest = this.rest;
      this.rest = [];
      yield* inBatches(rest, batchSize);
    }
    for (;;) yield* inBatches(this.day(), batchSize);
  }
}

function* inBatches<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

export class SimulationOptionsError extends Error {
  override name = 'SimulationOptionsError';
}

function validateOptions(o: SimulationOptions): void {
  const problems: string[] = [];
  const intIn = (name: keyof SimulationOptions, min: number, max: number) => {
    const value = o[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer in ${min}..${max} (got ${String(value)})`);
    }
  };
  intIn('seed', 0, 2 ** 32 - 1);
  intIn('apps', 1, 1000);
  intIn('users', 1, 10_000_000);
  intIn('campaigns', 0, 1000);
  intIn('days', 0, 3660);
  if (!Number.isFinite(o.endMs) || o.endMs < Date.UTC(2000, 0, 1))
    problems.push('endMs must be a time after 2000');
  if (o.users < o.apps) problems.push(`users (${o.users}) must be at least apps (${o.apps})`);
  if (problems.length > 0) throw new SimulationOptionsError(problems.join('; '));
}
