// next_opt_in_at_ms (win-back) stays exact when the opt-in comes in a later
// round than its opt-out: the opt-out's row was written already and nothing
// else about it changes, so ingest must rewrite it because the consent change
// after it arrived (recompute/user-rows.ts dirtyRecords). Each phase is
// ingested before the next is produced, and the facts are compared with the
// reference after every phase.
import type { InputEvent } from '@optout/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { optOutFacts, transitions } from '../support/reference.ts';
import { readOptOutFacts, readTransitions } from './facts.ts';

const DAY = 86_400_000;
const T = Date.UTC(2026, 0, 10, 12);

function consent(user: string, id: string, at: number, status: 'OPTED_IN' | 'OPTED_OUT'): InputEvent {
  return {
    kind: 'consentChange',
    event: {
      app_id: 'app-w',
      user_id: user,
      event_id: id,
      occurred_at: at,
      channel: 'PUSH',
      status,
      source: 'api',
      external_id: null,
      identifiers: {},
    },
  };
}

function push(user: string, id: string, at: number): InputEvent {
  return {
    kind: 'pushSent',
    event: {
      app_id: 'app-w',
      user_id: user,
      event_id: id,
      occurred_at: at,
      message_id: id,
      campaign_id: null,
      campaign_name: null,
      platform: null,
    },
  };
}

const PHASES: InputEvent[][] = [
  [
    push('u1', 'p1', T - DAY),
    consent('u1', 'u1-out', T, 'OPTED_OUT'),
    consent('u2', 'u2-out', T, 'OPTED_OUT'),
    consent('u2', 'u2-in-late', T + 10 * DAY, 'OPTED_IN'),
    consent('u3', 'u3-out', T, 'OPTED_OUT'),
    consent('u4', 'u4-out', T, 'OPTED_OUT'),
    consent('u4', 'u4-repeat', T + DAY, 'OPTED_OUT'),
  ],
  [
    // u1: won back 3 days later; u2: an earlier opt-in than the one known;
    // u3: beyond 30 days (stays 0); u4: the opt-out is two records back.
    consent('u1', 'u1-in', T + 3 * DAY, 'OPTED_IN'),
    consent('u2', 'u2-in', T + 2 * DAY, 'OPTED_IN'),
    consent('u3', 'u3-in', T + 31 * DAY, 'OPTED_IN'),
    consent('u4', 'u4-in', T + 2 * DAY, 'OPTED_IN'),
  ],
  [
    // u1 opts out again before the opt-in: a repeat, the first opt-out keeps it.
    consent('u1', 'u1-repeat', T + DAY, 'OPTED_OUT'),
    // u3 comes back within 30 days after all.
    consent('u3', 'u3-in-early', T + 29 * DAY, 'OPTED_IN'),
  ],
];

describe('next opt-in across rounds', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await createTestPipeline({ partitions: 2, prefix: 'nextin' });
    await p.startIngest();
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('equals the reference after every phase', async () => {
    const seen: InputEvent[] = [];
    const nextOptIns: Record<string, number>[] = [];
    for (const phase of PHASES) {
      await p.produce(phase);
      await p.waitForCaughtUp();
      seen.push(...phase);
      expect(await readTransitions(p.clickhouse)).toEqual(transitions(seen));
      const facts = await readOptOutFacts(p.clickhouse);
      expect(facts).toEqual(optOutFacts(seen));
      nextOptIns.push(Object.fromEntries(facts.map((f) => [f.transition_id, f.next_opt_in_at_ms])));
    }
    // The cases the phases are made of happened.
    expect(nextOptIns).toEqual([
      { 'u1-out': 0, 'u2-out': T + 10 * DAY, 'u3-out': 0, 'u4-out': 0 },
      { 'u1-out': T + 3 * DAY, 'u2-out': T + 2 * DAY, 'u3-out': 0, 'u4-out': T + 2 * DAY },
      { 'u1-out': T + 3 * DAY, 'u2-out': T + 2 * DAY, 'u3-out': T + 29 * DAY, 'u4-out': T + 2 * DAY },
    ]);
  });
});
