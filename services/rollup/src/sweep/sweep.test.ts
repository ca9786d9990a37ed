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
import { type AppHistory, CHANNEL_COUNT, PushGrid, quarterOf, type StatusChange } from './history.ts';
import { AppSweep } from './sweep.ts';

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

/** `lateFrom`: the last fifth of the users have all their events from then on. */
function generate(seed: number, users: number, days: number, start: number, lateFrom = start): Generated {
  const rnd = random(seed);
  const end = start + days * DAY_MS;
  let from = start;
  const at = () => from + Math.floor(rnd() * (end - from));
  const pushTimes: number[][] = [];
  const firstSeen = new Float64Array(users).fill(Number.POSITIVE_INFINITY);
  const changes: StatusChange[] = [];
  const statuses: Generated['statuses'] = [];
  for (let u = 0; u < users; u++) {
    from = u >= users * 0.8 ? lateFrom : start;
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
  const grid = new PushGrid(quarterOf(start));
  const all = pushTimes.flatMap((ts, u) => ts.map((t) => ({ u, t }))).sort((a, b) => a.t - b.t);
  for (const p of all) grid.add(p.u, p.t);
  grid.extendTo(quarterOf(end) + 1);
  return {
    history: { users, firstSeen, pushes: grid, changes },
    pushTimes,
    statuses,
  };
}

function rebuilt(pushes: { u: number; t: number }[], firstQuarter: number, end: number): PushGrid {
  const grid = new PushGrid(firstQuarter);
  for (const p of pushes) grid.add(p.u, p.t);
  grid.extendTo(end);
  return grid;
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

describe('sweep', () => {
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
    const swept = new AppSweep(g.history, from).sweepTo(to);
    let checked = 0;
    for (const q of sampled) {
      for (let c = 0; c < CHANNEL_COUNT; c++) {
        const { cells, users } = swept.at(q, c);
        const dense = new Uint32Array(HISTOGRAM_LENGTH);
        cells.forEach((cell, i) => {
          dense[cell] = users[i]!;
        });
        expect(dense, `instant ${q}, channel ${c}`).toEqual(expected(g, q * QUARTER_MS, c));
        expect(users.every((n) => n > 0)).toBe(true);
      }
      checked++;
    }
    expect(checked).toBe(sampled.size);
    // The generated histories do reach the "50 or more" bucket.
    expect(g.pushTimes.some((ts) => ts.length > MAX_PUSH_BUCKET)).toBe(true);
  });

  it('gives an instant the same histograms whatever instant the sweep starts at', () => {
    const start = Date.UTC(2026, 2, 20);
    const g = generate(9, 30, 40, start);
    const q = quarterOf(start) + 2010;
    const early = new AppSweep(g.history, quarterOf(start) + 10).sweepTo(q);
    const late = new AppSweep(g.history, q).sweepTo(q);
    for (let c = 0; c < CHANNEL_COUNT; c++) expect(early.at(q, c)).toEqual(late.at(q, c));
  });

  it('going forward as the history grows gives what a sweep of the whole history gives', () => {
    const start = Date.UTC(2026, 5, 1);
    const cut = quarterOf(start) + 35 * 96 + 7;
    const whole = generate(11, 50, 40, start, cut * QUARTER_MS);
    const from = quarterOf(start) + 31 * 96;
    const to = quarterOf(start + 40 * DAY_MS) + 1;
    // What was known at instant `cut`: users first seen before it, transitions and pushes before it.
    const known = (u: number) => whole.history.firstSeen[u]! < cut * QUARTER_MS;
    const order = Array.from({ length: 50 }, (_, u) => u).sort((a, b) => Number(known(b)) - Number(known(a)));
    const index = new Map(order.map((u, i) => [u, i]));
    const firstKnown = order.filter(known).length;
    const grid = new PushGrid(whole.history.pushes.firstQuarter);
    const allPushes = whole.pushTimes.flatMap((ts, u) => ts.map((t) => ({ u: index.get(u)!, t })));
    allPushes.sort((a, b) => a.t - b.t);
    for (const p of allPushes) if (quarterOf(p.t) < cut) grid.add(p.u, p.t);
    grid.extendTo(cut);
    const changes = whole.history.changes.map((c) => ({ ...c, user: index.get(c.user)! }));
    const firstSeen = Float64Array.from(order, (u) => whole.history.firstSeen[u]!);
    const partial: AppHistory = {
      users: firstKnown,
      firstSeen: firstSeen.slice(0, firstKnown),
      pushes: grid,
      changes: changes.filter((c) => c.t < cut * QUARTER_MS),
    };
    expect(firstKnown).toBeLessThanOrEqual(40);
    const incremental = new AppSweep(partial, from);
    incremental.sweepTo(cut);
    // Then the rest arrives: the users first seen later, their pushes, the later transitions.
    partial.users = 50;
    partial.firstSeen = firstSeen;
    partial.changes = changes;
    for (const p of allPushes) if (quarterOf(p.t) >= cut) grid.add(p.u, p.t);
    grid.extendTo(to);
    grid.dropBefore(cut - 31 * 96);
    incremental.extended(firstKnown);
    const later = incremental.sweepTo(to);
    const fresh = new AppSweep(
      { ...partial, pushes: rebuilt(allPushes, whole.history.pushes.firstQuarter, to) },
      from,
    ).sweepTo(to);
    for (let q = cut; q <= to; q += 37)
      for (let c = 0; c < CHANNEL_COUNT; c++) expect(later.at(q, c), `instant ${q}`).toEqual(fresh.at(q, c));
  });
});
