// From a user's state to the facts of each of their consent transitions (the rows
// of consent_transitions, optout_campaign_touches and optout_event_counts).
// Pure: the same state gives the same facts whatever order the events came in.
import type { Channel } from '@optout/events';
import { type Transition, transitionsOf } from '../optout/transitions.ts';
import { lowerBound, lowerBoundBy, type UserState, upperBound } from './user-state.ts';

export const DAY_MS = 86_400_000;
/** The longest lookback / window any query may ask for (SPEC 5: 1..30 days). */
export const MAX_LOOKBACK_DAYS = 30;

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

export interface TransitionFacts {
  channel: Channel;
  transition: Transition;
  /** [d-1] = pushes in [t - d days, t), d = 1..30. Empty for opt-ins. */
  pushesBefore: number[];
  lastTouch: { campaignId: string; t: number } | null;
  /** Earliest app event strictly after t, 0 when none is known. */
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

export function factsOf(state: UserState, channel: Channel, transition: Transition): TransitionFacts {
  const base = { channel, transition, touches: [], eventCounts: [] };
  if (transition.kind === 'OPT_IN') return { ...base, pushesBefore: [], lastTouch: null, nextActivityAt: 0 };
  const t = transition.t;
  const windowStart = t - MAX_LOOKBACK_DAYS * DAY_MS;

  const pushEnd = lowerBound(state.pushes, t);
  const pushesBefore: number[] = [];
  for (let d = 1; d <= MAX_LOOKBACK_DAYS; d++)
    pushesBefore.push(pushEnd - lowerBound(state.pushes, t - d * DAY_MS));

  const touches = new Map<string, TouchCounts>();
  const interEnd = lowerBoundBy(state.interactions, t);
  let lastTouch: TransitionFacts['lastTouch'] = null;
  for (let i = lowerBoundBy(state.interactions, windowStart); i < interEnd; i++) {
    const it = state.interactions[i]!;
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

  const events = new Map<string, EventCount>();
  const times = state.appEventTimes;
  const names = state.appEventNames;
  const appEnd = lowerBound(times, t);
  for (let i = lowerBound(times, windowStart); i < appEnd; i++) {
    const d = daysBefore(t, times[i]!);
    const key = `${d}\u0000${names[i]}`;
    const count = events.get(key);
    if (count) count.events++;
    else events.set(key, { eventName: state.names.names[names[i]!]!, daysBefore: d, events: 1 });
  }
  const next = times[upperBound(times, t)];

  return {
    ...base,
    pushesBefore,
    lastTouch,
    nextActivityAt: next ?? 0,
    touches: [...touches.values()],
    eventCounts: [...events.values()],
  };
}

/** All current transitions of a user, per channel. */
export function currentTransitions(state: UserState): Array<{ channel: Channel; transition: Transition }> {
  const result: Array<{ channel: Channel; transition: Transition }> = [];
  for (const [channel, history] of state.consent) {
    for (const transition of transitionsOf(history)) result.push({ channel, transition });
  }
  return result;
}

/** A cheap digest of facts, to skip rewriting facts that did not change. */
export function digestOf(facts: TransitionFacts): string {
  return JSON.stringify([
    facts.transition.kind,
    facts.transition.source,
    facts.pushesBefore,
    facts.lastTouch,
    facts.nextActivityAt,
    facts.touches,
    facts.eventCounts,
  ]);
}

export interface FactChanges {
  upserts: TransitionFacts[];
  /** Transitions written earlier that a late event proved were not transitions. */
  removals: Array<{ channel: Channel; id: string; t: number }>;
}

/**
 * The facts of `state` that differ from what was written, and the transitions
 * that must be tombstoned. Transitions whose 30-day window reaches before
 * `frozenBefore` (state there is pruned) are left as written.
 * Updates `state.written` as if the changes were written: call it only when they will be.
 */
export function changedFacts(state: UserState, frozenBefore: number): FactChanges {
  const upserts: TransitionFacts[] = [];
  const live = new Set<string>();
  for (const { channel, transition } of currentTransitions(state)) {
    live.add(transition.id);
    const previous = state.written.get(transition.id);
    if (previous && transition.t - MAX_LOOKBACK_DAYS * DAY_MS < frozenBefore) continue;
    const facts = factsOf(state, channel, transition);
    const digest = digestOf(facts);
    if (previous?.digest === digest) continue;
    upserts.push(facts);
    state.markWritten(transition.id, { channel, digest, t: transition.t });
  }
  const removals: FactChanges['removals'] = [];
  for (const [id, { channel, t }] of state.written) {
    if (!live.has(id)) removals.push({ channel, id, t });
  }
  for (const { id } of removals) state.forgetWritten(id);
  return { upserts, removals };
}
