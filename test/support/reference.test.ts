import { describe, expect, it } from 'vitest';
import {
  type Channel,
  campaigns,
  csvCell,
  DAY_MS,
  daysBefore,
  dedup,
  exportCsv,
  exportRows,
  HOUR_MS,
  type InputEvent,
  type Interaction,
  lastEvents,
  lastTouch,
  latestKnown,
  nearestRank,
  optOutFacts,
  outcome,
  pushesBefore,
  pushPressure,
  resolveRange,
  startOfLocalDay,
  transitions,
  trend,
} from './reference.ts';

// ------------------------------------------------------------------ builders

let seq = 0;
const nextId = () => `e${String(++seq).padStart(5, '0')}`;
const base = (user: string, at: number, id?: string, app = 'a') => ({
  event_id: id ?? nextId(),
  app_id: app,
  user_id: user,
  occurred_at: at,
});

function push(
  user: string,
  at: number,
  o: { campaign?: string | null; name?: string | null; app?: string } = {},
) {
  return {
    kind: 'pushSent',
    event: {
      ...base(user, at, undefined, o.app),
      message_id: `m-${seq}`,
      campaign_id: o.campaign ?? null,
      campaign_name: o.name ?? null,
      platform: null,
    },
  } satisfies InputEvent;
}

function touch(
  user: string,
  at: number,
  campaign: string,
  interaction: Interaction = 'OPEN',
  o: { name?: string | null; id?: string } = {},
) {
  return {
    kind: 'campaignInteraction',
    event: {
      ...base(user, at, o.id),
      campaign_id: campaign,
      campaign_name: o.name ?? null,
      message_id: null,
      interaction,
    },
  } satisfies InputEvent;
}

function app(user: string, at: number, name = 'open', o: { externalId?: string | null; id?: string } = {}) {
  return {
    kind: 'appEvent',
    event: { ...base(user, at, o.id), event_name: name, external_id: o.externalId ?? null },
  } satisfies InputEvent;
}

function consent(
  user: string,
  at: number,
  status: 'OPTED_IN' | 'OPTED_OUT',
  o: {
    channel?: Channel;
    source?: string | null;
    externalId?: string | null;
    identifiers?: Record<string, string>;
    id?: string;
    app?: string;
  } = {},
) {
  return {
    kind: 'consentChange',
    event: {
      ...base(user, at, o.id, o.app),
      channel: o.channel ?? 'PUSH',
      status,
      source: o.source ?? null,
      external_id: o.externalId ?? null,
      identifiers: o.identifiers ?? {},
    },
  } satisfies InputEvent;
}

const OUT = 'OPTED_OUT' as const;
const IN = 'OPTED_IN' as const;
const T = Date.UTC(2024, 4, 15, 12, 0, 0); // 2024-05-15T12:00Z, the opt-out time in most examples
const RANGE = resolveRange({ period: 'custom', from: '2024-05-10', to: '2024-05-20', tz: 'UTC' }, T);
const P = { appId: 'a', channel: 'PUSH' as const, range: RANGE };

function permutations<X>(list: X[]): X[][] {
  if (list.length <= 1) return [list];
  return list.flatMap((x, i) =>
    permutations([...list.slice(0, i), ...list.slice(i + 1)]).map((rest) => [x, ...rest]),
  );
}

const kinds = (events: InputEvent[]) =>
  transitions(events).map((t) => [t.user_id, t.channel, t.kind, t.transition_id, t.occurred_at_ms]);

// ------------------------------------------------------------------ transitions

