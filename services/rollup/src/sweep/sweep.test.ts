// The sweep against the definition, user by user, at sampled instants of
// random histories (pushes in bursts that pass the 50+ bucket, consent flips
// on every channel, users first seen all along).
import {
  type ConsentRecord,
  compareByTimeThenId,
  DAY_MS,
  HISTOGRAM_LENGTH,
  histogramIndex,
  MAX_PUSH_BUCKET,
  QUARTER_MS,
  transitionsOf,
} from '@optout/events';
import { describe, expect, it } from 'vitest';
import { type AppHistory, CHANNEL_COUNT, PushGridBuilder, quarterOf, type StatusChange } from './history.ts';
import { ExposureSweep } from './sweep.ts';

function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Generated {
  history: AppHistory;
  pushTimes: number[][];
  /** Raw consent changes per user and channel (the definition reads the latest one before s). */
  statuses: Array<Array<Array<{ t: number; out: boolean }>>>;
}

function generate(seed: number, users: number, days: number, start: number): Generated {
  const rnd = random(seed);
  const end = start + days * DAY_MS;
  const at = () => start + Math.floor(rnd() * (end - start));
  const pushTimes: number[][] = [];
  const firstSeen = new Float64Array(users).fill(Number.POSITIVE_INFINITY);
  const changes: StatusChange[] = [];
  const statuses: Generated['statuses'] = [];
  for (let u = 0; u < users; u++) {
    const times: number[] = [];
    const bursts = Math.floor(rnd() * 4);
    for (let b = 0; b < bursts; b++) {
      const center = at();
      const n = Math.floor(rnd() * (u % 5 === 0 ? 80 : 12));
      for (let i = 0; i < n; i++) times.push(Math.min(end - 1, center + Math.floor(rnd() * 5 * DAY_MS)));
    }
    times.sort((a, b) => a - b);
    pushTimes.push(times);
    // Users without pushes exist too: their first event is an app event or a consent change.
    let seen = times[0] ?? Number.POSITIVE_INFINITY;
    if (rnd() < 0.8) seen = Math.min(seen, at());
    statuses.push([]);
    for (let c = 0; c < CHANNEL_COUNT; c++) {
      // Raw changes, repeated statuses and opt-ins from no status included; the transitions as read.ts derives them.
      const records: ConsentRecord[] = Array.from({ length: Math.floor(rnd() * 5) }, (_, i) => ({
        t: at(),
        id: `${u}-${c}-${i}`,
        status: rnd() < 0.5 ? 'OPTED_OUT' : 'OPTED_IN',
        source: null,
      }));
      records.sort(compareByTimeThenId);
      statuses[u]!.push(records.map((r) => ({ t: r.t, out: r.status === 'OPTED_OUT' })));
      for (const x of transitionsOf(records))
        changes.push({ user: u, channel: c, t: x.t, out: x.kind === 'OPT_OUT' });
      for (const r of records) seen = Math.min(seen, r.t);
    }
    firstSeen[u] = seen;
  }
  changes.sort((a, b) => a.t - b.t);
  const grid = new PushGridBuilder(quarterOf(start));
  const all = pushTimes.flatMap((ts, u) => ts.map((t) => ({ u, t }))).sort((a, b) => a.t - b.t);
  for (const p of all) grid.add(p.u, p.t);
  return {
    history: { users, firstSeen, pushes: grid.build(quarterOf(end) + 1), changes },
    pushTimes,
    statuses,
  };
}

/** The histogram at instant s, from the definition. */
function expected(g: Generated, s: number, channel: number): Uint32Array {
  const out = new Uint32Array(HISTOGRAM_LENGTH);
  for (let u = 0; u < g.history.users; u++) {
    if (!(g.history.firstSeen[u]! < s)) continue;
    const latest = g.statuses[u]![channel]!.filter((r) => r.t < s).at(-1);
    if (latest?.out) continue;
    for (let w = 1; w <= 30; w++) {
      const k = g.pushTimes[u]!.filter((p) => p >= s - w * DAY_MS && p < s).length;
      out[histogramIndex(w, k)]! += 1;
    }
  }
  return out;
}

describe('ExposureSweep', () => {
  it.each([1, 2, 3])('matches the definition at sampled instants (seed %i)', (seed) => {
    const start = Date.UTC(2026, 0, 1, 7, 13);
    const g = generate(seed, 40, 45, start);
    const from = quarterOf(start) + 3 * 96 + 5;
    const to = quarterOf(start + 44 * DAY_MS);
    const rnd = random(seed * 7);
    const sampled = new Set([
      from,
      from + 1,
      to,
      ...Array.from({ length: 25 }, () => from + Math.floor(rnd() * (to - from))),
    ]);
    const sweep = new ExposureSweep(g.history, from);
    let checked = 0;
    for (let q = from; q <= to; q++) {
      if (q > from) sweep.advance();
      if (!sampled.has(q)) continue;
      const histograms = sweep.snapshot();
      for (let c = 0; c < CHANNEL_COUNT; c++) {
        const dense = new Uint32Array(HISTOGRAM_LENGTH);
        histograms[c]!.cells.forEach((cell, i) => {
          dense[cell] = histograms[c]!.users[i]!;
        });
        expect(dense, `instant ${q}, channel ${c}`).toEqual(expected(g, q * QUARTER_MS, c));
        expect(histograms[c]!.users.every((n) => n > 0)).toBe(true);
      }
      checked++;
    }
    expect(checked).toBe(sampled.size);
    // The generated histories do reach the "50 or more" bucket.
    expect(g.pushTimes.some((ts) => ts.length > MAX_PUSH_BUCKET)).toBe(true);
  });

  it('starts from the same state whatever instant it starts at', () => {
    const start = Date.UTC(2026, 2, 20);
    const g = generate(9, 30, 40, start);
    const early = new ExposureSweep(g.history, quarterOf(start) + 10);
    for (let i = 0; i < 2000; i++) early.advance();
    const late = new ExposureSweep(g.history, quarterOf(start) + 2010);
    expect(early.snapshot()).toEqual(late.snapshot());
  });
});
