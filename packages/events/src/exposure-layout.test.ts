// An opt-out row (optOutExposure) read at every day start it may serve
// (optOutPushes) against SPEC 5.1's definition of a user-day at risk, over
// random consent histories (repeated statuses, opt-ins from no status) and
// pushes around the opt-out.
import { describe, expect, it } from 'vitest';
import { OPTOUT_DAY_SPAN_MS, optOutExposure, optOutPushes, QUARTER_MS } from './exposure-layout.ts';
import { type ConsentRecord, compareByTimeThenId, transitionsOf } from './transitions.ts';
import { DAY_MS } from './windows.ts';

function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('optOutExposure / optOutPushes', () => {
  it('give the bucket of the definition at every day start up to 48 hours before the opt-out', () => {
    const rnd = random(7);
    const base = Date.UTC(2026, 4, 10);
    let checked = 0;
    for (let trial = 0; trial < 300; trial++) {
      const at = () => base + Math.floor((rnd() - 0.5) * 6 * DAY_MS);
      const records = Array.from(
        { length: 1 + Math.floor(rnd() * 6) },
        (_, i): ConsentRecord => ({
          t: at(),
          id: `c${i}`,
          status: rnd() < 0.5 ? 'OPTED_OUT' : 'OPTED_IN',
          source: null,
        }),
      ).sort(compareByTimeThenId);
      const pushes = Array.from(
        { length: Math.floor(rnd() * 40) },
        () => base + Math.floor((rnd() - 0.7) * 40 * DAY_MS),
      ).sort((a, b) => a - b);
      const firstSeen = Math.min(
        records[0]!.t,
        pushes[0] ?? Number.POSITIVE_INFINITY,
        rnd() < 0.3 ? at() : Number.POSITIVE_INFINITY,
      );
      const transitions = transitionsOf(records);
      for (const x of transitions.filter((y) => y.kind === 'OPT_OUT')) {
        const row = optOutExposure(x.t, firstSeen, transitions, pushes);
        const first = Math.ceil((x.t - OPTOUT_DAY_SPAN_MS) / QUARTER_MS) * QUARTER_MS;
        for (let s = first; s <= x.t; s += QUARTER_MS) {
          const w = 1 + (checked % 30);
          const latest = records.filter((r) => r.t < s).at(-1);
          const atRisk = firstSeen < s && latest?.status !== 'OPTED_OUT';
          const k = pushes.filter((p) => p >= s - w * DAY_MS && p < s).length;
          expect(optOutPushes(row, s, w), `opt-out at ${x.t}, day start ${s}, W ${w}`).toBe(
            atRisk ? k : null,
          );
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });
});