describe('transitions', () => {
  it('unknown then OPTED_OUT is an opt-out, with its source; unknown then OPTED_IN is an opt-in', () => {
    const events = [
      consent('u1', T, OUT, { id: 'x1', source: 'os_settings' }),
      consent('u2', T, IN, { id: 'x2' }),
    ];
    expect(transitions(events)).toEqual([
      {
        app_id: 'a',
        channel: 'PUSH',
        user_id: 'u1',
        transition_id: 'x1',
        kind: 'OPT_OUT',
        occurred_at_ms: T,
        source: 'os_settings',
      },
      {
        app_id: 'a',
        channel: 'PUSH',
        user_id: 'u2',
        transition_id: 'x2',
        kind: 'OPT_IN',
        occurred_at_ms: T,
        source: null,
      },
    ]);
  });

  it('a repeated OPTED_OUT (or OPTED_IN) without the other status between is not a new transition', () => {
    const events = [
      consent('u', T, OUT, { id: 'a1' }),
      consent('u', T + 1, OUT, { id: 'a2' }),
      consent('u', T + 2, IN, { id: 'a3' }),
      consent('u', T + 3, IN, { id: 'a4' }),
      consent('u', T + 4, OUT, { id: 'a5' }),
    ];
    expect(kinds(events)).toEqual([
      ['u', 'PUSH', 'OPT_OUT', 'a1', T],
      ['u', 'PUSH', 'OPT_IN', 'a3', T + 2],
      ['u', 'PUSH', 'OPT_OUT', 'a5', T + 4],
    ]);
  });

  it('keeps channels and apps apart', () => {
    const events = [
      consent('u', T, OUT, { id: 'p', channel: 'PUSH' }),
      consent('u', T + 1, OUT, { id: 'e', channel: 'EMAIL' }),
      consent('u', T + 2, OUT, { id: 'b', app: 'other' }),
    ];
    expect(transitions(events).map((t) => [t.app_id, t.channel, t.transition_id])).toEqual([
      ['a', 'EMAIL', 'e'],
      ['a', 'PUSH', 'p'],
      ['other', 'PUSH', 'b'],
    ]);
  });

  it('uses event time, not arrival order: a late earlier OPTED_OUT takes the opt-out over', () => {
    const events = [
      consent('u', T, OUT, { id: 'k2' }),
      consent('u', T + HOUR_MS, IN, { id: 'k3' }),
      consent('u', T + 2 * HOUR_MS, OUT, { id: 'k4' }),
      consent('u', T - HOUR_MS, OUT, { id: 'k1' }), // arrives last, happened first
    ];
    const expected = [
      ['u', 'PUSH', 'OPT_OUT', 'k1', T - HOUR_MS],
      ['u', 'PUSH', 'OPT_IN', 'k3', T + HOUR_MS],
      ['u', 'PUSH', 'OPT_OUT', 'k4', T + 2 * HOUR_MS],
    ];
    for (const order of permutations(events)) expect(kinds(order)).toEqual(expected);
  });

  it('breaks ties on occurred_at by event_id ascending', () => {
    expect(kinds([consent('u', T, OUT, { id: 'b' }), consent('u', T, IN, { id: 'a' })])).toEqual([
      ['u', 'PUSH', 'OPT_IN', 'a', T],
      ['u', 'PUSH', 'OPT_OUT', 'b', T],
    ]);
    expect(kinds([consent('u', T, IN, { id: 'b' }), consent('u', T, OUT, { id: 'a' })])).toEqual([
      ['u', 'PUSH', 'OPT_OUT', 'a', T],
      ['u', 'PUSH', 'OPT_IN', 'b', T],
    ]);
  });

  it('counts a duplicated event (same event_id) once', () => {
    const out = consent('u', T, OUT, { id: 'd1' });
    const events = [out, consent('u', T + 1, IN, { id: 'd2' }), { ...out, event: { ...out.event } }];
    expect(dedup(events)).toHaveLength(2);
    expect(kinds(events)).toEqual([
      ['u', 'PUSH', 'OPT_OUT', 'd1', T],
      ['u', 'PUSH', 'OPT_IN', 'd2', T + 1],
    ]);
  });
});

// ------------------------------------------------------------------ per-opt-out facts

