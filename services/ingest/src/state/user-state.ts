// Per-user rolling state: every event of the user within the retention horizon
// (consent changes: all of them), kept sorted by (occurred_at, event_id), plus the
// set of event ids held, so a redelivered event changes nothing.
//
// It holds exactly what the SPEC 3 definitions need for lookbacks of 1..30 days:
// push times (pressure), campaign interactions (campaigns, last touch), app
// events (events before, activity after) and the consent history per channel.
import type { Channel } from '@optout/events';
import { keyHash } from '@optout/kafka';
import { type ConsentRecord, compareByTimeThenId } from '../optout/transitions.ts';

export interface Timed {
  t: number;
  id: string;
}

export interface Interaction extends Timed {
  campaignId: string;
  type: string;
}

export interface AppActivity extends Timed {
  name: string;
}

/** Inserts keeping (t, id) order; events mostly arrive in order, so try the end first. */
export function insertSorted<T extends Timed>(list: T[], item: T): void {
  const last = list[list.length - 1];
  if (last === undefined || compareByTimeThenId(last, item) <= 0) {
    list.push(item);
    return;
  }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareByTimeThenId(list[mid]!, item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}

/** Index of the first element with t >= time. */
export function lowerBound(list: readonly Timed[], time: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.t < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element with t > time. */
export function upperBound(list: readonly Timed[], time: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.t <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class UserState {
  readonly ids = new Set<string>();
  readonly pushes: Timed[] = [];
  readonly interactions: Interaction[] = [];
  readonly appEvents: AppActivity[] = [];
  readonly consent = new Map<Channel, ConsentRecord[]>();
  /**
   * Transitions whose facts are in ClickHouse, by transition id, with a digest of
   * what was written ('' = written, content unknown: after a restore). Lets a batch
   * write only facts that changed and tombstone transitions that no longer hold.
   */
  readonly written = new Map<string, { channel: Channel; digest: string; t: number }>();
  /** Latest occurred_at seen, to count out-of-order ("late") arrivals. */
  latestSeen = Number.NEGATIVE_INFINITY;

  /** Kafka's murmur2 of the record key, stored with facts and raw rows (restore selects by it). */
  readonly keyHash: number;

  constructor(
    readonly appId: string,
    readonly userId: string,
  ) {
    this.keyHash = keyHash(`${appId}:${userId}`);
  }

  /** Returns false when the event was already held (a duplicate delivery). */
  private admit(id: string, t: number): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (t > this.latestSeen) this.latestSeen = t;
    return true;
  }

  addPush(t: number, id: string): boolean {
    if (!this.admit(id, t)) return false;
    insertSorted(this.pushes, { t, id });
    return true;
  }

  addInteraction(t: number, id: string, campaignId: string, type: string): boolean {
    if (!this.admit(id, t)) return false;
    insertSorted(this.interactions, { t, id, campaignId, type });
    return true;
  }

  addAppEvent(t: number, id: string, name: string): boolean {
    if (!this.admit(id, t)) return false;
    insertSorted(this.appEvents, { t, id, name });
    return true;
  }

  addConsent(channel: Channel, record: ConsentRecord): boolean {
    if (!this.admit(record.id, record.t)) return false;
    let history = this.consent.get(channel);
    if (!history) {
      history = [];
      this.consent.set(channel, history);
    }
    insertSorted(history, record);
    return true;
  }

  /**
   * Drops pushes, interactions and app events older than `horizon` (their ids
   * too). Consent history is kept whole: an opt-out depends on the status before it,
   * however old.
   */
  prune(horizon: number): void {
    for (const list of [this.pushes, this.interactions, this.appEvents] as Timed[][]) {
      const cut = lowerBound(list, horizon);
      if (cut === 0) continue;
      for (let i = 0; i < cut; i++) this.ids.delete(list[i]!.id);
      list.splice(0, cut);
    }
  }

  eventCount(): number {
    return this.ids.size;
  }
}
