import type { InputEvent } from '@optout/events';
import { describe, expect, it } from 'vitest';
import { withDisorder } from './disorder.ts';
import { isMalformed, UNKNOWN_SCHEMA_ID_BASE, withMalformed } from './malformed.ts';
import { createRng } from './rng.ts';
import { Simulation } from './stream.ts';

function sampleBatches(): InputEvent[][] {
  const sim = new Simulation({
    seed: 3,
    apps: 2,
    users: 800,
    campaigns: 4,
    days: 10,
    endMs: Date.UTC(2025, 5, 1),
  });
  return [...sim.history(500)];
}

describe('withMalformed', () => {
  const batches = sampleBatches();
  const total = batches.reduce((n, b) => n + b.length, 0);

  it('makes malformed records the requested share of the output, all of them invalid', () => {
    const out = [...withMalformed(batches, 0.02, createRng(1))].flat();
    const bad = out.filter(isMalformed);
    expect(out.length - bad.length).toBe(total);
    const share = bad.length / out.length;
    expect(share).toBeGreaterThan(0.017);
    expect(share).toBeLessThan(0.023);
    const reasons = new Set(bad.map((m) => m.reason));
    expect(reasons).toEqual(new Set(['garbage', 'unknown_schema', 'missing_app_id']));
    for (const m of bad) {
      if (m.reason === 'garbage') expect(m.value![0]).not.toBe(0);
      if (m.reason === 'unknown_schema') {
        expect(m.value![0]).toBe(0);
        expect(Buffer.from(m.value!).readInt32BE(1)).toBeGreaterThanOrEqual(UNKNOWN_SCHEMA_ID_BASE);
      }
      if (m.reason === 'missing_app_id') {
        expect(m.event!.event.app_id).toBe('');
        expect(m.key.startsWith(':')).toBe(true);
      }
    }
  });

  it('adds nothing at share 0', () => {
    expect([...withMalformed(batches, 0, createRng(1))].flat()).toHaveLength(total);
  });
});

describe('withDisorder', () => {
  const batches = sampleBatches();
  const input = batches.flat();

  it('keeps the same set of events, delivering some late and some twice', () => {
    const out = [
      ...withDisorder(batches, { outOfOrder: 0.05, duplicates: 0.02, maxDelayBatches: 3 }, createRng(9)),
    ].flat();
    const ids = (events: InputEvent[]) => new Set(events.map((e) => e.event.event_id));
    expect(ids(out)).toEqual(ids(input));
    const duplicates = out.length - input.length;
    expect(duplicates / input.length).toBeGreaterThan(0.015);
    expect(duplicates / input.length).toBeLessThan(0.025);
    // A duplicate is the same event (same event_id, same content).
    const byId = new Map(input.map((e) => [e.event.event_id, e]));
    for (const e of out) expect(e).toEqual(byId.get(e.event.event_id));
    // Out of order: some event comes after a later one.
    const late = out.filter((e, i) => i > 0 && e.event.occurred_at < out[i - 1]!.event.occurred_at);
    expect(late.length).toBeGreaterThan(0);
  });

  it('is the identity without disorder', () => {
    const out = [
      ...withDisorder(batches, { outOfOrder: 0, duplicates: 0, maxDelayBatches: 3 }, createRng(9)),
    ].flat();
    expect(out).toEqual(input);
  });
});