describe('windows before an opt-out', () => {
  const optOut = consent('u', T, OUT, { id: 'o' });
  const t = () => transitions([optOut])[0]!;

  it('push pressure counts [t - W, t): includes exactly t - W, excludes t and other users/apps', () => {
    const events = [
      optOut,
      push('u', T - 7 * DAY_MS), // in for W=7
      push('u', T - 7 * DAY_MS - 1), // out for W=7, in for W=8
      push('u', T - DAY_MS), // in for W=1
      push('u', T - 1), // in
      push('u', T), // t itself: out
      push('u', T + 1), // after: out
      push('v', T - 1), // other user
      push('u', T - 1, { app: 'other' }), // other app
    ];
    expect(pushesBefore(events, t(), 7)).toBe(3);
    expect(pushesBefore(events, t(), 1)).toBe(2);
    const fact = optOutFacts(events)[0]!;
    expect(fact.pushes_before).toHaveLength(30);
    expect(fact.pushes_before.slice(0, 9)).toEqual([2, 2, 2, 2, 2, 2, 3, 4, 4]);
    expect(fact.pushes_before[29]).toBe(4);
  });

  it('days_before is d with e in [t - d days, t - (d-1) days): t - 7d exactly is bucket 7', () => {
    expect(daysBefore(T, T - 1)).toBe(1);
    expect(daysBefore(T, T - DAY_MS)).toBe(1);
    expect(daysBefore(T, T - DAY_MS - 1)).toBe(2);
    expect(daysBefore(T, T - 7 * DAY_MS)).toBe(7);
    expect(daysBefore(T, T - 30 * DAY_MS)).toBe(30);
  });

  it('fact rows: touches and event counts per day-before bucket over [t - 30d, t)', () => {
    const events = [
      optOut,
      touch('u', T - 1, 'c1', 'OPEN'),
      touch('u', T - DAY_MS, 'c1', 'CLICK'),
      touch('u', T - 7 * DAY_MS, 'c1', 'DISMISS'),
      touch('u', T - 7 * DAY_MS, 'c2', 'UNKNOWN'),
      touch('u', T - 30 * DAY_MS, 'c2', 'CONVERSION'),
      touch('u', T - 30 * DAY_MS - 1, 'c2', 'OPEN'), // outside 30 days
      touch('u', T, 'c3', 'OPEN'), // at t: outside
      app('u', T - 2 * DAY_MS, 'buy'),
      app('u', T - 2 * DAY_MS + 1, 'buy'),
      app('u', T - 7 * DAY_MS, 'open'),
      app('u', T, 'open'), // at t: neither before nor after
      app('u', T + 10, 'open'),
      app('u', T + 5, 'open'),
    ];
    const fact = optOutFacts(events)[0]!;
    const z = { opens: 0, clicks: 0, dismisses: 0, conversions: 0 };
    expect(fact.touches).toEqual([
      { campaign_id: 'c1', days_before: 1, ...z, opens: 1, clicks: 1, interactions: 2 },
      { campaign_id: 'c1', days_before: 7, ...z, dismisses: 1, interactions: 1 },
      { campaign_id: 'c2', days_before: 7, ...z, interactions: 1 },
      { campaign_id: 'c2', days_before: 30, ...z, conversions: 1, interactions: 1 },
    ]);
    expect(fact.event_counts).toEqual([
      { event_name: 'buy', days_before: 2, events: 2 },
      { event_name: 'open', days_before: 7, events: 1 },
    ]);
    expect(fact.next_activity_at_ms).toBe(T + 5);
    expect(fact.last_touch).toEqual({ campaign_id: 'c1', at_ms: T - 1 });
  });

  it('next activity is 0 when no app event follows t', () => {
    expect(optOutFacts([optOut, app('u', T)])[0]!.next_activity_at_ms).toBe(0);
  });

  it('next opt-in: the first opt-in on the channel after t, if within 30 days (inclusive), else 0', () => {
    const next = (events: InputEvent[]) => optOutFacts(events).map((f) => f.next_opt_in_at_ms);
    expect(next([optOut])).toEqual([0]);
    expect(next([optOut, consent('u', T + 30 * DAY_MS, IN, { id: 'i1' })])).toEqual([T + 30 * DAY_MS]);
    expect(next([optOut, consent('u', T + 30 * DAY_MS + 1, IN, { id: 'i1' })])).toEqual([0]);
    // The same millisecond after it in event_id order; before it, not.
    expect(next([optOut, consent('u', T, IN, { id: 'p' })])).toEqual([T]);
    expect(next([optOut, consent('u', T, IN, { id: 'a' })])).toEqual([0]);
    // Not another channel's, another user's, or a repeat's.
    expect(
      next([
        optOut,
        consent('u', T + 1, IN, { id: 'e1', channel: 'EMAIL' }),
        consent('v', T + 2, IN, { id: 'v1' }),
        consent('u', T + 3, OUT, { id: 'r1' }),
        consent('u', T + 4, IN, { id: 'i2' }),
      ]),
    ).toEqual([T + 4]);
  });

  it('last touch: the latest interaction in [t - L, t); equal times go to the larger event_id', () => {
    const events = [
      optOut,
      touch('u', T - 2 * HOUR_MS, 'c1'),
      touch('u', T - HOUR_MS, 'c2', 'DISMISS', { id: 'z1' }),
      touch('u', T - HOUR_MS, 'c4', 'OPEN', { id: 'z0' }),
      touch('u', T, 'c3'),
    ];
    expect(lastTouch(events, t(), 7)?.campaign_id).toBe('c2');
    const old = [optOut, touch('u', T - 8 * DAY_MS, 'c9')];
    expect(lastTouch(old, t(), 7)).toBeNull();
    expect(lastTouch(old, t(), 8)?.campaign_id).toBe('c9');
    expect(optOutFacts(old)[0]!.last_touch).toEqual({ campaign_id: 'c9', at_ms: T - 8 * DAY_MS });
  });

  it('outcome: retained iff an app event in (t, t + X]; else churned if t + X < now, else pending', () => {
    const X = 7;
    const end = T + X * DAY_MS;
    expect(outcome([optOut, app('u', end)], t(), X, end + 1)).toBe('retained');
    expect(outcome([optOut, app('u', end)], t(), X, end - DAY_MS)).toBe('retained'); // known already
    expect(outcome([optOut, app('u', end + 1)], t(), X, end + 1)).toBe('churned');
    expect(outcome([optOut, app('u', T)], t(), X, end + 1)).toBe('churned'); // at t is not after t
    expect(outcome([optOut, app('v', T + 1)], t(), X, end + 1)).toBe('churned'); // other user
    expect(outcome([optOut], t(), X, end)).toBe('pending'); // t + X is now: not yet past
    expect(outcome([optOut], t(), X, end - 1)).toBe('pending');
  });
});

