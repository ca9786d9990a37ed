// Delivery disorder, applied to a stream of batches: some events are held back
// and delivered a few batches later (out of order, across topics), some are
// delivered twice (same event_id). The SET of events never changes: a held-back
// event is always delivered, at the latest when the stream ends.
import type { Rng } from './rng.ts';

export interface DisorderOptions {
  /** Share of events delivered late (0..1). */
  outOfOrder: number;
  /** Share of events delivered a second time, later (0..1). */
  duplicates: number;
  /** A late event or a duplicate is delivered 1..maxDelayBatches batches later. */
  maxDelayBatches: number;
}

export const NO_DISORDER: DisorderOptions = { outOfOrder: 0, duplicates: 0, maxDelayBatches: 3 };

export function hasDisorder(o: DisorderOptions): boolean {
  return o.outOfOrder > 0 || o.duplicates > 0;
}

/** Re-orders and duplicates the items of `batches` lazily; memory is bounded by maxDelayBatches batches. */
export function* withDisorder<T>(batches: Iterable<T[]>, o: DisorderOptions, rng: Rng): Generator<T[]> {
  if (!hasDisorder(o)) {
    yield* batches;
    return;
  }
  const maxDelay = Math.max(1, Math.floor(o.maxDelayBatches));
  // held[k] = items due k+1 batches from now.
  const held: T[][] = Array.from({ length: maxDelay }, () => []);
  const hold = (item: T) => held[rng.int(maxDelay)]!.push(item);
  for (const batch of batches) {
    const out = held.shift()!;
    held.push([]);
    for (const item of batch) {
      if (rng.chance(o.outOfOrder)) hold(item);
      else out.push(item);
      if (rng.chance(o.duplicates)) hold(item);
    }
    if (out.length > 0) yield out;
  }
  for (const rest of held) if (rest.length > 0) yield rest;
}
