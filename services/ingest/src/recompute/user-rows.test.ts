import { type ConsentRecord, DAY_MS } from '@optout/events';
import { describe, expect, it } from 'vitest';
import type { UserEvents } from '../optout/facts.ts';
import { dirtyRecords, emptyDirt, rowsOf } from './user-rows.ts';
import { VERSION_BASE } from './versions.ts';

const T = Date.UTC(2025, 0, 10);
const rec = (t: number, id: string, status: ConsentRecord['status']): ConsentRecord => ({
  t,
  id,
  status,
  source: 'api',
});
const none: UserEvents = { pushes: [], interactions: [], appEvents: [] };

describe('dirtyRecords', () => {
  const history = [
    rec(T, 'a', 'OPTED_OUT'),
    rec(T + DAY_MS, 'b', 'OPTED_OUT'),
    rec(T + 2 * DAY_MS, 'c', 'OPTED_IN'),
  ];
  const consent = new Map([['PUSH' as const, history]]);

  it('rewrites an arrived record and the next one on its channel, with what each now is', () => {
    const dirt = emptyDirt();
    dirt.consentIds.add('a');
    expect(dirtyRecords(consent, dirt).map((d) => [d.record.id, d.kind])).toEqual([
      ['a', 'OPT_OUT'],
      ['b', null], // a repeat of OPTED_OUT: not a transition (a tombstone hides an older row)
    ]);
  });

  it('rewrites the opt-outs in a changed window only (not repeats, not opt-ins)', () => {
    const dirt = emptyDirt();
    dirt.ranges.push([T - 1, T + 3 * DAY_MS]);
    expect(dirtyRecords(consent, dirt).map((d) => d.record.id)).toEqual(['a']);
  });

  it('rewrites the opt-out before an arrived record: its next opt-in may change', () => {
    const dirt = emptyDirt();
    dirt.consentIds.add('c');
    // b repeats a, so a is the last transition before c; c is a's next opt-in now.
    expect(dirtyRecords(consent, dirt).map((d) => [d.record.id, d.kind, d.nextOptInAt])).toEqual([
      ['a', 'OPT_OUT', T + 2 * DAY_MS],
      ['c', 'OPT_IN', 0],
    ]);
    // A repeat arriving between them makes a dirty too (harmless: its row does not change).
    const repeat = emptyDirt();
    repeat.consentIds.add('b');
    expect(dirtyRecords(consent, repeat).map((d) => d.record.id)).toEqual(['a', 'b', 'c']);
  });

  it('leaves the record before alone when it is an opt-in or more than 30 days earlier', () => {
    const far = new Map([
      ['PUSH' as const, [rec(T, 'a', 'OPTED_OUT'), rec(T + 30 * DAY_MS + 1, 'c', 'OPTED_IN')]],
    ]);
    const dirt = emptyDirt();
    dirt.consentIds.add('c');
    expect(dirtyRecords(far, dirt).map((d) => d.record.id)).toEqual(['c']);
    const afterIn = new Map([
      ['PUSH' as const, [rec(T, 'a', 'OPTED_IN'), rec(T + DAY_MS, 'c', 'OPTED_OUT')]],
    ]);
    expect(dirtyRecords(afterIn, dirt).map((d) => d.record.id)).toEqual(['c']);
  });

  it("finds an opt-out's next opt-in within 30 days (inclusive), 0 beyond, on its own channel", () => {
    const all = { ...emptyDirt(), all: true };
    const next = (history: ConsentRecord[]) =>
      dirtyRecords(new Map([['PUSH' as const, history]]), all).map((d) => d.nextOptInAt);
    expect(next([rec(T, 'a', 'OPTED_OUT'), rec(T + 30 * DAY_MS, 'b', 'OPTED_IN')])).toEqual([
      T + 30 * DAY_MS,
      0,
    ]);
    expect(next([rec(T, 'a', 'OPTED_OUT'), rec(T + 30 * DAY_MS + 1, 'b', 'OPTED_IN')])).toEqual([0, 0]);
    // Same millisecond, larger id: after it in (t, id) order.
    expect(next([rec(T, 'a', 'OPTED_OUT'), rec(T, 'b', 'OPTED_IN')])).toEqual([T, 0]);
    // A tombstone (repeat) gets 0.
    expect(
      next([rec(T, 'a', 'OPTED_OUT'), rec(T + 1, 'b', 'OPTED_OUT'), rec(T + 2, 'c', 'OPTED_IN')]),
    ).toEqual([T + 2, 0, 0]);
    const twoChannels = new Map([
      ['PUSH' as const, [rec(T, 'a', 'OPTED_OUT')]],
      ['EMAIL' as const, [rec(T + 1, 'b', 'OPTED_IN')]],
    ]);
    expect(dirtyRecords(twoChannels, all).map((d) => [d.record.id, d.nextOptInAt])).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
  });

  it('rewrites everything after an erasure', () => {
    const dirt = { ...emptyDirt(), all: true };
    expect(dirtyRecords(consent, dirt)).toHaveLength(3);
  });
});

