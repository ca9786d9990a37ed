// SPEC 5.1 exposure and win-back computed literally from the set of events, like
// the rest of the reference (the trend's and the campaigns' added fields live
// in endpoints.ts). Written from the SPEC's sentences, not from the query
// service's SQL (which works in day-index steps): here every user-day is
// visited one by one.

import type { QueryParams } from './endpoints.ts';
import {
  type Channel,
  type Common,
  compareByTimeThenId,
  compareStrings,
  DAY_MS,
  type EventSet,
  type Events,
  inHalfOpen,
  toEventSet,
} from './events.ts';
import { type Transition, transitions } from './facts.ts';
import { addDays, datesBetween, type RangeEcho, rangeEcho, startOfLocalDay } from './time.ts';

// ---------------------------------------------------------------- exposure

interface Echo {
  app_id: string;
  range: RangeEcho;
  channel: Channel;
}

export interface ExposureRow {
  pushes: string;
  user_days: number;
  opt_outs: number;
  rate: number | null;
}

export interface ExposureBody extends Echo {
  window_days: number;
  max_bucket: number;
  approximate: false;
  totals: { user_days: number; opt_outs: number; rate: number | null };
  buckets: ExposureRow[];
}

/** One app's records, by user. */
function ofApp<T extends { app_id: string; user_id: string }>(list: T[], appId: string): Map<string, T[]> {
  const byUser = new Map<string, T[]>();
  for (const e of list) {
    if (e.app_id !== appId) continue;
    const own = byUser.get(e.user_id) ?? [];
    own.push(e);
    byUser.set(e.user_id, own);
  }
  return byUser;
}

/**
 * SPEC 5.1 exposure, day by day and user by user. A user of the app (any event
 * of any kind) counts on day D (first instant s, next day's first instant s1)
 * when they have an event before s and their latest ConsentChange on the
 * channel before s (by occurred_at, then event_id) is not OPTED_OUT; their k is
 * the number of their PushSent in [s - W days, s), their opt-outs those with
 * t in [s, s1).
 */
export function exposure(
  events: Events,
  p: QueryParams & { windowDays?: number; maxBucket?: number },
  _now: number,
): ExposureBody {
  const set: EventSet = toEventSet(events);
  const channel = p.channel ?? 'PUSH';
  const windowDays = p.windowDays ?? 7;
  const maxBucket = p.maxBucket ?? 10;
  const rows: ExposureRow[] = Array.from({ length: maxBucket + 1 }, (_, b) => ({
    pushes: b < maxBucket ? String(b) : `${maxBucket}+`,
    user_days: 0,
    opt_outs: 0,
    rate: null,
  }));
  const everything = ofApp<Common>(
    [...set.pushes, ...set.interactions, ...set.appEvents, ...set.consents],
    p.appId,
  );
  const pushes = ofApp(set.pushes, p.appId);
  const consents = ofApp(
    set.consents.filter((c) => c.channel === channel),
    p.appId,
  );
  const optOuts = ofApp(
    transitions(set).filter((t) => t.kind === 'OPT_OUT' && t.channel === channel),
    p.appId,
  );
  for (const date of datesBetween(p.range.from, p.range.to)) {
    const s = startOfLocalDay(date, p.range.tz);
    const s1 = startOfLocalDay(addDays(date, 1), p.range.tz);
    for (const [user, own] of everything) {
      if (!own.some((e) => e.occurred_at < s)) continue;
      const latest = (consents.get(user) ?? [])
        .filter((c) => c.occurred_at < s)
        .sort(compareByTimeThenId)
        .at(-1);
      if (latest?.status === 'OPTED_OUT') continue;
      const k = (pushes.get(user) ?? []).filter((e) =>
        inHalfOpen(e.occurred_at, s - windowDays * DAY_MS, s),
      ).length;
      const row = rows[Math.min(k, maxBucket)]!;
      row.user_days += 1;
      row.opt_outs += (optOuts.get(user) ?? []).filter((t) => inHalfOpen(t.occurred_at_ms, s, s1)).length;
    }
  }
  const rate = (o: number, d: number) => (d === 0 ? null : o / d);
  for (const row of rows) row.rate = rate(row.opt_outs, row.user_days);
  const userDays = rows.reduce((sum, r) => sum + r.user_days, 0);
  const outs = rows.reduce((sum, r) => sum + r.opt_outs, 0);
  return {
    app_id: p.appId,
    range: rangeEcho(p.range),
    channel,
    window_days: windowDays,
    max_bucket: maxBucket,
    approximate: false,
    totals: { user_days: userDays, opt_outs: outs, rate: rate(outs, userDays) },
    buckets: rows,
  };
}

// ---------------------------------------------------------------- win-back

export interface WinbackWindow {
  days: number;
  won_back: number;
  pending: number;
  lost: number;
}

export interface WinbackBody extends Echo {
  approximate: false;
  opt_outs: number;
  windows: WinbackWindow[];
  sources: { source: string | null; opt_outs: number; windows: WinbackWindow[] }[];
}

/**
 * SPEC 5.1 win-back: for each opt-out in range, the user's next opt-in on the
 * channel after it (in the transitions' (occurred_at, event_id) order). Within
 * d days: won back when t' - t <= d days; else pending when t + d days is after
 * now; else lost. d = 1, 7, 30; overall and per source.
 */
export function winback(events: Events, p: QueryParams, now: number): WinbackBody {
  const set = toEventSet(events);
  const channel = p.channel ?? 'PUSH';
  const all = transitions(set).filter((t) => t.app_id === p.appId && t.channel === channel);
  const inRange = all.filter(
    (t) => t.kind === 'OPT_OUT' && inHalfOpen(t.occurred_at_ms, p.range.startMs, p.range.endMs),
  );
  const after = (a: Transition, b: Transition) =>
    b.occurred_at_ms > a.occurred_at_ms ||
    (b.occurred_at_ms === a.occurred_at_ms && compareStrings(b.transition_id, a.transition_id) > 0);
  const nextOptIn = (t: Transition) =>
    all
      .filter((o) => o.user_id === t.user_id && o.kind === 'OPT_IN' && after(t, o))
      .sort(
        (a, b) => a.occurred_at_ms - b.occurred_at_ms || compareStrings(a.transition_id, b.transition_id),
      )[0];
  const windows = (list: Transition[]): WinbackWindow[] =>
    [1, 7, 30].map((d) => {
      let won = 0;
      let pending = 0;
      for (const t of list) {
        const back = nextOptIn(t);
        if (back && back.occurred_at_ms - t.occurred_at_ms <= d * DAY_MS) won++;
        else if (t.occurred_at_ms + d * DAY_MS > now) pending++;
      }
      return { days: d, won_back: won, pending, lost: list.length - won - pending };
    });
  const sources = [...new Set(inRange.map((t) => t.source))]
    .map((source) => {
      const list = inRange.filter((t) => t.source === source);
      return { source, opt_outs: list.length, windows: windows(list) };
    })
    .sort(
      (a, b) =>
        b.opt_outs - a.opt_outs ||
        (a.source === null ? 1 : 0) - (b.source === null ? 1 : 0) ||
        compareStrings(a.source ?? '', b.source ?? ''),
    );
  return {
    app_id: p.appId,
    range: rangeEcho(p.range),
    channel,
    approximate: false,
    opt_outs: inRange.length,
    windows: windows(inRange),
    sources,
  };
}
