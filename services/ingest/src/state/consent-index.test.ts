import { DAY_MS } from '@optout/events';
import { describe, expect, it } from 'vitest';
import { ConsentIndex } from './consent-index.ts';

const T = Date.UTC(2025, 5, 1);

describe('ConsentIndex', () => {
  it('keeps each change once, in time order, and finds opt-outs in a range on any channel', () => {
    const index = new ConsentIndex();
    expect(index.add(7, T + DAY_MS, 'EMAIL', 'OPTED_OUT')).toBe(true);
    expect(index.add(7, T, 'PUSH', 'OPTED_OUT')).toBe(true);
    expect(index.add(7, T, 'PUSH', 'OPTED_OUT')).toBe(false);
    expect(index.add(7, T + 2 * DAY_MS, 'PUSH', 'OPTED_IN')).toBe(true);
    expect(index.users).toBe(1);
    expect(index.changes()).toBe(3);
    expect(index.optOutsIn(7, T, T + DAY_MS).map((c) => [c.t, c.channel])).toEqual([
      [T, 'PUSH'],
      [T + DAY_MS, 'EMAIL'],
    ]);
    expect(index.optOutsIn(7, T + 1, T + DAY_MS - 1)).toEqual([]);
    expect(index.optOutsIn(8, 0, T * 2)).toEqual([]);
  });

  it('finds the next change on a channel, skipping other channels', () => {
    const index = new ConsentIndex();
    index.add(1, T, 'PUSH', 'OPTED_OUT');
    index.add(1, T + DAY_MS, 'EMAIL', 'OPTED_IN');
    index.add(1, T + 2 * DAY_MS, 'PUSH', 'OPTED_IN');
    expect(index.nextOn(1, 'PUSH', T)).toBe(T + 2 * DAY_MS);
    expect(index.hasLaterOn(1, 'EMAIL', T + DAY_MS)).toBe(false);
    expect(index.nextOn(1, 'SMS', 0)).toBeNull();
  });

  it('finds the last transition on a channel before a time: the first of a run of equal statuses', () => {
    const index = new ConsentIndex();
    index.add(1, T, 'PUSH', 'OPTED_IN');
    index.add(1, T + DAY_MS, 'PUSH', 'OPTED_OUT');
    index.add(1, T + 2 * DAY_MS, 'EMAIL', 'OPTED_IN');
    index.add(1, T + 3 * DAY_MS, 'PUSH', 'OPTED_OUT'); // a repeat: not a transition
    index.add(1, T + 5 * DAY_MS, 'PUSH', 'OPTED_IN');
    expect(index.lastTransitionOn(1, 'PUSH', T + 4 * DAY_MS)).toEqual({
      t: T + DAY_MS,
      channel: 'PUSH',
      optedOut: true,
    });
    expect(index.lastTransitionOn(1, 'PUSH', T + 6 * DAY_MS)?.t).toBe(T + 5 * DAY_MS);
    // Strictly before: the change at the time itself is not its own predecessor.
    expect(index.lastTransitionOn(1, 'PUSH', T + DAY_MS)).toEqual({ t: T, channel: 'PUSH', optedOut: false });
    expect(index.lastTransitionOn(1, 'PUSH', T)).toBeNull();
    expect(index.lastTransitionOn(1, 'SMS', T * 2)).toBeNull();
  });

  it('replaces what is known under a hash (after an erasure)', () => {
    const index = new ConsentIndex();
    index.add(3, T, 'PUSH', 'OPTED_OUT');
    index.add(3, T + 1, 'PUSH', 'OPTED_IN');
    index.replace(3, [{ t: T + 5, channel: 'SMS', status: 'OPTED_OUT' }]);
    expect(index.changes()).toBe(1);
    expect(index.optOutsIn(3, 0, T * 2).map((c) => c.channel)).toEqual(['SMS']);
  });
});
