// Hand-computed cases for the reference's SPEC 5.1 definitions: the oracle the
// integration tests trust has to be right on its own.
import { describe, expect, it } from 'vitest';
import { campaigns, trend } from './endpoints.ts';
import { DAY_MS, HOUR_MS, type InputEvent } from './events.ts';
import { exposure, winback } from './insights.ts';
import { median, spike, wilsonLower } from './statistics.ts';
import { resolveRange } from './time.ts';

let seq = 0;
const common = (user: string, at: number, app = 'a') => ({
  event_id: `x${String(++seq).padStart(4, '0')}`,
  app_id: app,
  user_id: user,
  occurred_at: at,
});
const appEvent = (user: string, at: number, app = 'a'): InputEvent => ({
  kind: 'appEvent',
  event: { ...common(user, at, app), event_name: 'open', external_id: null },
});
const push = (user: string, at: number, campaign: string | null = null): InputEvent => ({
  kind: 'pushSent',
  event: { ...common(user, at), message_id: 'm', campaign_id: campaign, campaign_name: null, platform: null },
});
const touch = (user: string, at: number, campaign: string): InputEvent => ({
  kind: 'campaignInteraction',
  event: {
    ...common(user, at),
    campaign_id: campaign,
    campaign_name: null,
    message_id: null,
    interaction: 'OPEN',
  },
});
const consent = (
  user: string,
  at: number,
  status: 'OPTED_IN' | 'OPTED_OUT',
  o: { channel?: 'PUSH' | 'EMAIL'; source?: string | null } = {},
): InputEvent => ({
  kind: 'consentChange',
  event: {
    ...common(user, at),
    channel: o.channel ?? 'PUSH',
    status,
    source: o.source ?? null,
    external_id: null,
    identifiers: {},
  },
});

const may = (day: number, hour = 0) => Date.UTC(2024, 4, day, hour);

describe('statistics', () => {
  it('median, spike and the Wilson lower bound', () => {
    expect(median([5, 1, 4, 2])).toBe(3);
    const quiet = Array.from({ length: 28 }, () => 0);
    expect(spike(5, quiet)).toEqual({ baseline: 0, spike: true });
    expect(spike(4, quiet).spike).toBe(false);
    const steady = Array.from({ length: 28 }, (_, i) => (i % 2 === 0 ? 10 : 12));
    // baseline 11, MAD 1 -> scale 1.4826 -> threshold 16.93
    expect(spike(16, steady)).toEqual({ baseline: 11, spike: false });
    expect(spike(17, steady).spike).toBe(true);
    expect(wilsonLower(50, 100)).toBeCloseTo(0.403832, 6);
    expect(wilsonLower(1, 0)).toBeNull();
  });
});

describe('exposure (SPEC 5.1)', () => {
  const range = resolveRange({ period: 'custom', from: '2024-05-10', to: '2024-05-12', tz: 'UTC' }, 0);
  const events = [
    appEvent('u1', may(1)),
    push('u1', may(9, 10)),
    push('u1', may(10, 10)), // u1: k = 1 (10th), 2 (11th), 1 (12th) with W = 2
    push('u2', may(11, 5)), // u2 is first seen here: known on the 12th only, k = 1
    consent('u2', may(12, 8), 'OPTED_OUT'),
    consent('u3', may(1), 'OPTED_OUT'),
    consent('u3', may(10, 12), 'OPTED_IN'), // at risk from the 11th
    consent('u3', may(12, 20), 'OPTED_OUT'),
    appEvent('u4', may(2)),
    consent('u4', may(11), 'OPTED_OUT'), // at 00:00: at risk at the start of the 11th, out on the 12th
    consent('u6', may(1), 'OPTED_OUT', { channel: 'EMAIL' }), // known; PUSH status unknown: at risk
    appEvent('u5', may(1), 'other-app'),
  ];

  it('counts user-days at risk by pushes in the W days before each day, with their opt-outs', () => {
    const body = exposure(events, { appId: 'a', range, windowDays: 2, maxBucket: 2 }, 0);
    expect(body.buckets).toEqual([
      { pushes: '0', user_days: 7, opt_outs: 2, rate: 2 / 7 },
      { pushes: '1', user_days: 3, opt_outs: 1, rate: 1 / 3 },
      { pushes: '2+', user_days: 1, opt_outs: 0, rate: 0 },
    ]);
    expect(body.totals).toEqual({ user_days: 11, opt_outs: 3, rate: 3 / 11 });
    expect(body).toMatchObject({ window_days: 2, max_bucket: 2, approximate: false, channel: 'PUSH' });
  });

  it('a push exactly W days before a day counts, one at its first instant does not', () => {
    const edge = [appEvent('e', may(1)), push('e', may(8)), push('e', may(10))];
    const body = exposure(edge, { appId: 'a', range, windowDays: 2, maxBucket: 3 }, 0);
    // 10th: [8th, 10th) holds the 8th's push; 11th: the 10th's; 12th: the 10th's.
    expect(body.buckets.map((b) => b.user_days)).toEqual([0, 3, 0, 0]);
  });

  it('the other channel has its own status', () => {
    const email = exposure(events, { appId: 'a', channel: 'EMAIL', range, windowDays: 2, maxBucket: 2 }, 0);
    // u6 is opted out of EMAIL all along; u3 never had an EMAIL status: at risk from the 10th.
    expect(email.totals.user_days).toBe(3 + 1 + 3 + 3); // u1, u2, u3 (known from the 2nd), u4
    expect(email.totals.opt_outs).toBe(0);
  });
});

