// The histories recently read back from ClickHouse, kept so that the next
// rounds touching the same users need no read: a user whose opt-out keeps
// receiving late pushes (a backfill loaded topic by topic, a topic lagging
// behind the others) is read once, not once per round.
//
// An entry is exact: it is a snapshot of the user's durable events plus every
// event of the user this partition admitted since (mergeEvent), each merged as
// its round starts writing and de-duplicated by eventIdHash. Rounds of a
// partition are serial and the cache belongs to the partition's state, which is
// dropped whenever the assignment changes or a round fails; erasure forgets the
// user. So an entry always equals what a read would return for its range once
// the round being written is durable.
//
// Bounded: at most `maxEvents` events per partition, least recently used first out.
import { type Channel, type ConsentRecord, compareByTimeThenId, type EventKind } from '@optout/events';
import type { AppActivity, Interaction } from '../optout/facts.ts';
import type { AdmittedEvent } from '../state/affected.ts';
import { eventIdHash, KIND_TAG, type UserHistory } from './read.ts';

const sizeOf = (h: UserHistory) =>
  h.events.pushes.length + h.events.interactions.length + h.events.appEvents.length + 1;

function insertByTime<T>(list: T[], item: T, before: (a: T, b: T) => boolean): void {
  let at = list.length;
  while (at > 0 && before(item, list[at - 1]!)) at--;
  list.splice(at, 0, item);
}

export class HistoryCache {
  private readonly entries = new Map<string, UserHistory>();
  private events = 0;

  constructor(private readonly maxEvents: number) {}

  get size(): number {
    return this.entries.size;
  }

  get heldEvents(): number {
    return this.events;
  }

  /** The user's history if it covers [from, to] (the entry becomes the most recently used). */
  covering(userKey: string, from: number, to: number): UserHistory | undefined {
    const entry = this.entries.get(userKey);
    if (!entry || entry.from > from || entry.to < to) return undefined;
    this.entries.delete(userKey);
    this.entries.set(userKey, entry);
    return entry;
  }

  put(userKey: string, history: UserHistory): void {
    this.forget(userKey);
    this.entries.set(userKey, history);
    this.events += sizeOf(history);
    for (const [key, old] of this.entries) {
      if (this.events <= this.maxEvents || key === userKey) break;
      this.entries.delete(key);
      this.events -= sizeOf(old);
    }
  }

  forget(userKey: string): void {
    const entry = this.entries.get(userKey);
    if (!entry) return;
    this.entries.delete(userKey);
    this.events -= sizeOf(entry);
  }

  /**
   * Merges a round's admitted events into the entries of their users. A round
   * merges before its rows are durable: if it fails, the partition's state and
   * with it this cache is dropped, so no entry outlives rows that were not written.
   */
  merge(events: readonly AdmittedEvent[]): void {
    for (const e of events) {
      const entry = this.entries.get(e.userKey);
      if (entry && mergeEvent(entry, e)) this.events++;
    }
  }
}

/**
 * Adds an admitted event to a user's history as a read would have returned it,
 * unless the history holds it already (by eventIdHash). Consent changes are kept
 * for all time, other events only inside the range the history is complete for.
 * True when an event other than a consent change was added (the cache's count).
 */
export function mergeEvent(history: UserHistory, e: AdmittedEvent): boolean {
  const ev = e.input.event;
  const id = eventIdHash(KIND_TAG[e.input.kind as EventKind], ev.event_id);
  if (history.ids.has(id)) return false;
  const t = ev.occurred_at;
  if (e.input.kind === 'consentChange') {
    const c = e.input.event;
    let records = history.consent.get(c.channel as Channel);
    if (!records) {
      records = [];
      history.consent.set(c.channel as Channel, records);
    }
    const record: ConsentRecord = { t, id: c.event_id, status: c.status, source: c.source };
    insertByTime(records, record, (a, b) => compareByTimeThenId(a, b) < 0);
    history.ids.add(id);
    return false;
  }
  if (t < history.from || t > history.to) return false;
  history.ids.add(id);
  const { events: held } = history;
  if (e.input.kind === 'pushSent') insertByTime(held.pushes as number[], t, (a, b) => a < b);
  else if (e.input.kind === 'campaignInteraction') {
    const item: Interaction = {
      t,
      id: ev.event_id,
      campaignId: e.input.event.campaign_id,
      type: e.input.event.interaction,
    };
    insertByTime(held.interactions as Interaction[], item, (a, b) => compareByTimeThenId(a, b) < 0);
  } else if (e.input.kind === 'appEvent') {
    const item: AppActivity = { t, name: e.input.event.event_name };
    insertByTime(held.appEvents as AppActivity[], item, (a, b) => a.t < b.t);
  }
  return true;
}
