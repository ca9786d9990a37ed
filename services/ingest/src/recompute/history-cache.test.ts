import type { InputEvent } from '@optout/events';
import { describe, expect, it } from 'vitest';
import type { AdmittedEvent } from '../state/affected.ts';
import { mergeEvent } from './history-cache.ts';
import { readHistories, type Select } from './read.ts';

const T0 = Date.UTC(2026, 10, 1);
const HOUR = 3_600_000;

const push = (id: string, t: number): AdmittedEvent => ({
  input: {
    kind: 'pushSent',
    event: { event_id: id, app_id: 'app', user_id: 'u', occurred_at: t, campaign_id: null },
  } as unknown as InputEvent,
  keyHash: 1,
  userKey: 'app:u',
  topic: 'push_sent',
});

const optOut = (id: string, t: number): AdmittedEvent => ({
  input: {
    kind: 'consentChange',
    event: {
      event_id: id,
      app_id: 'app',
      user_id: 'u',
      occurred_at: t,
      channel: 'PUSH',
      status: 'OPTED_OUT',
      source: null,
    },
  } as unknown as InputEvent,
  keyHash: 1,
  userKey: 'app:u',
  topic: 'consent_change',
});

/** A read of [T0, T0 + 10 h] that saw push p1 (durable) and p2 (of the round being written). */
async function readBack() {
  const select: Select = async (_query, label) =>
    label === 'recompute_pushes'
      ? [
          { kind: 'p', app_id: 'app', user_id: 'u', event_id: 'p1', occurred_at_ms: T0 + HOUR },
          { kind: 'p', app_id: 'app', user_id: 'u', event_id: 'p2', occurred_at_ms: T0 + 2 * HOUR },
        ]
      : [];
  const read = await readHistories(select, [
    { appId: 'app', userId: 'u', from: T0, to: T0 + 10 * HOUR, erasedThrough: Number.NEGATIVE_INFINITY },
  ]);
  return read.get('app:u')!;
}

describe('mergeEvent: the round being written, added to a read that may have seen it', () => {
  it('adds each event once, whether the read saw it or not', async () => {
    const history = await readBack();
    const round = [push('p2', T0 + 2 * HOUR), push('p3', T0 + 3 * HOUR), push('p3', T0 + 3 * HOUR)];
    expect(round.map((e) => mergeEvent(history, e))).toEqual([false, true, false]);
    expect(history.events.pushes).toEqual([T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]);
  });

  it('keeps events outside the range out, and consent changes whatever their time', async () => {
    const history = await readBack();
    expect(mergeEvent(history, push('late', T0 + 11 * HOUR))).toBe(false);
    mergeEvent(history, optOut('c1', T0 + 20 * HOUR));
    expect(history.events.pushes).toEqual([T0 + HOUR, T0 + 2 * HOUR]);
    expect(history.consent.get('PUSH')?.map((c) => c.id)).toEqual(['c1']);
  });
});
