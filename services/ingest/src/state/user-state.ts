// Per-user rolling state: every event of the user within the retention horizon
// (consent changes: all of them), sorted by occurred_at, in a compact layout.
//
// It holds exactly what the SPEC 3 definitions need for lookbacks of 1..30 days:
// push times (pressure), campaign interactions (campaigns, last touch), app
// events (events before, activity after) and the consent history per channel.
//
// Memory: pushes and app events are the bulk of a user's events, so they are
// kept as parallel number arrays (time, id hash, name index) rather than one
// object each. A redelivered event is recognised in its own list by its time and
// event id: the same event_id always carries the same content (SPEC 2), so its
// time is the same too. Pushes and app events compare ids by a 53-bit hash
// (a collision needs two events of one user at the same millisecond); campaign
// interactions and consent changes keep the id itself, which their tie-breaks use.
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

/** A 53-bit hash of an event id (two 32-bit FNV-1a variants), exact in a double. */
export function idHash(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** Index of the first time >= `time` in a sorted array of times. */
export function lowerBound(times: readonly number[], time: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first time > `time` in a sorted array of times. */
export function upperBound(times: readonly number[], time: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** As lowerBound, on objects with a time. */
export function lowerBoundBy(list: readonly Timed[], time: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.t < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Inserts keeping (t, id) order; returns false if an element with the same t and
 * id is there already. Events mostly arrive in order, so the end is tried first.
 */
export function insertSorted<T extends Timed>(list: T[], item: T): boolean {
  let at = list.length;
  const last = list[at - 1];
  if (last !== undefined && compareByTimeThenId(last, item) >= 0) {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareByTimeThenId(list[mid]!, item) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo < list.length && compareByTimeThenId(list[lo]!, item) === 0) return false;
    at = lo;
  }
  if (at === list.length) list.push(item);
  else list.splice(at, 0, item);
  return true;
}

/** Sorted times with a parallel id hash (and optional value) per event. */
class Timeline {
  readonly times: number[] = [];
  readonly hashes: number[] = [];
  readonly values: number[] = [];

  constructor(private readonly withValues: boolean) {}

  /** Returns false when an event with the same time and id hash is held. */
  add(t: number, hash: number, value = 0): boolean {
    const { times, hashes } = this;
    let at = times.length;
    if (at > 0 && times[at - 1]! >= t) {
      at = lowerBound(times, t);
      for (let i = at; i < times.length && times[i] === t; i++) if (hashes[i] === hash) return false;
    }
    if (at === times.length) {
      times.push(t);
      hashes.push(hash);
      if (this.withValues) this.values.push(value);
    } else {
      times.splice(at, 0, t);
      hashes.splice(at, 0, hash);
      if (this.withValues) this.values.splice(at, 0, value);
    }
    return true;
  }

  dropBefore(horizon: number): void {
    const cut = lowerBound(this.times, horizon);
    if (cut === 0) return;
    this.times.splice(0, cut);
    this.hashes.splice(0, cut);
    if (this.withValues) this.values.splice(0, cut);
  }
}

/**
 * App event names, interned per partition: users of one app share a handful of
 * names, so each event stores a small integer instead of a string reference.
 */
export class NameTable {
  private readonly index = new Map<string, number>();
  readonly names: string[] = [];

  intern(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.index.set(name, i);
    }
    return i;
  }
}

/** What ClickHouse holds for a transition: its channel, time and a digest of the facts ('' = unknown). */
export interface WrittenFacts {
  channel: Channel;
  digest: string;
  t: number;
}

const NO_CONSENT: ReadonlyMap<Channel, ConsentRecord[]> = new Map();
const NOTHING_WRITTEN: ReadonlyMap<string, WrittenFacts> = new Map();

export class UserState {
  private readonly pushLine = new Timeline(false);
  private readonly appLine = new Timeline(true);
  readonly interactions: Interaction[] = [];
  // Most users never change consent: both maps are created on first use (an
  // empty Map costs more than a typical user's pushes).
  private consentByChannel: Map<Channel, ConsentRecord[]> | null = null;
  private writtenFacts: Map<string, WrittenFacts> | null = null;
  /** Latest occurred_at seen, to count out-of-order ("late") arrivals. */
  latestSeen = Number.NEGATIVE_INFINITY;
  /** Kafka's murmur2 of the record key, stored with facts and raw rows (restore selects by it). */
  readonly keyHash: number;

  constructor(
    readonly appId: string,
    readonly userId: string,
    readonly names: NameTable,
  ) {
    this.keyHash = keyHash(`${appId}:${userId}`);
  }

  /** Consent history per channel, each sorted by (t, id). */
  get consent(): ReadonlyMap<Channel, ConsentRecord[]> {
    return this.consentByChannel ?? NO_CONSENT;
  }

  /**
   * Transitions whose facts are in ClickHouse, by transition id, with a digest of
   * what was written. Lets a batch write only facts that changed and tombstone
   * transitions that no longer hold.
   */
  get written(): ReadonlyMap<string, WrittenFacts> {
    return this.writtenFacts ?? NOTHING_WRITTEN;
  }

  markWritten(transitionId: string, facts: WrittenFacts): void {
    this.writtenFacts ??= new Map();
    this.writtenFacts.set(transitionId, facts);
  }

  forgetWritten(transitionId: string): void {
    this.writtenFacts?.delete(transitionId);
  }

  /** Push times, sorted. */
  get pushes(): readonly number[] {
    return this.pushLine.times;
  }

  /** App event times, sorted; `appEventNames[i]` indexes `names.names`. */
  get appEventTimes(): readonly number[] {
    return this.appLine.times;
  }

  get appEventNames(): readonly number[] {
    return this.appLine.values;
  }

  private seen(t: number, admitted: boolean): boolean {
    if (admitted && t > this.latestSeen) this.latestSeen = t;
    return admitted;
  }

  /** Each add returns false when the event was already held (a duplicate delivery). */
  addPush(t: number, id: string): boolean {
    return this.seen(t, this.pushLine.add(t, idHash(id)));
  }

  addInteraction(t: number, id: string, campaignId: string, type: string): boolean {
    return this.seen(t, insertSorted(this.interactions, { t, id, campaignId, type }));
  }

  addAppEvent(t: number, id: string, name: string): boolean {
    return this.seen(t, this.appLine.add(t, idHash(id), this.names.intern(name)));
  }

  addConsent(channel: Channel, record: ConsentRecord): boolean {
    this.consentByChannel ??= new Map();
    let history = this.consentByChannel.get(channel);
    if (!history) {
      history = [];
      this.consentByChannel.set(channel, history);
    }
    return this.seen(record.t, insertSorted(history, record));
  }

  /**
   * Drops pushes, interactions and app events older than `horizon`. Consent
   * history is kept whole: an opt-out depends on the status before it, however old.
   */
  prune(horizon: number): void {
    this.pushLine.dropBefore(horizon);
    this.appLine.dropBefore(horizon);
    const cut = lowerBoundBy(this.interactions, horizon);
    if (cut > 0) this.interactions.splice(0, cut);
  }

  eventCount(): number {
    let n = this.pushLine.times.length + this.appLine.times.length + this.interactions.length;
    for (const history of this.consent.values()) n += history.length;
    return n;
  }
}
