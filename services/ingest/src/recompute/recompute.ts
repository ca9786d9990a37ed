// From a round's work (state/affected.ts) to the transition rows to write: read
// the users' durable histories back from ClickHouse (after the round's raw
// events were written), pick the records to rewrite, and compute their rows.
//
// The windows to read are predicted from the consent index. When the real
// history needs a window the read did not cover (a change the index did not
// know under this user, or a successor further away), those users are read
// again with the range they need: a second query, never a wrong row.
import { MAX_WINDOW_MS } from '@optout/events';
import type { UserWork } from '../state/affected.ts';
import { readHistories, type Select, type UserHistory, type UserRead } from './read.ts';
import { type DirtyRecord, dirtyRecords, rowsOf, type TransitionRow } from './user-rows.ts';

export interface UserRows {
  work: UserWork;
  rows: TransitionRow[];
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
): Promise<UserRows[]> {
  const readOf = (work: UserWork, [from, to]: [number, number]): UserRead => ({
    appId: work.appId,
    userId: work.userId,
    from,
    to,
    erasedThrough: erasedThrough(work.userKey),
  });
  const first = await readHistories(
    select,
    works.map((w) => readOf(w, predictedRange(w))),
  );
  const out: UserRows[] = [];
  const again: Array<{ work: UserWork; range: [number, number] }> = [];
  for (const work of works) {
    const history = first.get(work.userKey)!;
    const records = dirtyRecords(history.consent, work.dirt);
    const missing = missingRange(records, history);
    if (missing) again.push({ work, range: missing });
    else out.push({ work, rows: rowsOf(records, history.events) });
  }
  if (again.length > 0) {
    const second = await readHistories(
      select,
      again.map(({ work, range }) => readOf(work, range)),
    );
    for (const { work } of again) {
      const history = second.get(work.userKey)!;
      // Rounds of a partition are serial, so the consent history read again is
      // the one the range was computed from (a zombie's concurrent write could
      // only add rows whose windows are short here: they lose, see versions.ts).
      out.push({ work, rows: rowsOf(dirtyRecords(history.consent, work.dirt), history.events) });
    }
  }
  return out;
}
