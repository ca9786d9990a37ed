import { DAY_MS, type InputEvent } from '@optout/events';
import { describe, expect, it } from 'vitest';
import { type AdmittedEvent, findWork, mergeRanges } from './affected.ts';
import { PartitionState } from './partition-state.ts';

const T = Date.UTC(2025, 5, 1);
const HASH = 42;
const base = { app_id: 'a', user_id: 'u' };
const admitted = (input: InputEvent): AdmittedEvent => ({
  input,
  keyHash: HASH,
  userKey: 'a:u',
  topic: input.kind,
});
const consent = (id: string, t: number, status: 'OPTED_IN' | 'OPTED_OUT') =>
  admitted({
    kind: 'consentChange',
    event: {
      ...base,
      event_id: id,
      occurred_at: t,
      channel: 'PUSH',
      status,
      source: null,
      external_id: null,
      identifiers: {},
    },
  });
const push = (id: string, t: number) =>
  admitted({
    kind: 'pushSent',
    event: {
      ...base,
      event_id: id,
      occurred_at: t,
      message_id: id,
      campaign_id: null,
      campaign_name: null,
      platform: null,
    },
  });
const app = (id: string, t: number) =>
  admitted({
    kind: 'appEvent',
    event: { ...base, event_id: id, occurred_at: t, event_name: 'open', external_id: null },
  });

describe('findWork', () => {
  it('a consent change makes its user dirty, around itself and the next change', () => {
    const state = new PartitionState(0);
    state.index.add(HASH, T + 5 * DAY_MS, 'PUSH', 'OPTED_IN');
    const { users, late } = findWork(state, [consent('c1', T, 'OPTED_OUT')]);
    const work = users.get('a:u')!;
    expect([...work.dirt.consentIds]).toEqual(['c1']);
    expect(work.around).toEqual([T, T + 5 * DAY_MS]);
    expect(late.get('consentChange')).toBe(1); // a later change was known already
  });

  it('a consent change also reads around the opt-out before it, when at most 30 days earlier', () => {
    const optedOut = () => {
      const state = new PartitionState(0);
      state.index.add(HASH, T, 'PUSH', 'OPTED_OUT');
      state.index.add(HASH, T + DAY_MS, 'PUSH', 'OPTED_OUT'); // a repeat: T stays the transition
      return state;
    };
    const around = (state: PartitionState, e: AdmittedEvent) => findWork(state, [e]).users.get('a:u')!.around;
    // An opt-in 20 days later may be the opt-out's next opt-in (the repeat's window is read anyway).
    expect(around(optedOut(), consent('in', T + 20 * DAY_MS, 'OPTED_IN'))).toEqual([T + 20 * DAY_MS, T]);
    // 31 days later it cannot change "won back within 30 days".
    expect(around(optedOut(), consent('in', T + 31 * DAY_MS, 'OPTED_IN'))).toEqual([T + 31 * DAY_MS]);
    // After an opt-in, nothing before it changes.
    const state = optedOut();
    state.index.add(HASH, T + 5 * DAY_MS, 'PUSH', 'OPTED_IN');
    expect(around(state, consent('out', T + 6 * DAY_MS, 'OPTED_OUT'))).toEqual([T + 6 * DAY_MS]);
  });

  it('a push changes the opt-outs within 30 days after it, and is late when it precedes one', () => {
    const state = new PartitionState(0);
    state.index.add(HASH, T, 'PUSH', 'OPTED_OUT');
    expect(findWork(state, [push('p-after', T + 1)]).users.size).toBe(0);
    expect(findWork(state, [push('p-long-before', T - 31 * DAY_MS)]).users.size).toBe(0);
    const { users, late } = findWork(state, [push('p', T - DAY_MS)]);
    expect(users.get('a:u')!.dirt.ranges).toEqual([[T - DAY_MS + 1, T + 29 * DAY_MS]]);
    expect(late.get('pushSent')).toBe(1);
  });

  it('an app event after an opt-out matters only when it is earlier than the known first activity', () => {
    const state = new PartitionState(0);
    state.index.add(HASH, T, 'PUSH', 'OPTED_OUT');
    expect(findWork(state, [app('x', T + DAY_MS)]).users.size).toBe(1); // first activity unknown
    state.rememberFirstActivity(HASH, 'PUSH', T, T + DAY_MS);
    expect(findWork(state, [app('y', T + 2 * DAY_MS)]).users.size).toBe(0);
    expect(findWork(state, [app('z', T + 1)]).users.get('a:u')!.dirt.ranges).toEqual([[T, T]]);
    state.rememberFirstActivity(HASH, 'PUSH', T, 0); // none within 30 days
    expect(findWork(state, [app('w', T + 20 * DAY_MS)]).users.size).toBe(1);
  });
});

describe('mergeRanges', () => {
  it('merges overlapping and touching closed ranges', () => {
    expect(
      mergeRanges([
        [5, 9],
        [1, 3],
        [4, 4],
        [20, 30],
        [25, 26],
      ]),
    ).toEqual([
      [1, 9],
      [20, 30],
    ]);
  });
});
