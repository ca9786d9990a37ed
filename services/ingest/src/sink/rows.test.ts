import { describe, expect, it } from 'vitest';
import type { OptOutFacts } from '../optout/facts.ts';
import { emptyDirt, type TransitionRow } from '../recompute/user-rows.ts';
import type { AdmittedEvent, UserWork } from '../state/affected.ts';
import { EventRows, FactRows } from './rows.ts';

const user: UserWork = { appId: 'a', userId: 'u', userKey: 'a:u', keyHash: 7, dirt: emptyDirt(), around: [] };
const t = Date.UTC(2026, 10, 1);

function optOut(facts: Partial<OptOutFacts>, version: number): TransitionRow {
  return {
    channel: 'PUSH',
    record: { t, id: 'c1', status: 'OPTED_OUT', source: 'settings' },
    kind: 'OPT_OUT',
    facts: {
      pushesBefore: Array(30).fill(1),
      lastTouch: null,
      nextActivityAt: 0,
      touches: [],
      eventCounts: [],
      ...facts,
    },
    nextOptInAt: 0,
    version,
  };
}

const touch = (campaignId: string, opens: number) => ({
  campaignId,
  daysBefore: 2,
  opens,
  clicks: 0,
  dismisses: 0,
  conversions: 0,
  interactions: opens,
});
const counts = (sessions: number) => [
  { eventName: 'session', daysBefore: 1, events: sessions },
  { eventName: 'purchase', daysBefore: 3, events: 1 },
];

/** Rows per table a FactRows holds. */
const lengths = (rows: FactRows) => rows.tables().map((r) => r.length);

describe('FactRows detail rows', () => {
  it('writes every row of a history read afresh', () => {
    const rows = new FactRows();
    rows.add(user, optOut({ touches: [touch('x', 1)], eventCounts: counts(2) }, 10), new Map());
    expect(lengths(rows)).toEqual([1, 1]);
  });

  it('writes the event counts into the transition row, as three parallel arrays', () => {
    const rows = new FactRows();
    rows.add(user, optOut({ eventCounts: counts(2) }, 10), new Map());
    const line = Buffer.concat(rows.consent_transitions.body()).toString();
    expect(line.endsWith("\t['session','purchase']\t[1,3]\t[2,1]\t1\n")).toBe(true);
  });

  it('leaves out the touch rows already written with the same content, never the transition', () => {
    const written = new Map<number, number>();
    new FactRows().add(user, optOut({ touches: [touch('x', 1)], eventCounts: counts(2) }, 10), written);
    // A late push: the transition changes, its touches do not.
    const again = new FactRows();
    again.add(user, optOut({ touches: [touch('x', 1)], eventCounts: counts(2) }, 11), written);
    expect(lengths(again)).toEqual([1, 0]);
    // The transition row, always written, carries its event counts again.
    expect(Buffer.concat(again.consent_transitions.body()).toString()).toContain("['session','purchase']");
  });

  it('writes a touch row again once its content changed, and a new key', () => {
    const written = new Map<number, number>();
    new FactRows().add(user, optOut({ touches: [touch('x', 1), touch('y', 1)] }, 10), written);
    const later = new FactRows();
    later.add(user, optOut({ touches: [touch('x', 1), touch('y', 2), touch('z', 1)] }, 12), written);
    // y's count grew and z is new; x is as written.
    expect(lengths(later)).toEqual([1, 2]);
  });

  it('keeps keys apart whatever characters the ids hold', () => {
    // With a plain separator these two would be one key: "a\0b" + "c" and "a" + "b\0c".
    const written = new Map<number, number>();
    const first = optOut({ touches: [touch('c', 1)] }, 10);
    first.record = { ...first.record, id: 'a\u0000b' };
    new FactRows().add(user, first, written);
    const second = optOut({ touches: [touch('b\u0000c', 1)] }, 10);
    second.record = { ...second.record, id: 'a' };
    const rows = new FactRows();
    rows.add(user, second, written);
    expect(lengths(rows)).toEqual([1, 1]);
  });

  it('keeps the opt-outs of one user apart', () => {
    const written = new Map<number, number>();
    new FactRows().add(user, optOut({ touches: [touch('x', 1)] }, 10), written);
    const other = optOut({ touches: [touch('x', 1)] }, 10);
    other.record = { ...other.record, id: 'c2' };
    const rows = new FactRows();
    rows.add(user, other, written);
    expect(lengths(rows)).toEqual([1, 1]);
  });
});

describe('EventRows latest-known rows', () => {
  const appEvent = (
    userId: string,
    eventId: string,
    at: number,
    externalId: string | null,
  ): AdmittedEvent => ({
    input: {
      kind: 'appEvent',
      event: {
        event_id: eventId,
        app_id: 'a',
        user_id: userId,
        occurred_at: at,
        event_name: 'open',
        external_id: externalId,
      },
    },
    keyHash: 7,
    userKey: `a:${userId}`,
    topic: 'app-events',
  });
  const push = (eventId: string, at: number, campaignName: string): AdmittedEvent => ({
    input: {
      kind: 'pushSent',
      event: {
        event_id: eventId,
        app_id: 'a',
        user_id: 'u',
        occurred_at: at,
        message_id: 'm',
        campaign_id: 'c1',
        campaign_name: campaignName,
        platform: null,
      },
    },
    keyHash: 7,
    userKey: 'a:u',
    topic: 'pushes',
  });
  const text = (rows: EventRows, table: string) =>
    Buffer.concat(
      rows
        .tables()
        .find((r) => r.table.name === table)!
        .body(),
    ).toString();

  it("writes every raw event, but only each user's and campaign's latest value of the round", () => {
    const rows = new EventRows(4);
    rows.add(appEvent('u', 'e1', t + 2, 'crm-new'));
    rows.add(appEvent('u', 'e2', t, 'crm-old'));
    rows.add(appEvent('u', 'e3', t + 1, null));
    rows.add(appEvent('v', 'e4', t, 'crm-v'));
    rows.add(push('p1', t + 5, 'Spring'));
    rows.add(push('p2', t + 9, 'Spring sale'));
    rows.add(push('p3', t + 7, 'Spring'));
    const tables = Object.fromEntries(rows.tables().map((r) => [r.table.name, r.length]));
    expect(tables.raw_app_event).toBe(4);
    expect(tables.raw_push).toBe(3);
    expect(text(rows, 'user_external_ids')).toBe(`a\tu\tcrm-new\t${t + 2}\te1\na\tv\tcrm-v\t${t}\te4\n`);
    expect(text(rows, 'campaign_names')).toBe(`a\tc1\tSpring sale\t${t + 9}\tp2\n`);
  });
});
