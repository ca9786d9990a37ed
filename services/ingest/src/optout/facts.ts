// The facts of one opt-out (SPEC 3), computed from the user's events around it:
// the rows of consent_transitions (which carry the event counts) and optout_campaign_touches.
// Pure: the same events give the same facts, whatever order they came in.
//
// Every fact is a function of the user's events within MAX_WINDOW_DAYS of the
// opt-out, before or after: pushes and interactions in [t - 30d, t), app events
// in [t - 30d, t) (events before) and (t, t + 30d] (the first one after t, for
// retained / churned with X <= 30). That bound is what lets a late event find
// the opt-outs it changes, and lets ingest read just that window from ClickHouse.
import { DAY_MS, MAX_WINDOW_DAYS, MAX_WINDOW_MS } from '@optout/events';

export interface Interaction {
  t: number;
  id: string;
  campaignId: string;
  type: string;
}

export interface AppActivity {
  t: number;
  name: string;
}

/** A user's events (deduplicated by event_id), each list sorted by time (interactions by (t, id)). */
export interface UserEvents {
  pushes: readonly number[];
  interactions: readonly Interaction[];
  appEvents: readonly AppActivity[];
}

export interface TouchCounts {
  campaignId: string;
  daysBefore: number;
  opens: number;
  clicks: number;
  dismisses: number;
  conversions: number;
  interactions: number;
}

export interface EventCount {
  eventName: string;
  daysBefore: number;
  events: number;
}

export interface OptOutFacts {
  /** [d-1] = pushes in [t - d days, t), d = 1..30. */
  pushesBefore: number[];
  /** The latest interaction in [t - 30 days, t) (ties: the larger event_id). */
  lastTouch: { campaignId: string; t: number } | null;
  /** The earliest app event in (t, t + 30 days], 0 when there is none. */
  nextActivityAt: number;
  touches: TouchCounts[];
  eventCounts: EventCount[];
}

/**
 * Bucket of an event at `e` < `t`: 1 for [t-1d, t), 2 for [t-2d, t-1d), ... so
 * that a lookback of L days, [t - L days, t), is exactly the buckets 1..L.
 */
export function daysBefore(t: number, e: number): number {
  return Math.ceil((t - e) / DAY_MS);
}

/** Index of the first element with time >= `time` (`key` reads an element's time). */
export function lowerBound<T>(list: readonly T[], time: number, key: (item: T) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(list[mid]!) < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element with time > `time`. */
export function upperBound<T>(list: readonly T[], time: number, key: (item: T) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(list[mid]!) <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const timeOf = (n: number) => n;
const tOf = (item: { t: number }) => item.t;

export function optOutFacts(events: UserEvents, t: number): OptOutFacts {
  const windowStart = t - MAX_WINDOW_MS;

  const pushEnd = lowerBound(events.pushes, t, timeOf);
  const pushesBefore: number[] = [];
  for (let d = 1; d <= MAX_WINDOW_DAYS; d++)
    pushesBefore.push(pushEnd - lowerBound(events.pushes, t - d * DAY_MS, timeOf));

  const touches = new Map<string, TouchCounts>();
  let lastTouch: OptOutFacts['lastTouch'] = null;
  const interEnd = lowerBound(events.interactions, t, tOf);
  for (let i = lowerBound(events.interactions, windowStart, tOf); i < interEnd; i++) {
    const it = events.interactions[i]!;
    const d = daysBefore(t, it.t);
    const key = `${d}\u0000${it.campaignId}`;
    let counts = touches.get(key);
    if (!counts) {
      counts = {
        campaignId: it.campaignId,
        daysBefore: d,
        opens: 0,
        clicks: 0,
        dismisses: 0,
        conversions: 0,
        interactions: 0,
      };
      touches.set(key, counts);
    }
    counts.interactions++;
    if (it.type === 'OPEN') counts.opens++;
    else if (it.type === 'CLICK') counts.clicks++;
    else if (it.type === 'DISMISS') counts.dismisses++;
    else if (it.type === 'CONVERSION') counts.conversions++;
    // Sorted by (t, id): the last one in the window is the latest interaction.
    lastTouch = { campaignId: it.campaignId, t: it.t };
  }

  const counts = new Map<string, EventCount>();
  const appEnd = lowerBound(events.appEvents, t, tOf);
  for (let i = lowerBound(events.appEvents, windowStart, tOf); i < appEnd; i++) {
    const e = events.appEvents[i]!;
    const d = daysBefore(t, e.t);
    const key = `${d}\u0000${e.name}`;
    const count = counts.get(key);
    if (count) count.events++;
    else counts.set(key, { eventName: e.name, daysBefore: d, events: 1 });
  }
  const next = events.appEvents[upperBound(events.appEvents, t, tOf)];

  return {
    pushesBefore,
    lastTouch,
    nextActivityAt: next !== undefined && next.t <= t + MAX_WINDOW_MS ? next.t : 0,
    touches: [...touches.values()],
    eventCounts: [...counts.values()],
  };
}

/**
 * How many of the user's events lie in [t - 30d, t + 30d]: the events any fact
 * of a transition at t can depend on. It only grows as events arrive, so it
 * orders two computations of the same transition (see recompute/versions.ts).
 */
export function eventsAround(events: UserEvents, t: number): number {
  const lo = t - MAX_WINDOW_MS;
  const hi = t + MAX_WINDOW_MS;
  return (
    upperBound(events.pushes, hi, timeOf) -
    lowerBound(events.pushes, lo, timeOf) +
    upperBound(events.interactions, hi, tOf) -
    lowerBound(events.interactions, lo, tOf) +
    upperBound(events.appEvents, hi, tOf) -
    lowerBound(events.appEvents, lo, tOf)
  );
}
