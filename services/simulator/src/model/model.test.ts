import type { ConsentChange, InputEvent } from '@optout/events';
import { describe, expect, it } from 'vitest';
import { DAY_MS, dailyOptOutHazard, fatigueMultiplier, HOUR_MS } from './behaviour.ts';
import { createRng } from './rng.ts';
import { Simulation, type SimulationOptions } from './stream.ts';

const END = Date.UTC(2025, 2, 1, 12, 0, 0);
const base: SimulationOptions = { seed: 7, apps: 2, users: 1500, campaigns: 6, days: 21, endMs: END };

function historyOf(options: SimulationOptions): InputEvent[] {
  const out: InputEvent[] = [];
  for (const batch of new Simulation(options).history(4096)) for (const e of batch) out.push(e);
  return out;
}

/** Opt-out transitions (SPEC 3) on PUSH, per user, from a time-ordered stream. */
function pushOptOuts(events: InputEvent[]): ConsentChange[] {
  const status = new Map<string, string>();
  const out: ConsentChange[] = [];
  for (const input of events) {
    if (input.kind !== 'consentChange' || input.event.channel !== 'PUSH') continue;
    const key = `${input.event.app_id}:${input.event.user_id}`;
    if (input.event.status === 'OPTED_OUT' && status.get(key) !== 'OPTED_OUT') out.push(input.event);
    status.set(key, input.event.status);
  }
  return out;
}

describe('rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('Simulation', () => {
  const events = historyOf(base);

  it('gives the same events for the same seed, and other events for another seed', () => {
    expect(historyOf(base)).toEqual(events);
    const other = historyOf({ ...base, seed: 8 });
    expect(other.length).toBeGreaterThan(0);
    expect(other.slice(0, 200)).not.toEqual(events.slice(0, 200));
  });

  it('produces the history in time order, inside [start, end), with unique event ids', () => {
    const sim = new Simulation(base);
    expect(sim.startMs).toBe(Math.floor(END / DAY_MS) * DAY_MS - 21 * DAY_MS);
    let last = Number.NEGATIVE_INFINITY;
    for (const { event } of events) {
      expect(event.occurred_at).toBeGreaterThanOrEqual(last);
      last = event.occurred_at;
    }
    expect(events[0]!.event.occurred_at).toBeGreaterThanOrEqual(sim.startMs);
    expect(last).toBeLessThan(END);
    expect(new Set(events.map((e) => e.event.event_id)).size).toBe(events.length);
  });

  it('continues after the history in time order, without repeating it', () => {
    const sim = new Simulation({ ...base, users: 300 });
    const seen = new Set<string>();
    for (const batch of sim.history(1000)) for (const e of batch) seen.add(e.event.event_id);
    const next = sim.continuation(1000)[Symbol.iterator]();
    const after = [...next.next().value!, ...next.next().value!];
    expect(after.length).toBeGreaterThan(0);
    for (const { event } of after) {
      expect(event.occurred_at).toBeGreaterThanOrEqual(END);
      expect(seen.has(event.event_id)).toBe(false);
    }
  });

  it('exercises every definition: channels, sources, re-statements, opt-ins, identifiers, external ids', () => {
    const consent = events.filter((e) => e.kind === 'consentChange').map((e) => e.event as ConsentChange);
    const outs = consent.filter((c) => c.status === 'OPTED_OUT');
    expect(new Set(outs.map((c) => c.channel))).toEqual(new Set(['PUSH', 'EMAIL', 'SMS', 'IN_APP']));
    const sources = new Set(outs.map((c) => c.source));
    for (const s of ['os_settings', 'preference_center', 'unsubscribe_link', 'api', null])
      expect(sources).toContain(s);
    // Re-stated opt-outs (no opt-in between) and opt-ins after an opt-out both occur.
    expect(outs.length).toBeGreaterThan(pushOptOuts(events).length);
    const optedOut = new Set(outs.map((c) => `${c.user_id}:${c.channel}`));
    const backIn = consent.filter(
      (c) => c.status === 'OPTED_IN' && optedOut.has(`${c.user_id}:${c.channel}`),
    );
    expect(backIn.length).toBeGreaterThan(0);
    expect(consent.some((c) => c.identifiers.email && c.identifiers.phone)).toBe(true);
    expect(consent.some((c) => Object.keys(c.identifiers).length === 0)).toBe(true);
    expect(events.some((e) => e.kind === 'appEvent' && e.event.external_id !== null)).toBe(true);
    expect(events.some((e) => e.kind === 'pushSent' && e.event.campaign_id === null)).toBe(true);
    const interactions = new Set(
      events.filter((e) => e.kind === 'campaignInteraction').map((e) => e.event.interaction),
    );
    expect(interactions).toEqual(new Set(['OPEN', 'CLICK', 'DISMISS', 'CONVERSION']));
  });

  it('has users who stay active after opting out and users who go quiet', () => {
    const appEventsAt = new Map<string, number[]>();
    for (const { kind, event } of events) {
      if (kind !== 'appEvent') continue;
      const list = appEventsAt.get(event.user_id + event.app_id) ?? [];
      list.push(event.occurred_at);
      appEventsAt.set(event.user_id + event.app_id, list);
    }
    let retained = 0;
    let churned = 0;
    for (const o of pushOptOuts(events)) {
      if (o.occurred_at + 7 * DAY_MS > END) continue;
      const times = appEventsAt.get(o.user_id + o.app_id) ?? [];
      if (times.some((t) => t > o.occurred_at && t <= o.occurred_at + 7 * DAY_MS)) retained++;
      else churned++;
    }
    expect(retained).toBeGreaterThan(10);
    expect(churned).toBeGreaterThan(10);
  });

  it('makes recipients of bad campaigns opt out more often soon after than recipients of good ones', () => {
    const sim = new Simulation({ ...base, users: 3000, behaviour: { baseDailyOptOut: 0 } });
    const all: InputEvent[] = [];
    for (const batch of sim.history(4096)) all.push(...batch);
    const quality = new Map(
      sim.world.apps.flatMap((a) => a.campaigns.map((c) => [c.id, c.quality] as const)),
    );
    const pushes = { bad: 0, neutral: 0, good: 0 };
    const lastPush = new Map<string, { at: number; q: 'bad' | 'neutral' | 'good' }>();
    const optOutsAfter = { bad: 0, neutral: 0, good: 0 };
    const optOuts = new Set(pushOptOuts(all).map((o) => o.event_id));
    for (const { kind, event } of all) {
      const key = `${event.app_id}:${event.user_id}`;
      if (kind === 'pushSent' && event.campaign_id) {
        const q = quality.get(event.campaign_id)!;
        pushes[q]++;
        lastPush.set(key, { at: event.occurred_at, q });
      } else if (kind === 'consentChange' && optOuts.has(event.event_id)) {
        const last = lastPush.get(key);
        if (last && event.occurred_at - last.at < 12 * HOUR_MS) optOutsAfter[last.q]++;
      }
    }
    const rate = (q: 'bad' | 'good') => optOutsAfter[q] / Math.max(1, pushes[q]);
    expect(pushes.bad).toBeGreaterThan(1000);
    expect(pushes.good).toBeGreaterThan(1000);
    expect(rate('bad')).toBeGreaterThan(5 * rate('good'));
  });
});

