import { DAY_MS } from '@optout/events';
import { describe, expect, it } from 'vitest';
import { daysBefore, eventsAround, optOutFacts, type UserEvents } from './facts.ts';

const T = Date.UTC(2024, 4, 20, 12, 0, 0);
const none: UserEvents = { pushes: [], interactions: [], appEvents: [] };

describe('daysBefore', () => {
  it('puts [t-1d, t) in bucket 1, so a lookback of L days is buckets 1..L', () => {
    expect(daysBefore(T, T - 1)).toBe(1);
    expect(daysBefore(T, T - DAY_MS)).toBe(1);
    expect(daysBefore(T, T - DAY_MS - 1)).toBe(2);
    expect(daysBefore(T, T - 30 * DAY_MS)).toBe(30);
  });
});

describe('optOutFacts', () => {
  it('counts pushes in [t - d days, t): the boundary t - 7d is in, t itself is out', () => {
    const pushes = [T - 7 * DAY_MS - 1, T - 7 * DAY_MS, T - 1, T].sort((a, b) => a - b);
    const facts = optOutFacts({ ...none, pushes }, T);
    expect(facts.pushesBefore[0]).toBe(1);
    expect(facts.pushesBefore[6]).toBe(2);
    expect(facts.pushesBefore[7]).toBe(3);
    expect(facts.pushesBefore).toHaveLength(30);
  });

  it('finds the last touch (ties: the larger event id), buckets interactions by campaign and day', () => {
    const interactions = [
      { t: T - 40 * DAY_MS, id: 'old', campaignId: 'c0', type: 'OPEN' },
      { t: T - 2 * DAY_MS, id: 'a', campaignId: 'c1', type: 'OPEN' },
      { t: T - 2 * DAY_MS, id: 'b', campaignId: 'c2', type: 'CLICK' },
      { t: T - 2 * DAY_MS + 5, id: 'c', campaignId: 'c1', type: 'UNKNOWN' },
      { t: T, id: 'at-t', campaignId: 'c3', type: 'OPEN' },
    ];
    const facts = optOutFacts({ ...none, interactions }, T);
    expect(facts.lastTouch).toEqual({ campaignId: 'c1', t: T - 2 * DAY_MS + 5 });
    expect(facts.touches).toEqual([
      { campaignId: 'c1', daysBefore: 2, opens: 1, clicks: 0, dismisses: 0, conversions: 0, interactions: 2 },
      { campaignId: 'c2', daysBefore: 2, opens: 0, clicks: 1, dismisses: 0, conversions: 0, interactions: 1 },
    ]);
  });

  it('takes the first app event in (t, t + 30d] as next activity, and 0 beyond it', () => {
    const appEvents = [
      { t: T - DAY_MS, name: 'open' },
      { t: T, name: 'at-t' },
      { t: T + 31 * DAY_MS, name: 'late' },
    ];
    expect(optOutFacts({ ...none, appEvents }, T).nextActivityAt).toBe(0);
    const within = [...appEvents.slice(0, 2), { t: T + 30 * DAY_MS, name: 'edge' }, appEvents[2]!];
    const facts = optOutFacts({ ...none, appEvents: within }, T);
    expect(facts.nextActivityAt).toBe(T + 30 * DAY_MS);
    expect(facts.eventCounts).toEqual([{ eventName: 'open', daysBefore: 1, events: 1 }]);
  });
});

describe('eventsAround', () => {
  it('counts every event within 30 days of t, either side, boundaries included', () => {
    const events: UserEvents = {
      pushes: [T - 30 * DAY_MS - 1, T - 30 * DAY_MS, T],
      interactions: [{ t: T + 30 * DAY_MS, id: 'x', campaignId: 'c', type: 'OPEN' }],
      appEvents: [
        { t: T + 30 * DAY_MS + 1, name: 'out' },
        { t: T + 1, name: 'in' },
      ].sort((a, b) => a.t - b.t),
    };
    expect(eventsAround(events, T)).toBe(4);
  });
});