// ------------------------------------------------------------------ latest known

describe('latestKnown', () => {
  it('takes the value of the latest record carrying one; ties go to the larger event_id', () => {
    const events = [
      app('u', T, 'open', { externalId: 'E1' }),
      consent('u', T + 10, OUT, { externalId: 'E2', identifiers: { phone: '1', email: 'a@x' } }),
      app('u', T + 20, 'open', { externalId: null }), // carries none
      consent('u', T + 30, IN, { identifiers: {} }), // empty map carries none
      app('u2', T, 'open', { externalId: 'A', id: 'q2' }),
      app('u2', T, 'open', { externalId: 'B', id: 'q1' }),
      push('u', T, { campaign: 'c1', name: 'Old' }),
      touch('u', T + 1, 'c1', 'OPEN', { name: 'New' }),
      push('u', T + 2, { campaign: 'c1', name: null }),
      push('u', T + 3, { campaign: null, name: 'transactional' }),
    ];
    const known = latestKnown(events);
    expect(known.external_ids.map((e) => [e.user_id, e.external_id])).toEqual([
      ['u', 'E2'],
      ['u2', 'A'],
    ]);
    expect(known.identifiers).toHaveLength(1);
    expect(Object.entries(known.identifiers[0]!.identifiers)).toEqual([
      ['email', 'a@x'],
      ['phone', '1'],
    ]);
    expect(known.campaign_names.map((c) => [c.campaign_id, c.campaign_name, c.observed_at_ms])).toEqual([
      ['c1', 'New', T + 1],
    ]);
  });
});

// ------------------------------------------------------------------ periods

