// From a round's work (state/affected.ts) to the transition rows to write: read
// the users' durable histories back from ClickHouse, add the round's own events
// to them, pick the records to rewrite, and compute their rows.
//
// The windows to read are predicted from the consent index. When the real
// history needs a window the read did not cover (a change the index did not
// know under this user, or a successor further away), those users are read
// again with the range they need: a second query, never a wrong row.
import { MAX_WINDOW_MS } from '@optout/events';
import type { AdmittedEvent, UserWork } from '../state/affected.ts';
import { type HistoryCache, mergeEvent } from './history-cache.ts';
import { readHistories, type Select, type UserHistory, type UserRead } from './read.ts';
import { type DirtyRecord, dirtyRecords, rowsOf, type TransitionRow } from './user-rows.ts';

export interface UserRows {
  work: UserWork;
  rows: TransitionRow[];
  /** The detail rows already written for the user (UserHistory.written). */
  written: Map<number, number>;
}

/** Far enough in the past and future for "every event of the user" (erasure rewrites). */
const ALL_TIME: [number, number] = [0, Date.UTC(2200, 0, 1)];

function predictedRange(work: UserWork): [number, number] {
  if (work.dirt.all || work.around.length === 0) return ALL_TIME;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const t of work.around) {
    lo = Math.min(lo, t);
    hi = Math.max(hi, t);
  }
  return [lo - MAX_WINDOW_MS, hi + MAX_WINDOW_MS];
}

/** The range the dirty records' windows span, or null when `history` covers it. */
function missingRange(records: readonly DirtyRecord[], history: UserHistory): [number, number] | null {
  if (records.length === 0) return null;
  const lo = Math.min(...records.map((r) => r.record.t)) - MAX_WINDOW_MS;
  const hi = Math.max(...records.map((r) => r.record.t)) + MAX_WINDOW_MS;
  return lo >= history.from && hi <= history.to
    ? null
    : [Math.min(lo, history.from), Math.max(hi, history.to)];
}

export async function recompute(
  select: Select,
  works: readonly UserWork[],
  erasedThrough: (userKey: string) => number,
  cacheOf: (userKey: string) => HistoryCache,
  roundEvents: ReadonlyMap<string, readonly AdmittedEvent[]>,
): Promise<UserRows[]> {
  const readOf = (work: UserWork, [from, to]: [number, number]): UserRead => ({
    appId: work.appId,
    userId: work.userId,
    from,
    to,
    erasedThrough: erasedThrough(work.userKey),
  });
  // Held histories first; one batch of reads for the others.
  const histories = new Map<string, UserHistory>();
  const toRead: UserRead[] = [];
  for (const work of works) {
    const range = predictedRange(work);
    const held = cacheOf(work.userKey).covering(work.userKey, range[0], range[1]);
    if (held) histories.set(work.userKey, held);
    else toRead.push(readOf(work, range));
  }
  // The reads run while the round's raw rows are being written (round.ts): a
  // read may or may not see them, so the round's events are merged into what
  // it returns (once each, by event id), as the history cache's entries are.
  const remember = (read: Map<string, UserHistory>) => {
    for (const [key, history] of read) {
      for (const e of roundEvents.get(key) ?? []) mergeEvent(history, e);
      histories.set(key, history);
      cacheOf(key).put(key, history);
    }
  };
  remember(await readHistories(select, toRead));

  const again: Array<{ work: UserWork; range: [number, number] }> = [];
  for (const work of works) {
    const history = histories.get(work.userKey)!;
    const missing = missingRange(dirtyRecords(history.consent, work.dirt), history);
    if (missing) again.push({ work, range: missing });
  }
  // Rounds of a partition are serial, so a history read again has the consent
  // changes the range was computed from (a zombie's concurrent write could only
  // add rows whose windows are short here: they lose, see versions.ts).
  if (again.length > 0)
    remember(
      await readHistories(
        select,
        again.map(({ work, range }) => readOf(work, range)),
      ),
    );

  return works.map((work) => {
    const history = histories.get(work.userKey)!;
    return {
      work,
      rows: rowsOf(dirtyRecords(history.consent, work.dirt), history.events),
      written: history.written,
    };
  });
}