describe('rowsOf', () => {
  it('versions a row by the evidence it saw: more events in the window, higher version', () => {
    const history = [rec(T, 'a', 'OPTED_OUT')];
    const [record] = dirtyRecords(new Map([['PUSH' as const, history]]), { ...emptyDirt(), all: true });
    const [few] = rowsOf([record!], { ...none, pushes: [T - DAY_MS] });
    const [more] = rowsOf([record!], { ...none, pushes: [T - 2 * DAY_MS, T - DAY_MS] });
    expect(few!.version).toBe(VERSION_BASE + 2);
    expect(more!.version).toBeGreaterThan(few!.version);
    expect(more!.facts?.pushesBefore[1]).toBe(2);
  });

  it("raises an opt-out's version with every consent record within 30 days after it, and only those", () => {
    const all = { ...emptyDirt(), all: true };
    const optOutRow = (history: ConsentRecord[]) =>
      rowsOf(
        dirtyRecords(new Map([['PUSH' as const, history]]), all).filter((d) => d.record.id === 'a'),
        none,
      )[0]!;
    const alone = optOutRow([rec(T, 'a', 'OPTED_OUT')]);
    const back = optOutRow([rec(T, 'a', 'OPTED_OUT'), rec(T + 3 * DAY_MS, 'c', 'OPTED_IN')]);
    // The opt-in changes the row (won back), so it must raise the version.
    expect(back.nextOptInAt).toBe(T + 3 * DAY_MS);
    expect(back.version).toBeGreaterThan(alone.version);
    // An earlier opt-in arriving later: the content changes again, the version grows again.
    const earlier = optOutRow([
      rec(T, 'a', 'OPTED_OUT'),
      rec(T + DAY_MS, 'b', 'OPTED_IN'),
      rec(T + 3 * DAY_MS, 'c', 'OPTED_IN'),
    ]);
    expect(earlier.nextOptInAt).toBe(T + DAY_MS);
    expect(earlier.version).toBeGreaterThan(back.version);
    // A record beyond 30 days changes neither: equal versions, equal rows.
    const far = optOutRow([rec(T, 'a', 'OPTED_OUT'), rec(T + 31 * DAY_MS, 'z', 'OPTED_IN')]);
    expect(far).toEqual(alone);
  });

  it('never versions a row below the formula of the release before (records up to r only)', () => {
    const history = [
      rec(T - DAY_MS, 'p', 'OPTED_IN'),
      rec(T, 'a', 'OPTED_OUT'),
      rec(T + DAY_MS, 'c', 'OPTED_IN'),
      rec(T + 40 * DAY_MS, 'd', 'OPTED_OUT'),
    ];
    const rows = rowsOf(
      dirtyRecords(new Map([['PUSH' as const, history]]), { ...emptyDirt(), all: true }),
      none,
    );
    // Old: VERSION_BASE + (index + 1); new: records with time <= t + 30 days.
    expect(rows.map((r) => r.version - VERSION_BASE)).toEqual([3, 3, 3, 4]);
    rows.forEach((row, index) => {
      expect(row.version).toBeGreaterThanOrEqual(VERSION_BASE + index + 1);
    });
  });

  it('gives a tombstone a version above the opt-out row it replaces', () => {
    const before = dirtyRecords(new Map([['PUSH' as const, [rec(T, 'b', 'OPTED_OUT')]]]), {
      ...emptyDirt(),
      all: true,
    });
    const after = dirtyRecords(
      new Map([['PUSH' as const, [rec(T - DAY_MS, 'a', 'OPTED_OUT'), rec(T, 'b', 'OPTED_OUT')]]]),
      { ...emptyDirt(), all: true },
    ).filter((d) => d.record.id === 'b');
    const events = { ...none, pushes: [T - 1] };
    const [optOut] = rowsOf(before, events);
    const [tombstone] = rowsOf(after, events);
    expect(optOut!.kind).toBe('OPT_OUT');
    expect(tombstone!.kind).toBeNull();
    expect(tombstone!.version).toBeGreaterThan(optOut!.version);
  });
});
