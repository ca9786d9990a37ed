import { DAY_MS } from '@optout/events';
import { describe, expect, it } from 'vitest';
import type { UserEvents } from '../optout/facts.ts';
import type { ConsentRecord } from '../optout/transitions.ts';
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