describe('resolveRange', () => {
  it('presets end today in tz, inclusive', () => {
    const now = Date.UTC(2024, 4, 2, 3, 0); // 2024-05-01 23:00 in New York
    expect(resolveRange({ period: 'last_week', tz: 'America/New_York' }, now)).toMatchObject({
      from: '2024-04-25',
      to: '2024-05-01',
    });
    expect(resolveRange({ period: 'last_week' }, now)).toMatchObject({
      from: '2024-04-26',
      to: '2024-05-02',
      tz: 'UTC',
    });
    expect(resolveRange({ period: 'last_month' }, now)).toMatchObject({
      from: '2024-04-03',
      to: '2024-05-02',
    });
    expect(resolveRange({ period: 'last_year' }, now)).toMatchObject({
      from: '2023-05-04',
      to: '2024-05-02',
    });
  });

  it('start/end are local midnights, also across DST', () => {
    const spring = resolveRange(
      { period: 'custom', from: '2024-03-10', to: '2024-03-10', tz: 'America/New_York' },
      0,
    );
    expect(new Date(spring.startMs).toISOString()).toBe('2024-03-10T05:00:00.000Z'); // EST
    expect(new Date(spring.endMs).toISOString()).toBe('2024-03-11T04:00:00.000Z'); // EDT: a 23h day
    const fall = resolveRange(
      { period: 'custom', from: '2024-11-03', to: '2024-11-03', tz: 'America/New_York' },
      0,
    );
    expect(fall.endMs - fall.startMs).toBe(25 * HOUR_MS);
    expect(new Date(startOfLocalDay('2024-05-01', 'Asia/Kolkata')).toISOString()).toBe(
      '2024-04-30T18:30:00.000Z',
    );
    // Chile skips 00:00..01:00 on 2024-09-08: the day starts at 01:00 -03 = 04:00Z.
    expect(new Date(startOfLocalDay('2024-09-08', 'America/Santiago')).toISOString()).toBe(
      '2024-09-08T04:00:00.000Z',
    );
  });

  it('rejects bad custom ranges', () => {
    expect(() => resolveRange({ period: 'custom', from: '2024-05-02', to: '2024-05-01' }, 0)).toThrow(
      RangeError,
    );
    expect(() => resolveRange({ period: 'custom', from: '2024-02-30', to: '2024-03-01' }, 0)).toThrow(
      RangeError,
    );
    expect(() => resolveRange({ period: 'custom', from: '2024-01-01' }, 0)).toThrow(RangeError);
    expect(() => resolveRange({ period: 'custom', from: '2023-01-01', to: '2024-01-02' }, 0)).toThrow(
      RangeError,
    ); // 367 days
    expect(resolveRange({ period: 'custom', from: '2024-01-01', to: '2024-12-31' }, 0).to).toBe('2024-12-31'); // 366
    expect(() => resolveRange({ period: 'last_week', tz: 'Mars/Olympus' }, 0)).toThrow(RangeError);
  });
});

// ------------------------------------------------------------------ endpoints

describe('trend', () => {
  const range = resolveRange(
    { period: 'custom', from: '2024-05-01', to: '2024-05-02', tz: 'America/New_York' },
    0,
  );
  const z = { opt_outs: 0, opt_ins: 0, users: 0, baseline: 0, spike: false };
  const quiet = { baseline: 0, spike: false };
  const events = [
    consent('u1', Date.UTC(2024, 4, 2, 3), OUT, { source: 'api' }), // 2024-05-01 23:00 local
    consent('u2', Date.UTC(2024, 4, 1, 3), OUT), // 2024-04-30 local: out of range
    consent('u4', Date.UTC(2024, 4, 1, 12), OUT, { source: 'api' }),
    consent('u3', Date.UTC(2024, 4, 2, 5), OUT),
    consent('u3', Date.UTC(2024, 4, 2, 6), IN, { source: 'preference_center' }),
    consent('u3', Date.UTC(2024, 4, 2, 7), OUT),
    consent('u1', Date.UTC(2024, 4, 2, 8), OUT, { channel: 'EMAIL' }),
  ];

  it('buckets by calendar day in tz (03:00Z is the previous day in New York), zero-filled', () => {
    const body = trend(events, { appId: 'a', range }, 0);
    expect(body).toEqual({
      app_id: 'a',
      channel: 'PUSH',
      range: {
        period: 'custom',
        from: '2024-05-01',
        to: '2024-05-02',
        tz: 'America/New_York',
        start: '2024-05-01T04:00:00.000Z',
        end: '2024-05-03T04:00:00.000Z',
      },
      approximate: false,
      totals: { opt_outs: 4, opt_ins: 1, users: 3 },
      // SPEC 5.1: the 2 days before (u2's opt-out on 30 April), and each day's 28-day baseline.
      previous: { from: '2024-04-29', to: '2024-04-30', opt_outs: 1, opt_ins: 0, users: 1 },
      days: [
        { date: '2024-05-01', opt_outs: 2, opt_ins: 0, users: 2, baseline: 0, spike: false },
        { date: '2024-05-02', opt_outs: 2, opt_ins: 1, users: 1, baseline: 0, spike: false },
      ],
    });
    const wider = resolveRange(
      { period: 'custom', from: '2024-04-29', to: '2024-05-03', tz: 'America/New_York' },
      0,
    );
    expect(trend(events, { appId: 'a', range: wider }, 0).days.map((d) => d.opt_outs)).toEqual([
      0, 1, 2, 2, 0,
    ]);
  });

  it('groups by source: opt_outs desc, then source with null last', () => {
    const body = trend(events, { appId: 'a', range, groupBy: 'source' }, 0);
    expect(body.sources).toEqual([
      {
        source: 'api',
        opt_outs: 2,
        opt_ins: 0,
        users: 2,
        days: [
          { date: '2024-05-01', opt_outs: 2, opt_ins: 0, users: 2, ...quiet },
          { date: '2024-05-02', ...z },
        ],
      },
      {
        source: null,
        opt_outs: 2,
        opt_ins: 0,
        users: 1,
        days: [
          { date: '2024-05-01', ...z },
          { date: '2024-05-02', opt_outs: 2, opt_ins: 0, users: 1, ...quiet },
        ],
      },
      {
        source: 'preference_center',
        opt_outs: 0,
        opt_ins: 1,
        users: 0,
        days: [
          { date: '2024-05-01', ...z },
          { date: '2024-05-02', opt_outs: 0, opt_ins: 1, users: 0, ...quiet },
        ],
      },
    ]);
  });

  it('a DST day is 23 hours long: 23:30 EDT still counts, the next midnight does not', () => {
    const dst = resolveRange(
      { period: 'custom', from: '2024-03-10', to: '2024-03-10', tz: 'America/New_York' },
      0,
    );
    const e = [consent('x', Date.UTC(2024, 2, 11, 3, 30), OUT), consent('y', Date.UTC(2024, 2, 11, 4), OUT)];
    expect(trend(e, { appId: 'a', range: dst }, 0).totals.opt_outs).toBe(1);
  });
});

