// The histories recently read back from ClickHouse, kept so that the next
// rounds touching the same users need no read: a user whose opt-out keeps
// receiving late pushes (a backfill loaded topic by topic, a topic lagging
// behind the others) is read once, not once per round.
//
// An entry is exact: it is a snapshot of the user's durable events (a read
// after the round's raw rows were written) plus every event of the user this
// partition admitted since, each merged after its round's raw rows were
// written, de-duplicated by eventIdHash. Rounds of a partition are serial and
// the cache belongs to the partition's state, which is dropped whenever the
// assignment changes or a round fails; erasure forgets the user. So an entry
// always equals what a read at that moment would return for its range.
//
// Bounded: at most `maxEvents` events per partition, least recently used first out.
import type { Channel, EventKind } from '@optout/events';
import type { AppActivity, Interaction } from '../optout/facts.ts';
import { type ConsentRecord, compareByTimeThenId } from '../optout/transitions.ts';
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

  /** Merges a round's admitted events, once they are durable, into the entries of their users. */
  merge(events: readonly AdmittedEvent[]): void {
    for (const e of events) {
      const entry = this.entries.get(e.userKey);
      if (!entry) continue;
      const ev = e.input.event;
      const id = eventIdHash(KIND_TAG[e.input.kind as EventKind], ev.event_id);
      if (entry.ids.has(id)) continue;
      const t = ev.occurred_at;
      if (e.input.kind === 'consentChange') {
        // Consent is held for all time: every change belongs in it.
        const c = e.input.event;
        let history = entry.consent.get(c.channel as Channel);
        if (!history) {
          history = [];
          entry.consent.set(c.channel as Channel, history);
        }
        const record: ConsentRecord = { t, id: c.event_id, status: c.status, source: c.source };
        insertByTime(history, record, (a, b) => compareByTimeThenId(a, b) < 0);
        entry.ids.add(id);
        continue;
      }
      // Other events only inside the range the entry is complete for.
      if (t < entry.from || t > entry.to) continue;
      entry.ids.add(id);
      this.events++;
      const { events: held } = entry;
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
    }
  }
}
