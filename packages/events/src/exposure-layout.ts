// What the exposure rollup (services/rollup) writes and the query service reads
// (migration 0012, docs/insights.md "Exposure"): both sides agree on these.
import { DAY_MS, MAX_WINDOW_DAYS } from './windows.ts';

/**
 * The rollup's grid: every local midnight of every zone is a whole quarter
 * hour in UTC (zone offsets are multiples of 15 minutes), so the histograms
 * kept for every quarter-hour instant serve any zone's days.
 */
export const QUARTER_MS = 900_000;
export const QUARTERS_PER_DAY = DAY_MS / QUARTER_MS;

/** Push counts are kept up to this; a request's max_bucket is at most this (SPEC 5.1). */
export const MAX_PUSH_BUCKET = 50;

/** Buckets kept per window: k = 0 .. MAX_PUSH_BUCKET - 1 and MAX_PUSH_BUCKET or more. */
export const PUSH_BUCKETS = MAX_PUSH_BUCKET + 1;

/** Length of a day start's histogram: PUSH_BUCKETS for each window W = 1..30. */
export const HISTOGRAM_LENGTH = MAX_WINDOW_DAYS * PUSH_BUCKETS;

/** Where window W's (1..30) bucket of k pushes is in a histogram (0-based). */
export function histogramIndex(windowDays: number, pushes: number): number {
  return (windowDays - 1) * PUSH_BUCKETS + Math.min(pushes, MAX_PUSH_BUCKET);
}

/**
 * An opt-out at t counts on the day that holds t, from its first instant s:
 * its row keeps what its bucket at any s in [t - OPTOUT_DAY_SPAN_MS, t] needs
 * (a local day lasts at most 25 hours in today's zones; a longer one is
 * computed from the raw events instead).
 */
export const OPTOUT_DAY_SPAN_MS = 2 * DAY_MS;

/**
 * An opt-out row holds the user's pushes up to this long before t's quarter:
 * every window at every such day start (a reader starting at a quarter-hour
 * instant at or before t's quarter reads pushes from that much earlier).
 */
export const PUSHES_BEFORE_MS = MAX_WINDOW_DAYS * DAY_MS + OPTOUT_DAY_SPAN_MS;

/**
 * Marks (exposure_marks) are written by views for events at least this much
 * older than the server's clock when they land (the 60 s in migration 0012).
 */
export const MARK_LATE_MS = 60_000;

/**
 * A mark is taken into account this long after its marked_at, by when the rows
 * of the insert that wrote it are stored: its views may run before the insert's
 * other tables are written (marked_at is the server clock in whole seconds).
 */
export const MARK_SLACK_MS = 10_000;

/** The mark kinds (exposure_marks.kind). 'seen' and 'erase' name a user. */
export type MarkKind = 'push' | 'consent' | 'seen' | 'erase';

/** What an opt-out row holds (exposure_optouts). */
export interface OptOutExposure {
  /** The quarter of the opt-out (floor(t / QUARTER_MS)). */
  quarter: number;
  /** The user's first event (epoch ms). */
  firstSeenMs: number;
  /** Opted out on the channel at t - OPTOUT_DAY_SPAN_MS (after every transition before it). */
  outBefore: boolean;
  /**
   * The times in [t - OPTOUT_DAY_SPAN_MS, t) at which the user's status on the
   * channel went from opted out to not or back (an opt-in from no status at
   * all, the user's first transition, changes nothing there).
   */
  flips: number[];
  /**
   * The user's pushes before t by their offset o in quarters before t's own
   * quarter (o = quarter(t) - quarter(push), pushes of t's own quarter left
   * out: they are never before a day start). A day starting u quarters before
   * quarter(t) (u = 0..OPTOUT_SPAN_QUARTERS) counts, in window W, the pushes
   * with u < o <= u + 96 W, i.e. within[W - 1] + #(band[W - 1] <= u) - #(recent <= u):
   */
  pushes: {
    /** [W - 1] = pushes with 1 <= o <= 96 W, W = 1..30. */
    within: number[];
    /** o of the pushes with 1 <= o <= OPTOUT_SPAN_QUARTERS. */
    recent: number[];
    /** [W - 1] = o - 96 W of the pushes with 96 W < o <= 96 W + OPTOUT_SPAN_QUARTERS. */
    bands: number[][];
  };
}

/** OPTOUT_DAY_SPAN_MS in quarters: the most a day start may lie before t's quarter. */
export const OPTOUT_SPAN_QUARTERS = 2 * QUARTERS_PER_DAY;

/**
 * The row of an opt-out at t, from the user's first event, their transitions
 * on the channel and their push times (both sorted by time; transitions in
 * (t, event_id) order, the opt-out's own among them or not).
 */
export function optOutExposure(
  t: number,
  firstSeenMs: number,
  transitions: readonly { t: number; kind: 'OPT_OUT' | 'OPT_IN' }[],
  pushTimes: readonly number[],
): OptOutExposure {
  const spanStart = t - OPTOUT_DAY_SPAN_MS;
  let outBefore = false;
  let out = false;
  const flips: number[] = [];
  for (const x of transitions) {
    if (x.t >= t) break;
    const now = x.kind === 'OPT_OUT';
    if (x.t < spanStart) outBefore = now;
    else if (now !== out) flips.push(x.t);
    out = now;
  }
  const tq = Math.floor(t / QUARTER_MS);
  const pushes = {
    within: new Array<number>(MAX_WINDOW_DAYS).fill(0),
    recent: [] as number[],
    bands: Array.from({ length: MAX_WINDOW_DAYS }, () => [] as number[]),
  };
  for (const p of pushTimes) {
    const o = tq - Math.floor(p / QUARTER_MS);
    if (o < 1 || p >= t) continue;
    if (o <= OPTOUT_SPAN_QUARTERS) pushes.recent.push(o);
    for (let w = 1; w <= MAX_WINDOW_DAYS; w++) {
      const edge = w * QUARTERS_PER_DAY;
      if (o <= edge) pushes.within[w - 1]! += 1;
      else if (o <= edge + OPTOUT_SPAN_QUARTERS) pushes.bands[w - 1]!.push(o - edge);
    }
  }
  return { quarter: tq, firstSeenMs, outBefore, flips, pushes };
}

/**
 * Where the opt-out counts in a request with window W when its day starts at
 * `dayStart` (a quarter-hour instant in [t - OPTOUT_DAY_SPAN_MS, t]): null when
 * the user was not at risk at the day's start (not known before it, or opted
 * out on the channel), else the pushes in [dayStart - W days, dayStart).
 * queries/exposure-rollup.ts says the same in SQL.
 */
export function optOutPushes(row: OptOutExposure, dayStart: number, windowDays: number): number | null {
  if (!(row.firstSeenMs < dayStart)) return null;
  const flipped = row.flips.filter((f) => f < dayStart).length % 2 === 1;
  if (row.outBefore !== flipped) return null;
  const u = row.quarter - dayStart / QUARTER_MS;
  const { within, recent, bands } = row.pushes;
  return (
    within[windowDays - 1]! +
    bands[windowDays - 1]!.filter((o) => o <= u).length -
    recent.filter((o) => o <= u).length
  );
}