describe('push-pressure', () => {
  it('nearest rank', () => {
    expect(nearestRank([4, 3, 2, 1], 50)).toBe(2);
    expect(nearestRank([1, 2, 3, 4], 90)).toBe(4);
    expect(nearestRank([5], 50)).toBe(5);
    expect(nearestRank([], 50)).toBeNull();
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
  });

  it('histogram with a 10+ bucket, mean and percentiles over opt-outs in range on the channel', () => {
    const twelve = Array.from({ length: 12 }, (_, i) => push('u3', T - (i + 1) * HOUR_MS));
    const events = [
      consent('u1', T, OUT),
      consent('u2', T, OUT),
      push('u2', T - DAY_MS),
      push('u2', T - 7 * DAY_MS),
      push('u2', T - 7 * DAY_MS - 1), // outside W = 7
      consent('u3', T, OUT),
      ...twelve,
      consent('u4', T, OUT, { channel: 'EMAIL' }), // other channel
      consent('u5', RANGE.endMs, OUT), // end is exclusive
    ];
    const body = pushPressure(events, P, 0);
    expect(body.opt_outs).toBe(3);
    expect(body.mean).toBeCloseTo(14 / 3, 12);
    expect([body.p50, body.p90]).toEqual([2, 12]);
    expect(body.histogram).toHaveLength(11);
    expect(body.histogram.filter((h) => h.opt_outs > 0)).toEqual([
      { pushes: '0', opt_outs: 1 },
      { pushes: '2', opt_outs: 1 },
      { pushes: '10+', opt_outs: 1 },
    ]);
    expect(pushPressure(events, { ...P, windowDays: 8, maxBucket: 3 }, 0)).toMatchObject({
      window_days: 8,
      max_bucket: 3,
      histogram: [
        { pushes: '0', opt_outs: 1 },
        { pushes: '1', opt_outs: 0 },
        { pushes: '2', opt_outs: 0 },
        { pushes: '3+', opt_outs: 2 },
      ],
    });
    const empty = pushPressure([], P, 0);
    expect([empty.opt_outs, empty.mean, empty.p50, empty.p90]).toEqual([0, null, null, null]);
  });
});

