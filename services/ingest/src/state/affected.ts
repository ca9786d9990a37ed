// Which users' facts a round's events can change, and around which times the
// recompute should read their events (SPEC 3 windows, optout/facts.ts):
//
// - a consent change: the change itself, the next change on its channel, and
//   the last transition before it there when that is an opt-out at most 30
//   days earlier (its next opt-in may change: recompute/user-rows.ts);
// - a push or interaction at e: the user's opt-outs at t in (e, e + 30d];
// - an app event at e: the opt-outs at t in (e, e + 30d] (events before), and
//   those at t in [e - 30d, e) whose first activity after t is later than e
//   or not known (retained / churned).
//
// The consent index is a superset of the durable consent changes, so this
// finds every opt-out an event can change (and sometimes more).
import type { Channel, InputEvent } from '@optout/events';
import { MAX_WINDOW_MS } from '@optout/events';
import { emptyDirt, type UserDirt } from '../recompute/user-rows.ts';
import type { PartitionState } from './partition-state.ts';

/** An event admitted this round (decoded, valid, not erased). */
export interface AdmittedEvent {
  input: InputEvent;
  keyHash: number;
  /** `<app_id>:<user_id>` */
  userKey: string;
  topic: string;
}

export interface UserWork {
  appId: string;
  userId: string;
  userKey: string;
  keyHash: number;
  dirt: UserDirt;
  /** Times whose windows the recompute will need, as far as the index can tell. */
  around: number[];
}

export interface RoundWork {
  users: Map<string, UserWork>;
  /** Events that arrived after something they precede (they corrected facts), per topic. */
  late: Map<string, number>;
}

export function workFor(
  works: Map<string, UserWork>,
  ref: { appId: string; userId: string; userKey: string; keyHash: number },
): UserWork {
  let work = works.get(ref.userKey);
  if (!work) {
    work = { ...ref, dirt: emptyDirt(), around: [] };
    works.set(ref.userKey, work);
  }
  return work;
}

export function findWork(state: PartitionState, events: readonly AdmittedEvent[]): RoundWork {
  const users = new Map<string, UserWork>();
  const late = new Map<string, number>();
  const countLate = (topic: string) => late.set(topic, (late.get(topic) ?? 0) + 1);
  const { index } = state;

  // Out of order = the index already knew a later change on the channel.
  const consentLate = new Set<AdmittedEvent>();
  for (const e of events) {
    if (e.input.kind !== 'consentChange') continue;
    const c = e.input.event;
    if (index.hasLaterOn(e.keyHash, c.channel, c.occurred_at)) consentLate.add(e);
  }
  for (const e of events) {
    if (e.input.kind !== 'consentChange') continue;
    const c = e.input.event;
    index.add(e.keyHash, c.occurred_at, c.channel, c.status);
  }

  for (const e of events) {
    const { event } = e.input;
    const ref = { appId: event.app_id, userId: event.user_id, userKey: e.userKey, keyHash: e.keyHash };
    const at = event.occurred_at;
    if (e.input.kind === 'consentChange') {
      const work = workFor(users, ref);
      work.dirt.consentIds.add(event.event_id);
      work.around.push(at);
      const channel = e.input.event.channel as Channel;
      const next = index.nextOn(e.keyHash, channel, at);
      if (next !== null) work.around.push(next);
      // Read that opt-out's window too: it is rewritten with the change.
      const before = index.lastTransitionOn(e.keyHash, channel, at);
      if (before?.optedOut && at - before.t <= MAX_WINDOW_MS) work.around.push(before.t);
      if (consentLate.has(e)) countLate(e.topic);
      continue;
    }
    if (!index.has(e.keyHash)) continue; // no consent change known: no opt-out to change
    // Opt-outs this event precedes: their "before" windows change.
    const after = index.optOutsIn(e.keyHash, at + 1, at + MAX_WINDOW_MS);
    if (after.length > 0) {
      const work = workFor(users, ref);
      work.dirt.ranges.push([at + 1, at + MAX_WINDOW_MS]);
      for (const o of after) work.around.push(o.t);
      countLate(e.topic);
    }
    if (e.input.kind !== 'appEvent') continue;
    // Opt-outs this app event follows: only an earlier first activity matters.
    for (const o of index.optOutsIn(e.keyHash, at - MAX_WINDOW_MS, at - 1)) {
      const known = state.firstActivityAfter(e.keyHash, o.channel, o.t);
      if (known !== undefined && known <= at) continue;
      const work = workFor(users, ref);
      work.dirt.ranges.push([o.t, o.t]);
      work.around.push(o.t);
    }
  }
  for (const work of users.values()) work.dirt.ranges = mergeRanges(work.dirt.ranges);
  return { users, late };
}

/** Closed ranges merged where they overlap or touch. */
export function mergeRanges(ranges: ReadonlyArray<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}
