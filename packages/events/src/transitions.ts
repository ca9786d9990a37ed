// The definition of an opt-out (SPEC 3), in one place: ingest (the facts) and the
// rollup (exposure) import it. An opt-out is a ConsentChange to OPTED_OUT on a channel where
// the user's previous known status (by occurred_at) was not OPTED_OUT; an opt-in
// is the mirror image. "Unknown" counts as neither.
//
// Ties on occurred_at are broken by event_id (ascending), so the answer does not
// depend on arrival order even when two changes carry the same millisecond.

export type ConsentStatus = 'OPTED_IN' | 'OPTED_OUT';
export type TransitionKind = 'OPT_OUT' | 'OPT_IN';

export interface ConsentRecord {
  t: number;
  id: string;
  status: ConsentStatus;
  source: string | null;
}

export interface Transition {
  id: string;
  t: number;
  kind: TransitionKind;
  source: string | null;
}

/** Event order: occurred_at, then event_id. */
export function compareByTimeThenId(a: { t: number; id: string }, b: { t: number; id: string }): number {
  if (a.t !== b.t) return a.t - b.t;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Transitions of one user on one channel, from the history sorted by compareByTimeThenId. */
export function transitionsOf(history: readonly ConsentRecord[]): Transition[] {
  const result: Transition[] = [];
  let previous: ConsentStatus | null = null;
  for (const record of history) {
    if (record.status !== previous) {
      result.push({
        id: record.id,
        t: record.t,
        kind: record.status === 'OPTED_OUT' ? 'OPT_OUT' : 'OPT_IN',
        source: record.source,
      });
    }
    previous = record.status;
  }
  return result;
}
