// The demo's data (the defaults of `npm run demo`) must make the SPEC 5.1
// insights visible: a spike on the trend, a campaign whose opt-out rate stands
// out beyond chance, and an exposure curve that climbs with recent pushes.
// Computed here straight from the generated events on UTC days, by the rules
// of SPEC 5.1 (the query service's answers are checked against the reference
// in test/query/insights.integration.test.ts).
import type { ConsentChange, InputEvent } from '@optout/events';
import { describe, expect, it } from 'vitest';
import { DAY_MS } from './behaviour.ts';
import { Simulation } from './stream.ts';

// `npm run demo` defaults: DEMO_USERS, DEMO_APPS, DEMO_CAMPAIGNS, DEMO_DAYS, DEMO_SEED.
const END = Date.UTC(2025, 5, 18, 15, 0, 0);
const DEMO = { seed: 1, apps: 3, users: 5000, campaigns: 12, days: 30, endMs: END };

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return (s[(s.length >> 1) - 1]! + s[s.length >> 1]!) / 2;
};

function isSpike(optOuts: number, preceding: number[]): boolean {
  const baseline = median(preceding);
  const scale = Math.max(1, 1.4826 * median(preceding.map((x) => Math.abs(x - baseline))));
  return optOuts >= 5 && optOuts >= baseline + 4 * scale;
}

function wilsonLower(x: number, n: number): number {
  const z = 1.959964;
  const p = Math.min(1, x / n);
  return (
    (p + (z * z) / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n)
  );
}

describe('the demo data shows the insights', () => {
  const sim = new Simulation(DEMO);
  const events: InputEvent[] = [];
  for (const batch of sim.history(50_000)) events.push(...batch);
  const today = Math.floor(END / DAY_MS) * DAY_MS;

  for (const app of sim.world.apps) {
    const mine = events.filter((e) => e.event.app_id === app.id);
    const status = new Map<string, string>();
    const optOuts: ConsentChange[] = [];
    const changes = new Map<string, ConsentChange[]>();
    for (const { kind, event } of mine) {
      if (kind !== 'consentChange' || event.channel !== 'PUSH') continue;
      if (event.status !== status.get(event.user_id)) {
        changes.set(event.user_id, [...(changes.get(event.user_id) ?? []), event]);
        if (event.status === 'OPTED_OUT') optOuts.push(event);
      }
      status.set(event.user_id, event.status);
    }
    const misfire = app.campaigns.find((c) => c.misfireDay !== null)!;
    const misfireDay = sim.startMs + misfire.misfireDay! * DAY_MS;

    it(`${app.id}: the misfired send is a spike against the 28 days before it`, () => {
      const perDay = (day: number) =>
        optOuts.filter((o) => o.occurred_at >= day && o.occurred_at < day + DAY_MS).length;
      const preceding = Array.from({ length: 28 }, (_, i) => perDay(misfireDay - (28 - i) * DAY_MS));
      expect(isSpike(perDay(misfireDay), preceding)).toBe(true);
      // The days around it are not.
      for (const day of [misfireDay - 2 * DAY_MS, misfireDay + DAY_MS]) {
        const before = Array.from({ length: 28 }, (_, i) => perDay(day - (28 - i) * DAY_MS));
        expect(isSpike(perDay(day), before), new Date(day).toISOString()).toBe(false);
      }
    });

    it(`${app.id}: the misfired campaign stands out beyond chance in the last week`, () => {
      const start = today - 6 * DAY_MS;
      const reach = new Map<string, Set<string>>();
      const users = new Map<string, Set<string>>();
      for (const { kind, event } of mine) {
        if (kind !== 'pushSent' || !event.campaign_id || event.occurred_at < start - 7 * DAY_MS) continue;
        reach.set(event.campaign_id, (reach.get(event.campaign_id) ?? new Set()).add(event.user_id));
      }
      const interactions = mine.filter((e) => e.kind === 'campaignInteraction');
      for (const o of optOuts.filter((x) => x.occurred_at >= start)) {
        for (const { event } of interactions) {
          if (event.user_id !== o.user_id || event.occurred_at >= o.occurred_at) continue;
          if (event.occurred_at < o.occurred_at - 7 * DAY_MS || !('campaign_id' in event)) continue;
          users.set(event.campaign_id, (users.get(event.campaign_id) ?? new Set()).add(o.user_id));
        }
      }
      let pooledUsers = 0;
      let pooledReach = 0;
      for (const [id, r] of reach) {
        pooledReach += r.size;
        pooledUsers += users.get(id)?.size ?? 0;
      }
      const baseline = pooledUsers / pooledReach;
      const own = users.get(misfire.id)?.size ?? 0;
      expect(wilsonLower(own, reach.get(misfire.id)!.size)).toBeGreaterThan(baseline);
    });

    it(`${app.id}: the opt-out rate per user-day climbs with the pushes of the 7 days before`, () => {
      const firstSeen = new Map<string, number>();
      const pushes = new Map<string, number[]>();
      for (const { kind, event } of mine) {
        if (!firstSeen.has(event.user_id)) firstSeen.set(event.user_id, event.occurred_at);
        if (kind === 'pushSent')
          pushes.set(event.user_id, [...(pushes.get(event.user_id) ?? []), event.occurred_at]);
      }
      // Buckets: no push, 1-3, 4-7, 8 or more; over the last 21 days.
      const tally = [0, 0, 0, 0].map(() => ({ days: 0, optOuts: 0 }));
      for (let day = today - 20 * DAY_MS; day <= today; day += DAY_MS) {
        for (const [user, first] of firstSeen) {
          if (first >= day) continue;
          const last = (changes.get(user) ?? []).filter((c) => c.occurred_at < day).at(-1);
          if (last?.status === 'OPTED_OUT') continue;
          const k = (pushes.get(user) ?? []).filter((t) => t >= day - 7 * DAY_MS && t < day).length;
          const bucket = tally[k === 0 ? 0 : k <= 3 ? 1 : k <= 7 ? 2 : 3]!;
          bucket.days++;
          bucket.optOuts += optOuts.filter(
            (o) => o.user_id === user && o.occurred_at >= day && o.occurred_at < day + DAY_MS,
          ).length;
        }
      }
      const rates = tally.map((b) => b.optOuts / b.days);
      expect(tally.every((b) => b.days > 500)).toBe(true);
      expect(rates[1]!).toBeGreaterThan(rates[0]!);
      expect(rates[2]!).toBeGreaterThan(rates[1]!);
      expect(rates[3]!).toBeGreaterThan(rates[1]!);
      expect(rates[2]!).toBeGreaterThan(10 * rates[0]!);
    });
  }
});