describe('campaigns', () => {
  const events = [
    consent('u1', T, OUT),
    touch('u1', T - 2 * DAY_MS, 'c1', 'OPEN', { name: 'New' }),
    touch('u1', T - 2 * DAY_MS + 60_000, 'c1', 'CLICK'),
    touch('u1', T - HOUR_MS, 'c2', 'DISMISS'),
    touch('u1', T - 3 * DAY_MS, 'c2', 'UNKNOWN'),
    touch('u1', T - 8 * DAY_MS, 'c3', 'OPEN'), // only in an 8-day lookback
    consent('u2', T + DAY_MS, OUT),
    touch('u2', T + DAY_MS - HOUR_MS, 'c1', 'CONVERSION'),
    touch('u2', T - 5 * DAY_MS, 'c2', 'OPEN'),
    touch('u3', T - HOUR_MS, 'c4', 'OPEN'), // no opt-out
    push('u1', T - 3 * DAY_MS, { campaign: 'c1', name: 'Old' }),
    push('u1', T - 2 * DAY_MS, { campaign: 'c1' }),
    push('u3', T - 3 * DAY_MS, { campaign: 'c1' }),
    push('u4', RANGE.startMs - 7 * DAY_MS, { campaign: 'c1' }), // reach starts exactly here
    push('u5', RANGE.startMs - 7 * DAY_MS - 1, { campaign: 'c1' }),
    push('u6', RANGE.endMs, { campaign: 'c1' }),
  ];

  it('per campaign counts, last touch, reach and rate; sorted opt_outs desc then id', () => {
    const body = campaigns(events, P, 0);
    expect(body).toMatchObject({ lookback_days: 7, limit: 20, approximate: false });
    expect(body.campaigns).toEqual([
      {
        campaign_id: 'c1',
        campaign_name: 'New',
        opt_outs: 2,
        users: 2,
        interactions: 3,
        opens: 1,
        clicks: 1,
        dismisses: 0,
        conversions: 1,
        last_touch_opt_outs: 1,
        reach: 3,
        opt_out_rate: 2 / 3,
        // SPEC 5.1: c1 is the only campaign with a reach, so it is the pooled baseline itself.
        lift: 1,
        significant: false,
      },
      {
        campaign_id: 'c2',
        campaign_name: null,
        opt_outs: 2,
        users: 2,
        interactions: 3,
        opens: 1,
        clicks: 0,
        dismisses: 1,
        conversions: 0,
        last_touch_opt_outs: 1,
        reach: 0,
        opt_out_rate: null,
        lift: null,
        significant: false,
      },
    ]);
    expect(body.baseline_rate).toBe(2 / 3);
    expect(campaigns(events, { ...P, limit: 1 }, 0).campaigns.map((c) => c.campaign_id)).toEqual(['c1']);
    const eight = campaigns(events, { ...P, lookbackDays: 8 }, 0).campaigns;
    expect(eight.map((c) => [c.campaign_id, c.opt_outs])).toEqual([
      ['c1', 2],
      ['c2', 2],
      ['c3', 1],
    ]);
  });
});

describe('events (last events)', () => {
  const now = T + 8 * DAY_MS + 12 * HOUR_MS;
  const events = [
    consent('u1', T, OUT),
    app('u1', T - DAY_MS, 'open'),
    app('u1', T - 7 * DAY_MS, 'open'), // included: exactly t - X
    app('u1', T - 7 * DAY_MS - 1, 'buy'), // excluded
    app('u1', T + 7 * DAY_MS, 'open'), // exactly t + X: retained
    consent('u2', T + DAY_MS, OUT),
    app('u2', T, 'open'),
    app('u2', T + HOUR_MS, 'search'), // nothing after: t + X = T + 8d < now: churned
    consent('u3', T + 2 * DAY_MS, OUT), // t + X = T + 9d > now: pending
    app('u3', T + DAY_MS, 'buy'),
    consent('u4', T + 3 * HOUR_MS, OUT),
    app('u4', T, 'open'),
    app('u4', T + HOUR_MS, 'open'),
    app('u4', T + 4 * HOUR_MS, 'other'), // after t: retains, not counted before
  ];

  it('classifies outcomes and counts event names before retained/churned opt-outs', () => {
    const body = lastEvents(events, P, now);
    expect(body.outcomes).toEqual({
      retained: { opt_outs: 2, users: 2 },
      churned: { opt_outs: 1, users: 1 },
      pending: { opt_outs: 1, users: 1 },
    });
    expect(body.events).toEqual([
      { event_name: 'open', retain: 4, churn: 1 },
      { event_name: 'search', retain: 0, churn: 1 },
    ]);
    expect(body).toMatchObject({ lookback_days: 7, count: 'total', limit: 20, approximate: false });
    expect(lastEvents(events, { ...P, count: 'unique' }, now).events).toEqual([
      { event_name: 'open', retain: 2, churn: 1 },
      { event_name: 'search', retain: 0, churn: 1 },
    ]);
    expect(lastEvents(events, { ...P, limit: 1 }, now).events).toHaveLength(1);
  });
});

