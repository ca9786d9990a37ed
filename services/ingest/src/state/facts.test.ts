import { describe, expect, it } from 'vitest';
import { changedFacts, DAY_MS, daysBefore, factsOf } from './facts.ts';
import { PartitionState } from './partition-state.ts';

const T = Date.UTC(2024, 4, 20, 12, 0, 0);
const common = (id: string, t: number) => ({ event_id: id, app_id: 'app', user_id: 'u', occurred_at: t });
const consent = (id: string, t: number, status: 'OPTED_IN' | 'OPTED_OUT') => ({
  kind: 'consentChange' as const,
  event: {
    ...common(id, t),
    channel: 'PUSH' as const,
    status,
    source: 'api',
    external_id: null,
    identifiers: {},
  },
});
const push = (id: string, t: number) => ({
  kind: 'pushSent' as const,
  event: { ...common(id, t), message_id: id, campaign_id: 'c1', campaign_name: null, platform: null },
});
const touch = (id: string, t: number, campaign: string, interaction: 'OPEN' | 'CLICK') => ({
  kind: 'campaignInteraction' as const,
  event: { ...common(id, t), campaign_id: campaign, campaign_name: null, message_id: null, interaction },
});
const app = (id: string, t: number, name: string) => ({
  kind: 'appEvent' as const,
  event: { ...common(id, t), event_name: name, external_id: null },
});

describe('daysBefore', () => {
  it('puts [t-1d, t) in bucket 1, so a lookback of L days is buckets 1..L', () => {
    expect(daysBefore(T, T - 1)).toBe(1);
    expect(daysBefore(T, T - DAY_MS)).toBe(1);
    expect(daysBefore(T, T - DAY_MS - 1)).toBe(2);
    expect(daysBefore(T, T - 30 * DAY_MS)).toBe(30);
  });
});

describe('factsOf', () => {
  it('counts pushes in [t - d days, t): the boundary t - 7d is in, t itself is out', () => {
    const state = new PartitionState(0);
    for (const e of [
      push('p1', T - 7 * DAY_MS),
      push('p2', T - 7 * DAY_MS - 1),
      push('p3', T),
      push('p4', T - 1),
    ])
      state.apply(e);
    state.apply(consent('c', T, 'OPTED_OUT'));
    const user = state.user('app', 'u');
    const facts = factsOf(user, 'PUSH', { id: 'c', t: T, kind: 'OPT_OUT', source: 'api' });
    expect(facts.pushesBefore[0]).toBe(1); // p4
    expect(facts.pushesBefore[6]).toBe(2); // p4, p1
    expect(facts.pushesBefore[7]).toBe(3); // + p2
  });

  it('finds the last touch, buckets interactions and events, and the next activity', () => {
    const state = new PartitionState(0);
    for (const e of [
      touch('i1', T - 3 * DAY_MS, 'a', 'OPEN'),
      touch('i2', T - 2 * DAY_MS + 5, 'b', 'CLICK'),
      touch('i3', T - 2 * DAY_MS + 5, 'a', 'CLICK'),
      app('e1', T - 10, 'open_app'),
      app('e2', T + 5 * DAY_MS, 'open_app'),
      app('e3', T + DAY_MS, 'purchase'),
      consent('c', T, 'OPTED_OUT'),
    ])
      state.apply(e);
    const facts = factsOf(state.user('app', 'u'), 'PUSH', { id: 'c', t: T, kind: 'OPT_OUT', source: 'api' });
    // Same millisecond: ties go by event_id, so i3 is the latest.
    expect(facts.lastTouch).toEqual({ campaignId: 'a', t: T - 2 * DAY_MS + 5 });
    expect(facts.touches).toContainEqual({
      campaignId: 'a',
      daysBefore: 3,
      opens: 1,
      clicks: 0,
      dismisses: 0,
      conversions: 0,
      interactions: 1,
    });
    expect(facts.eventCounts).toEqual([{ eventName: 'open_app', daysBefore: 1, events: 1 }]);
    expect(facts.nextActivityAt).toBe(T + DAY_MS);
  });
});

describe('changedFacts', () => {
  it('writes new facts once, rewrites on change, and tombstones a transition a late event undoes', () => {
    const state = new PartitionState(0);
    state.apply(consent('late-out', T, 'OPTED_OUT'));
    const user = state.user('app', 'u');
    expect(changedFacts(user, 0).upserts.map((f) => f.transition.id)).toEqual(['late-out']);
    expect(changedFacts(user, 0).upserts).toEqual([]); // nothing changed
    state.apply(push('p', T - 1));
    expect(changedFacts(user, 0).upserts.map((f) => f.pushesBefore[0])).toEqual([1]);
    // An earlier OPTED_OUT arrives late: it is the opt-out, the later one is a repeat.
    state.apply(consent('early-out', T - DAY_MS, 'OPTED_OUT'));
    const changes = changedFacts(user, 0);
    expect(changes.upserts.map((f) => f.transition.id)).toEqual(['early-out']);
    expect(changes.removals.map((r) => r.id)).toEqual(['late-out']);
  });

  it('ignores a redelivered event', () => {
    const state = new PartitionState(0);
    expect(state.apply(push('p', T)).admitted).toBe(true);
    expect(state.apply(push('p', T)).admitted).toBe(false);
  });
});

describe('duplicates in the compact lists', () => {
  it('recognises a redelivered push or app event by time and id, and keeps distinct ones at the same time', () => {
    const state = new PartitionState(0);
    expect(state.apply(push('a', T)).admitted).toBe(true);
    expect(state.apply(push('b', T)).admitted).toBe(true);
    expect(state.apply(push('a', T)).admitted).toBe(false);
    expect(state.apply(app('e', T, 'x')).admitted).toBe(true);
    expect(state.apply(app('e', T, 'x')).admitted).toBe(false);
    expect(state.apply(touch('i', T, 'c', 'OPEN')).admitted).toBe(true);
    expect(state.apply(touch('i', T, 'c', 'OPEN')).admitted).toBe(false);
    expect(state.user('app', 'u').eventCount()).toBe(4);
  });
});
