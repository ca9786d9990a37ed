import { describe, expect, it } from 'vitest';
import { generateEvents, mulberry32, outcomeStableAt, shuffle, withDuplicates } from './generate.ts';
import {
  campaigns,
  DAY_MS,
  dedup,
  exportRows,
  HOUR_MS,
  type InputEvent,
  lastEvents,
  optOutFacts,
  pushPressure,
  resolveRange,
  toEventSet,
  transitions,
  trend,
} from './reference.ts';

const now = Date.UTC(2024, 4, 20, 10, 17, 3, 123);
const events = generateEvents({ seed: 7, now });
const set = toEventSet(events);
const all = transitions(events);
const optOuts = all.filter((t) => t.kind === 'OPT_OUT');

describe('mulberry32', () => {
  it('is deterministic and uniform-ish in [0, 1)', () => {
    const a = mulberry32(1);
    const b = mulberry32(1);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('generateEvents', () => {
  it('same seed -> same events; another seed -> other events with no shared event_id', () => {
    expect(generateEvents({ seed: 7, now })).toEqual(events);
    const other = generateEvents({ seed: 8, now });
    expect(other).not.toEqual(events);
    const ids = new Set(events.map((e) => e.event.event_id));
    expect(ids.size).toBe(events.length);
    expect(other.some((e) => ids.has(e.event.event_id))).toBe(false);
  });

  it('keeps every event in [now - days, now - 1 hour] and honours the size options', () => {
    expect(events.length).toBeGreaterThan(1000);
    expect(
      events.every((e) => e.event.occurred_at >= now - 14 * DAY_MS && e.event.occurred_at <= now - HOUR_MS),
    ).toBe(true);
    expect(new Set(events.map((e) => e.event.app_id))).toEqual(new Set(['app-1', 'app-2']));
    const small = generateEvents({
      seed: 3,
      now,
      apps: 1,
      users: 5,
      days: 3,
      campaigns: 2,
      channels: ['SMS'],
    });
    expect(small.every((e) => e.event.occurred_at >= now - 3 * DAY_MS)).toBe(true);
    expect(new Set(small.map((e) => e.event.user_id)).size).toBeLessThanOrEqual(5);
    expect(
      small.every((e) => e.kind !== 'consentChange' || e.event.channel === 'SMS') &&
        small.every(
          (e) =>
            e.kind !== 'pushSent' || e.event.campaign_id === null || /^c-[12]$/.test(e.event.campaign_id),
        ),
    ).toBe(true);
  });

  it('keeps every opt-out outcome away from flipping while a test runs', () => {
    expect(optOuts.length).toBeGreaterThan(20);
    expect(optOuts.every((t) => outcomeStableAt(t.occurred_at_ms, now))).toBe(true);
    expect(outcomeStableAt(now - 7 * DAY_MS + 29 * 60_000, now)).toBe(false);
    expect(outcomeStableAt(now - 7 * DAY_MS + 31 * 60_000, now)).toBe(true);
  });

  it('contains the consent cases: unknown -> out, opt-ins, repeated OPTED_OUT, opting back in, same-ms changes', () => {
    const ids = new Set(all.map((t) => t.transition_id));
    const repeats = set.consents.filter((c) => c.status === 'OPTED_OUT' && !ids.has(c.event_id));
    expect(repeats.length).toBeGreaterThan(0);
    expect(all.some((t) => t.kind === 'OPT_IN')).toBe(true);
    const firstOfHistory = (t: (typeof all)[number]) =>
      !set.consents.some(
        (c) =>
          c.app_id === t.app_id &&
          c.user_id === t.user_id &&
          c.channel === t.channel &&
          (c.occurred_at < t.occurred_at_ms ||
            (c.occurred_at === t.occurred_at_ms && c.event_id < t.transition_id)),
      );
    expect(optOuts.some(firstOfHistory)).toBe(true); // unknown -> OPTED_OUT
    const backIn = all.filter(
      (t) =>
        t.kind === 'OPT_IN' &&
        optOuts.some(
          (o) =>
            o.app_id === t.app_id &&
            o.user_id === t.user_id &&
            o.channel === t.channel &&
            o.occurred_at_ms <= t.occurred_at_ms,
        ),
    );
    expect(backIn.length).toBeGreaterThan(0);
    const sameMs = set.consents.filter((c) =>
      set.consents.some(
        (d) =>
          d !== c &&
          d.app_id === c.app_id &&
          d.user_id === c.user_id &&
          d.channel === c.channel &&
          d.occurred_at === c.occurred_at,
      ),
    );
    expect(sameMs.length).toBeGreaterThan(0);
    expect(set.consents.some((c) => c.source === null)).toBe(true);
    expect(set.consents.some((c) => Object.keys(c.identifiers).length === 0)).toBe(true);
    expect(set.consents.some((c) => Object.keys(c.identifiers).length > 1)).toBe(true);
  });

  it('contains events exactly at window boundaries of real opt-outs', () => {
    const pushAt = (t: (typeof optOuts)[number], ms: number) =>
      set.pushes.some((p) => p.app_id === t.app_id && p.user_id === t.user_id && p.occurred_at === ms);
    const touchAt = (t: (typeof optOuts)[number], ms: number) =>
      set.interactions.some((p) => p.app_id === t.app_id && p.user_id === t.user_id && p.occurred_at === ms);
    const appAt = (t: (typeof optOuts)[number], ms: number) =>
      set.appEvents.some((p) => p.app_id === t.app_id && p.user_id === t.user_id && p.occurred_at === ms);
    expect(optOuts.some((t) => pushAt(t, t.occurred_at_ms - 7 * DAY_MS))).toBe(true);
    expect(optOuts.some((t) => pushAt(t, t.occurred_at_ms - 7 * DAY_MS - 1))).toBe(true);
    expect(optOuts.some((t) => pushAt(t, t.occurred_at_ms - DAY_MS))).toBe(true);
    expect(optOuts.some((t) => pushAt(t, t.occurred_at_ms))).toBe(true);
    expect(optOuts.some((t) => touchAt(t, t.occurred_at_ms - 7 * DAY_MS))).toBe(true);
    expect(optOuts.some((t) => appAt(t, t.occurred_at_ms - 7 * DAY_MS))).toBe(true);
    expect(optOuts.some((t) => appAt(t, t.occurred_at_ms + 7 * DAY_MS))).toBe(true);
    // and the boundary changes the answer: a 7-day and an 8-day window differ somewhere
    const facts = optOutFacts(set);
    expect(facts.some((f) => f.touches.some((r) => r.days_before === 7))).toBe(true);
  });

  it('has a realistic mix of pushes, interactions, app events and identities', () => {
    expect(set.pushes.some((p) => p.campaign_id === null)).toBe(true);
    expect(set.pushes.some((p) => p.campaign_id !== null && p.campaign_name === null)).toBe(true);
    expect(new Set(set.interactions.map((i) => i.interaction))).toEqual(
      new Set(['OPEN', 'CLICK', 'DISMISS', 'CONVERSION', 'UNKNOWN']),
    );
    expect(new Set(set.appEvents.map((e) => e.event_name)).size).toBeGreaterThanOrEqual(4);
    const externalIds = new Map<string, Set<string>>();
    for (const e of [...set.appEvents, ...set.consents]) {
      if (e.external_id === null) continue;
      const key = `${e.app_id}/${e.user_id}`;
      externalIds.set(key, (externalIds.get(key) ?? new Set()).add(e.external_id));
    }
    expect([...externalIds.values()].some((s) => s.size > 1)).toBe(true);
    const byMs = new Map<number, number>();
    for (const e of events) byMs.set(e.event.occurred_at, (byMs.get(e.event.occurred_at) ?? 0) + 1);
    expect([...byMs.values()].some((n) => n > 1)).toBe(true);
  });

  it('yields every outcome and a 10+ push-pressure bucket', () => {
    const range = resolveRange({ period: 'last_month' }, now);
    const outcomes = ['app-1', 'app-2'].map((appId) => lastEvents(set, { appId, range }, now).outcomes);
    for (const o of ['retained', 'churned', 'pending'] as const) {
      expect(outcomes.some((x) => x[o].opt_outs > 0)).toBe(true);
    }
    const pressure = ['app-1', 'app-2'].map((appId) => pushPressure(set, { appId, range }, now));
    expect(pressure.some((p) => p.histogram.at(-1)!.opt_outs > 0)).toBe(true);
  });
});

describe('shuffle and withDuplicates', () => {
  it('shuffle is a seeded permutation', () => {
    const s = shuffle(events, 1);
    expect(s).toEqual(shuffle(events, 1));
    expect(s).not.toEqual(events);
    expect(s.map((e) => e.event.event_id).sort()).toEqual(events.map((e) => e.event.event_id).sort());
  });

  it('withDuplicates adds identical copies that dedup removes', () => {
    const d = withDuplicates(events, 2, 0.2);
    expect(d.length).toBe(events.length + Math.round(events.length * 0.2));
    expect(new Set(d.map((e) => e.event.event_id)).size).toBe(events.length);
    const firstById = new Map<string, InputEvent>(events.map((e) => [e.event.event_id, e]));
    expect(d.every((e) => JSON.stringify(e) === JSON.stringify(firstById.get(e.event.event_id)))).toBe(true);
    expect(dedup(d).length).toBe(events.length);
  });

  it('the reference gives the same answers for a shuffled, duplicated delivery', () => {
    const delivered = toEventSet(withDuplicates(shuffle(events, 3), 4, 0.3));
    const range = resolveRange(
      { period: 'custom', from: '2024-05-08', to: '2024-05-19', tz: 'America/New_York' },
      now,
    );
    for (const appId of ['app-1', 'app-2']) {
      for (const channel of ['PUSH', 'EMAIL'] as const) {
        const p = { appId, channel, range };
        const answers = (s: typeof set) => [
          trend(s, { ...p, groupBy: 'source' }, now),
          pushPressure(s, p, now),
          campaigns(s, { ...p, lookbackDays: 14 }, now),
          lastEvents(s, { ...p, count: 'unique' }, now),
          exportRows(s, p, now),
        ];
        expect(answers(delivered)).toEqual(answers(set));
      }
    }
    expect(transitions(delivered)).toEqual(all);
    expect(optOutFacts(delivered)).toEqual(optOutFacts(set));
  });
});
