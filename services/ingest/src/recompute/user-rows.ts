// Which consent records of a user must be (re)written after a round, and their
// rows: a fact row for an opt-out, a plain row for an opt-in, a tombstone for a
// record that is not (or no longer) a transition. Pure: computed from the user's
// durable history, read back from ClickHouse after the round's raw events were
// written, so a row never depends on what this process happens to remember.
//
// What a new record can change (the opt-out definition, optout/transitions.ts):
// - a consent change: whether it is a transition, and whether the next record on
//   its channel is (its previous status changed);
// - a push, interaction or app event at e: the facts of opt-outs at t with e in
//   [t - 30d, t + 30d] (optout/facts.ts).
import type { Channel } from '@optout/events';
import { MAX_WINDOW_MS } from '@optout/events';
import { eventsAround, type OptOutFacts, optOutFacts, type UserEvents } from '../optout/facts.ts';
import { type ConsentRecord, type TransitionKind, transitionsOf } from '../optout/transitions.ts';
import { versionOf } from './versions.ts';

/** What a round changed for one user. */
export interface UserDirt {
  /** Every record must be rewritten (after an erasure deleted the user's facts). */
  all: boolean;
  /** Consent records that arrived this round: they and their successors are rewritten. */
  consentIds: Set<string>;
  /** Opt-outs with t in one of these closed ranges are rewritten. */
  ranges: Array<[number, number]>;
}

export const emptyDirt = (): UserDirt => ({ all: false, consentIds: new Set(), ranges: [] });

export interface TransitionRow {
  channel: Channel;
  record: ConsentRecord;
  /** null: the record is not a transition (a tombstone hides any earlier row of it). */
  kind: TransitionKind | null;
  /** Opt-outs only. */
  facts: OptOutFacts | null;
  version: number;
}

export interface DirtyRecord {
  channel: Channel;
  /** Position in the channel's history (sorted by (t, id)). */
  index: number;
  record: ConsentRecord;
  kind: TransitionKind | null;
}

const inRanges = (t: number, ranges: ReadonlyArray<readonly [number, number]>) =>
  ranges.some(([lo, hi]) => t >= lo && t <= hi);

/** The records of `consent` that `dirt` says to rewrite, with what each one is now. */
export function dirtyRecords(
  consent: ReadonlyMap<Channel, readonly ConsentRecord[]>,
  dirt: UserDirt,
): DirtyRecord[] {
  const out: DirtyRecord[] = [];
  for (const [channel, history] of consent) {
    const kinds = new Map(transitionsOf(history).map((x) => [x.id, x.kind]));
    history.forEach((record, index) => {
      const kind = kinds.get(record.id) ?? null;
      const arrived = dirt.consentIds.has(record.id);
      const afterArrived = index > 0 && dirt.consentIds.has(history[index - 1]!.id);
      const windowChanged = kind === 'OPT_OUT' && inRanges(record.t, dirt.ranges);
      if (dirt.all || arrived || afterArrived || windowChanged) out.push({ channel, index, record, kind });
    });
  }
  return out;
}

/** [t - 30d, t + 30d] of each record: the events its row is computed from. */
export function windowOf(t: number): [number, number] {
  return [t - MAX_WINDOW_MS, t + MAX_WINDOW_MS];
}

/**
 * The rows of the dirty records. `events` must hold every event of the user in
 * the window of each record (windowOf): the caller reads them from ClickHouse.
 */
export function rowsOf(records: readonly DirtyRecord[], events: UserEvents): TransitionRow[] {
  return records.map(({ channel, index, record, kind }) => ({
    channel,
    record,
    kind,
    facts: kind === 'OPT_OUT' ? optOutFacts(events, record.t) : null,
    version: versionOf(index + 1, eventsAround(events, record.t)),
  }));
}