describe('export', () => {
  const events = [
    consent('u1', T, OUT, { source: 'api', externalId: 'E1', identifiers: { phone: '1', email: 'a@x' } }),
    consent('u1', T + DAY_MS, IN),
    consent('u1', T + 2 * DAY_MS, OUT, { source: 'os_settings' }),
    consent('u1', T + 3 * DAY_MS, OUT, { source: 'api', identifiers: {} }), // repeat: not an opt-out
    app('u1', T + 4 * DAY_MS, 'open', { externalId: 'E2' }),
    consent('u0', T + 2 * DAY_MS, OUT),
    consent('u2', T - DAY_MS, OUT),
    consent('u2', Date.UTC(2024, 4, 25), IN), // after the range: no longer opted out
    consent('u3', T, OUT, { channel: 'EMAIL' }),
    consent('u4', RANGE.startMs - 1, OUT),
  ];

  it('one row per user with an opt-out in range, ordered by opted_out_at then user_id', () => {
    expect(exportRows(events, P, 0)).toEqual([
      {
        user_id: 'u2',
        external_id: null,
        opted_out_at: '2024-05-14T12:00:00.000Z',
        opt_outs_in_range: 1,
        source: null,
        currently_opted_out: false,
        identifiers: {},
      },
      {
        user_id: 'u0',
        external_id: null,
        opted_out_at: '2024-05-17T12:00:00.000Z',
        opt_outs_in_range: 1,
        source: null,
        currently_opted_out: true,
        identifiers: {},
      },
      {
        user_id: 'u1',
        external_id: 'E2',
        opted_out_at: '2024-05-17T12:00:00.000Z',
        opt_outs_in_range: 2,
        source: 'os_settings',
        currently_opted_out: true,
        identifiers: { email: 'a@x', phone: '1' },
      },
    ]);
  });

  it('CSV: header, null as empty, JSON identifiers, RFC 4180 quoting, formulas neutralised', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell(true)).toBe('true');
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('-x')).toBe("'-x");
    expect(csvCell('@a,b')).toBe(`"'@a,b"`);
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    const csv = exportCsv(exportRows(events, P, 0), '\n').split('\n');
    expect(csv[0]).toBe(
      'user_id,external_id,opted_out_at,opt_outs_in_range,source,currently_opted_out,identifiers',
    );
    expect(csv[3]).toBe(
      'u1,E2,2024-05-17T12:00:00.000Z,2,os_settings,true,"{""email"":""a@x"",""phone"":""1""}"',
    );
    expect(csv[1]).toBe('u2,,2024-05-14T12:00:00.000Z,1,,false,{}');
  });
});

describe('the answer is a function of the set of events', () => {
  it('any arrival order and duplicates give the same answers', () => {
    const events = [
      consent('u', T, OUT, { id: 'c1' }),
      consent('u', T - HOUR_MS, IN, { id: 'c0' }),
      push('u', T - DAY_MS),
      touch('u', T - HOUR_MS, 'c1'),
      app('u', T + HOUR_MS),
    ];
    const now = T + 30 * DAY_MS;
    const answers = (list: InputEvent[]) => [
      transitions(list),
      optOutFacts(list),
      trend(list, P, now),
      pushPressure(list, P, now),
      campaigns(list, P, now),
      lastEvents(list, P, now),
      exportRows(list, P, now),
    ];
    const expected = answers(events);
    for (const order of permutations(events)) {
      expect(answers(order)).toEqual(expected);
      expect(answers([...order, order[0]!, order[2]!])).toEqual(expected);
    }
  });
});
