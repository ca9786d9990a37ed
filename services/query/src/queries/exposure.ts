// exposure: the opt-out rate by recent push volume over user-days at risk
// (SPEC 5.1; docs/insights.md "Exposure").
//
// Each day of the range is answered from the rollup's rows (./exposure-rollup.ts)
// when they are known to be current for it, and exactly from the raw events
// otherwise (./exposure-exact.ts). The rows are current for a day when:
// - the rollup has swept its first instant (computed_through), and that
//   instant and the day's end are quarter hours at most 48 hours apart (every
//   day of today's zones; the rows of an opt-out serve any day start up to 48
//   hours before it);
// - no mark the rollup has not taken into account yet (a late event: marked_at
//   at or after marks_through) covers the day.
// The opt-outs of the day after computed_through (the day of the present,
// minutes of it) are computed here from their users' raw events, the way the
// rollup computes its rows. Days the rows cannot answer, contiguous ones
// together, go to the exact query: slow at scale, but exact.
import { OPTOUT_DAY_SPAN_MS, QUARTER_MS } from '@optout/events';
import { addDays, type ResolvedRange, startOfLocalDay } from '../periods.ts';
import type { Warehouse } from '../warehouse.ts';
import { dayCount } from './days.ts';
import { type ExposureCounts, emptyCounts, exactExposure } from './exposure-exact.ts';
import { type Day, type RollupRead, readRollup, TAIL_USERS_LIMIT, tailOptOuts } from './exposure-rollup.ts';
import type { FactScope } from './scope.ts';

export interface ExposureBucket {
  pushes: string;
  user_days: number;
  opt_outs: number;
  rate: number | null;
}

export interface ExposureResult {
  totals: { user_days: number; opt_outs: number; rate: number | null };
  buckets: ExposureBucket[];
}

/** How many days of the range each source answered (for the query_exposure_days_total metric). */
export interface ExposureSources {
  rollup: number;
  exact: number;
}

/** The days of the range with their first instants (local midnights, as the range's own start and end). */
export function daysOf(range: ResolvedRange): Day[] {
  const n = dayCount(range);
  const starts = Array.from({ length: n + 1 }, (_, i) =>
    i === 0
      ? range.start.getTime()
      : i === n
        ? range.end.getTime()
        : startOfLocalDay(addDays(range.from, i), range.zone).getTime(),
  );
  return Array.from({ length: n }, (_, i) => ({ index: i, start: starts[i]!, end: starts[i + 1]! }));
}

/** Whether the rollup's rows answer `day` (see the top of this file). */
function answeredByRollup(read: RollupRead, day: Day): boolean {
  const { status, pending } = read;
  if (!status) return false;
  const through = status.computedThrough * QUARTER_MS;
  if (day.start % QUARTER_MS !== 0 || day.end % QUARTER_MS !== 0) return false;
  if (day.end - day.start > OPTOUT_DAY_SPAN_MS || day.start > through) return false;
  if (day.start > status.computedFrom * QUARTER_MS && !read.userDays.has(day.start)) return false;
  if (read.unsure.has(day.index)) return false;
  if (pending.count > 0 && pending.fromMs < Math.min(day.end, through) && pending.toMs >= day.start)
    return false;
  // The opt-outs after computed_through are computed from their users' events: not too many of them.
  return day.end <= through || read.tailUsers.length <= TAIL_USERS_LIMIT;
}

/** Runs of consecutive days, as ranges the exact query takes. */
function runsOf(range: ResolvedRange, days: readonly Day[]): ResolvedRange[] {
  const runs: ResolvedRange[] = [];
  let first: Day | null = null;
  days.forEach((day, i) => {
    first ??= day;
    const next = days[i + 1];
    if (next && next.index === day.index + 1) return;
    runs.push({
      ...range,
      from: addDays(range.from, first.index),
      to: addDays(range.from, day.index),
      start: new Date(first.start),
      end: new Date(day.end),
    });
    first = null;
  });
  return runs;
}

function add(into: ExposureCounts, counts: ExposureCounts): void {
  counts.userDays.forEach((n, b) => {
    into.userDays[b]! += n;
  });
  counts.optOuts.forEach((n, b) => {
    into.optOuts[b]! += n;
  });
}

const rate = (optOuts: number, userDays: number) => (userDays === 0 ? null : optOuts / userDays);

export async function exposure(
  warehouse: Warehouse,
  scope: FactScope,
  windowDays: number,
  maxBucket: number,
  timeoutMs: number,
): Promise<{ result: ExposureResult; sources: ExposureSources }> {
  const days = daysOf(scope.range);
  const read = await readRollup(warehouse, scope, days, windowDays, maxBucket, timeoutMs);
  const counts = emptyCounts(maxBucket);
  const exact: Day[] = [];
  const work: Promise<ExposureCounts>[] = [];
  for (const day of days) {
    if (!answeredByRollup(read, day)) {
      exact.push(day);
      continue;
    }
    const userDays = read.userDays.get(day.start);
    if (userDays) add(counts, { userDays, optOuts: [] });
    const optOuts = read.optOuts.get(day.index);
    if (optOuts) add(counts, { userDays: [], optOuts });
    const through = read.status!.computedThrough * QUARTER_MS;
    if (day.end > through)
      work.push(
        tailOptOuts(warehouse, scope, read.tailUsers, through, day, windowDays, maxBucket, timeoutMs).then(
          (optOuts) => ({ userDays: [], optOuts }),
        ),
      );
  }
  for (const run of runsOf(scope.range, exact))
    work.push(exactExposure(warehouse, { ...scope, range: run }, windowDays, maxBucket, timeoutMs));
  for (const part of await Promise.all(work)) add(counts, part);

  const buckets: ExposureBucket[] = counts.userDays.map((userDays, i) => ({
    pushes: i < maxBucket ? String(i) : `${maxBucket}+`,
    user_days: userDays,
    opt_outs: counts.optOuts[i]!,
    rate: rate(counts.optOuts[i]!, userDays),
  }));
  const userDays = buckets.reduce((sum, b) => sum + b.user_days, 0);
  const optOuts = buckets.reduce((sum, b) => sum + b.opt_outs, 0);
  return {
    result: { totals: { user_days: userDays, opt_outs: optOuts, rate: rate(optOuts, userDays) }, buckets },
    sources: { rollup: days.length - exact.length, exact: exact.length },
  };
}