describe('winback (SPEC 5.1)', () => {
  const range = resolveRange({ period: 'custom', from: '2024-05-10', to: '2024-05-12', tz: 'UTC' }, 0);
  const now = may(20);
  const events = [
    consent('w1', may(10, 8), 'OPTED_OUT', { source: 'api' }),
    consent('w1', may(11, 8), 'OPTED_IN'), // exactly 1 day later: within 1
    consent('w2', may(10, 9), 'OPTED_OUT', { source: 'api' }),
    consent('w2', may(10, 9) + 7 * DAY_MS + 1, 'OPTED_IN'), // 7 days + 1 ms: within 30 only
    consent('w3', may(12, 23), 'OPTED_OUT'), // never back: 30-day window still open at now
    consent('w4', may(11), 'OPTED_OUT', { source: 'api' }),
    consent('w4', may(11) + HOUR_MS, 'OPTED_OUT'), // a repeat, not a new opt-out
    consent('w5', may(9), 'OPTED_OUT'), // before the range
    consent('w5', may(10, 1), 'OPTED_IN'),
  ];

  it('won back, pending and lost per window, overall and per source (null last)', () => {
    const body = winback(events, { appId: 'a', range }, now);
    expect(body.opt_outs).toBe(4);
    expect(body.windows).toEqual([
      { days: 1, won_back: 1, pending: 0, lost: 3 },
      { days: 7, won_back: 1, pending: 0, lost: 3 },
      { days: 30, won_back: 2, pending: 2, lost: 0 },
    ]);
    expect(body.sources.map((s) => [s.source, s.opt_outs])).toEqual([
      ['api', 3],
      [null, 1],
    ]);
    // t + 7 days = now exactly is over (lost), 1 ms before now still pending.
    const atNow = winback(events, { appId: 'a', range }, may(12, 23) + 7 * DAY_MS);
    expect(atNow.windows[1]).toEqual({ days: 7, won_back: 1, pending: 0, lost: 3 });
    const before = winback(events, { appId: 'a', range }, may(12, 23) + 7 * DAY_MS - 1);
    expect(before.windows[1]).toEqual({ days: 7, won_back: 1, pending: 1, lost: 2 });
  });
});

describe('trend and campaigns: the added fields', () => {
  const range = resolveRange({ period: 'custom', from: '2024-05-10', to: '2024-05-11', tz: 'UTC' }, 0);

  it('previous covers the same number of days just before; baselines use the 28 days before each day', () => {
    const events = [
      consent('p1', may(8, 12), 'OPTED_OUT'),
      consent('p1', may(9, 12), 'OPTED_IN'),
      ...Array.from({ length: 6 }, (_, i) => consent(`s${i}`, may(11, i), 'OPTED_OUT')),
      consent('old', may(10) - 28 * DAY_MS, 'OPTED_OUT'), // the 12 Apr: in the 10th's window only
    ];
    const body = trend(events, { appId: 'a', range }, 0);
    expect(body.previous).toEqual({
      from: '2024-05-08',
      to: '2024-05-09',
      opt_outs: 1,
      opt_ins: 1,
      users: 1,
    });
    expect(body.days.map((d) => [d.date, d.opt_outs, d.baseline, d.spike])).toEqual([
      ['2024-05-10', 0, 0, false],
      ['2024-05-11', 6, 0, true],
    ]);
  });

  it('baseline_rate pools every campaign with a reach; lift and significance per campaign', () => {
    const events = [
      // c1 reaches 4 users, 3 of whom opt out after touching it; c2 reaches 36, none opt out.
      ...['a', 'b', 'c', 'd'].map((u) => push(u, may(10, 1), 'c1')),
      ...['a', 'b', 'c'].flatMap((u) => [touch(u, may(10, 2), 'c1'), consent(u, may(10, 3), 'OPTED_OUT')]),
      ...Array.from({ length: 36 }, (_, i) => push(`n${i}`, may(10, 1), 'c2')),
    ];
    const body = campaigns(events, { appId: 'a', range }, 0);
    expect(body.baseline_rate).toBe(3 / 40);
    expect(body.campaigns).toHaveLength(1);
    const [c1] = body.campaigns;
    expect(c1).toMatchObject({
      campaign_id: 'c1',
      users: 3,
      reach: 4,
      opt_out_rate: 0.75,
      significant: true,
    });
    expect(c1!.lift).toBeCloseTo(10, 12);
  });
});
