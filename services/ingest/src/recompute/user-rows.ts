// Which consent records of a user must be (re)written after a round, and their
// rows: a fact row for an opt-out, a plain row for an opt-in, a tombstone for a
// record that is not (or no longer) a transition. Pure: computed from the user's
// durable history, read back from ClickHouse after the round's raw events were
// written, so a row never depends on what this process happens to remember.
//
// What a new record can change (the opt-out definition, transitions.ts of @optout/events):
// - a consent change: whether it is a transition, and whether the next record on
//   its channel is (its previous status changed); and the next opt-in of the
//   last transition before it on the channel, when that is an opt-out at most
//   30 days earlier (see dirtyRecords);
// - a push, interaction or app event at e: the facts of opt-outs at t with e in
//   [t - 30d, t + 30d] (optout/facts.ts).
import {
  type Channel,
  type ConsentRecord,
  MAX_WINDOW_MS,
  type TransitionKind,
  transitionsOf,
} from '@optout/events';
import { eventsAround, type OptOutFacts, optOutFacts, type UserEvents, upperBound } from '../optout/facts.ts';
import { versionOf } from './versions.ts';

/** What a round changed for one user. */
export interface UserDirt {
  /** Every record must be rewritten (after an erasure deleted the user's facts). */
  all: boolean;
  /**
   * Consent records that arrived this round: they, their successors and the
   * last transition before each (an opt-out within 30 days) are rewritten.
   */
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
  /** Opt-outs: the time of the next opt-in if within 30 days, else 0; others: 0. */
  nextOptInAt: number;
  version: number;
}

export interface DirtyRecord {
  channel: Channel;
  record: ConsentRecord;
  kind: TransitionKind | null;
  /** Opt-outs: the time of the next opt-in if within 30 days of t, else 0; others: 0. */
  nextOptInAt: number;
  /**
   * How many consent records of the channel have a time <= t + 30 days: the
   * consent evidence the row depends on (versions.ts).
   */
  consentThrough: number;
}

const inRanges = (t: number, ranges: ReadonlyArray<readonly [number, number]>) =>
  ranges.some(([lo, hi]) => t >= lo && t <= hi);

/**
 * The records of `consent` that `dirt` says to rewrite, with what each one is now.
 *
 * An arrived record r can change which records are transitions only at r and
 * at its successor (the records whose previous status changed). So the next
 * transition after a transition o changes only when r or its successor lies
 * between o and it, i.e. when o is the last transition before r (every record
 * between o and r repeats o's status). That is the only record besides r and
 * its successor whose row can change, and only when it is an opt-out (its
 * next opt-in is its next transition) with r at most 30 days after it: a
 * change further away leaves "no opt-in within 30 days" as it was.
 */
export function dirtyRecords(
  consent: ReadonlyMap<Channel, readonly ConsentRecord[]>,
  dirt: UserDirt,
): DirtyRecord[] {
  const out: DirtyRecord[] = [];
  for (const [channel, history] of consent) {
    const kinds = new Map(transitionsOf(history).map((x) => [x.id, x.kind]));
    const dirty = history.map((record, index) => {
      const kind = kinds.get(record.id) ?? null;
      const arrived = dirt.consentIds.has(record.id);
      const afterArrived = index > 0 && dirt.consentIds.has(history[index - 1]!.id);
      const windowChanged = kind === 'OPT_OUT' && inRanges(record.t, dirt.ranges);
      return dirt.all || arrived || afterArrived || windowChanged;
    });
    let lastTransition = -1;
    history.forEach((record, index) => {
      if (dirt.consentIds.has(record.id) && lastTransition >= 0) {
        const before = history[lastTransition]!;
        if (kinds.get(before.id) === 'OPT_OUT' && record.t - before.t <= MAX_WINDOW_MS)
          dirty[lastTransition] = true;
      }
      if (kinds.has(record.id)) lastTransition = index;
    });
    history.forEach((record, index) => {
      if (!dirty[index]) return;
      const kind = kinds.get(record.id) ?? null;
      out.push({
        channel,
        record,
        kind,
        nextOptInAt: kind === 'OPT_OUT' ? nextOptInAt(history, index, MAX_WINDOW_MS) : 0,
        consentThrough: upperBound(history, record.t + MAX_WINDOW_MS, tOf),
      });
    });
  }
  return out;
}

const tOf = (record: ConsentRecord) => record.t;

/**
 * The time of the next opt-in after the opt-out at `index` of `history` (one
 * channel, sorted by (t, id)) when it is at most `withinMs` after it, else 0:
 * what "won back within d days" (SPEC 5.1) needs for d up to `withinMs`.
 * Transitions of a channel alternate, so the next opt-in of an opt-out is its
 * next transition: the first OPTED_IN record after it (the records between
 * repeat OPTED_OUT and are not transitions).
 */
export function nextOptInAt(history: readonly ConsentRecord[], index: number, withinMs: number): number {
  const t = history[index]!.t;
  for (let i = index + 1; i < history.length; i++) {
    const record = history[i]!;
    if (record.t - t > withinMs) return 0;
    if (record.status === 'OPTED_IN') return record.t;
  }
  return 0;
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
  return records.map(({ channel, record, kind, nextOptInAt, consentThrough }) => ({
    channel,
    record,
    kind,
    facts: kind === 'OPT_OUT' ? optOutFacts(events, record.t) : null,
    nextOptInAt,
    version: versionOf(consentThrough, eventsAround(events, record.t)),
  }));
}