describe('message fatigue', () => {
  it('raises the daily opt-out risk with the pushes of the previous days', () => {
    expect(fatigueMultiplier(0)).toBe(1);
    for (let n = 0; n < 40; n++) {
      expect(dailyOptOutHazard(n + 1, 1, 1)).toBeGreaterThan(dailyOptOutHazard(n, 1, 1));
    }
    // Monday is riskier than Saturday (weekly rhythm).
    expect(dailyOptOutHazard(5, 1, 1)).toBeGreaterThan(dailyOptOutHazard(5, 6, 1));
  });

  it('shows in the generated events: more opt-outs per user-day under high push pressure', () => {
    // Campaign-driven opt-outs off: only fatigue is left.
    const options = {
      ...base,
      users: 4000,
      days: 28,
      behaviour: { campaignEffect: 0, baseDailyOptOut: 0.002 },
    };
    const all = historyOf(options);
    const start = new Simulation(options).startMs;
    const pushesByUserDay = new Map<string, number>();
    const optOutDays = new Set<string>();
    const optOutIds = new Set(pushOptOuts(all).map((o) => o.event_id));
    for (const { kind, event } of all) {
      const day = Math.floor((event.occurred_at - start) / DAY_MS);
      const key = `${event.app_id}:${event.user_id}`;
      if (kind === 'pushSent')
        pushesByUserDay.set(`${key}@${day}`, (pushesByUserDay.get(`${key}@${day}`) ?? 0) + 1);
      if (kind === 'consentChange' && optOutIds.has(event.event_id)) optOutDays.add(`${key}@${day}`);
    }
    const users = new Set(all.map((e) => `${e.event.app_id}:${e.event.user_id}`));
    const tally = { low: [0, 0], high: [0, 0] };
    for (const key of users) {
      for (let day = 7; day < 28; day++) {
        let pressure = 0;
        for (let d = day - 7; d < day; d++) pressure += pushesByUserDay.get(`${key}@${d}`) ?? 0;
        if (pressure === 0) continue; // no pushes at all: opted out already or not reachable
        const bucket = pressure >= 12 ? tally.high : pressure <= 5 ? tally.low : null;
        if (!bucket) continue;
        bucket[0]!++;
        if (optOutDays.has(`${key}@${day}`)) bucket[1]!++;
      }
    }
    const low = tally.low[1]! / tally.low[0]!;
    const high = tally.high[1]! / tally.high[0]!;
    expect(tally.low[0]).toBeGreaterThan(1000);
    expect(tally.high[0]).toBeGreaterThan(1000);
    expect(high).toBeGreaterThan(1.5 * low);
  });
});
