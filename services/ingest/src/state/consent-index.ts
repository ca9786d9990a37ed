// The in-memory part of a partition's state: for every user of the partition
// with consent changes, the (time, channel, status) of each change. It answers
// one question per event: "might this event change the facts of an opt-out?",
// and says which windows to read back from ClickHouse to find out.
//
// It is a conservative filter, never a source of facts (those are recomputed
// from the durable events, recompute/): users are keyed by their 31-bit Kafka
// key hash, so two users sharing a hash share an entry, and every OPTED_OUT
// change counts as a possible opt-out. Both can only make a round recompute
// more than needed, never less. Entries only grow (a change is a fact that
// stays), except when erasure removes a user.
//
// Memory: a user with one change costs one Map entry and one number (a few
// dozen bytes); users without consent changes cost nothing.
import { CHANNELS, type Channel, type ConsentStatus } from '@optout/events';

const CHANNEL_CODE = new Map<Channel, number>(CHANNELS.map((c, i) => [c, i]));

/** t * 8 + channel * 2 + (opted out ? 1 : 0): exact for any t before the year 35,000. */
function encode(t: number, channel: Channel, status: ConsentStatus): number {
  return t * 8 + CHANNEL_CODE.get(channel)! * 2 + (status === 'OPTED_OUT' ? 1 : 0);
}

const timeOf = (code: number) => Math.floor(code / 8);
const channelOf = (code: number) => Math.floor((code % 8) / 2);
const isOptOut = (code: number) => code % 2 === 1;

export interface IndexedChange {
  t: number;
  channel: Channel;
  optedOut: boolean;
}

export class ConsentIndex {
  private readonly byKey = new Map<number, number | number[]>();

  get users(): number {
    return this.byKey.size;
  }

  /** Whether anything is known under the hash: most users have no consent changes. */
  has(keyHash: number): boolean {
    return this.byKey.has(keyHash);
  }

  /** Adds a change; returns false when an identical one is there already. */
  add(keyHash: number, t: number, channel: Channel, status: ConsentStatus): boolean {
    const code = encode(t, channel, status);
    const entry = this.byKey.get(keyHash);
    if (entry === undefined) {
      this.byKey.set(keyHash, code);
      return true;
    }
    const list: readonly number[] = typeof entry === 'number' ? [entry] : entry;
    let at = list.length;
    while (at > 0 && list[at - 1]! > code) at--;
    if (list[at - 1] === code) return false;
    // A new array of exactly the right length: push/splice would leave spare
    // capacity (about 16 slots) behind every entry. Consent changes are rare.
    const next = new Array<number>(list.length + 1);
    for (let i = 0; i < at; i++) next[i] = list[i]!;
    next[at] = code;
    for (let i = at; i < list.length; i++) next[i + 1] = list[i]!;
    this.byKey.set(keyHash, next);
    return true;
  }

  /** Replaces everything known under `keyHash` (after an erasure removed one user's changes). */
  replace(
    keyHash: number,
    changes: ReadonlyArray<{ t: number; channel: Channel; status: ConsentStatus }>,
  ): void {
    this.byKey.delete(keyHash);
    for (const c of changes) this.add(keyHash, c.t, c.channel, c.status);
  }

  private codes(keyHash: number): readonly number[] {
    const entry = this.byKey.get(keyHash);
    return entry === undefined ? [] : typeof entry === 'number' ? [entry] : entry;
  }

  /** Times of the OPTED_OUT changes with t in [from, to], on any channel, ascending. */
  optOutsIn(keyHash: number, from: number, to: number): IndexedChange[] {
    const out: IndexedChange[] = [];
    for (const code of this.codes(keyHash)) {
      const t = timeOf(code);
      if (t > to) break;
      if (t >= from && isOptOut(code)) out.push({ t, channel: CHANNELS[channelOf(code)]!, optedOut: true });
    }
    return out;
  }

  /** The first change on `channel` strictly after t (may belong to a user sharing the hash). */
  nextOn(keyHash: number, channel: Channel, t: number): number | null {
    const wanted = CHANNEL_CODE.get(channel)!;
    for (const code of this.codes(keyHash)) {
      const at = timeOf(code);
      if (at > t && channelOf(code) === wanted) return at;
    }
    return null;
  }

  /**
   * The last change on `channel` strictly before t whose status differs from
   * the change before it (a transition, as far as the index can tell: ties
   * on a millisecond are ordered by status here, by event_id in the facts).
   */
  lastTransitionOn(keyHash: number, channel: Channel, t: number): IndexedChange | null {
    const wanted = CHANNEL_CODE.get(channel)!;
    let last: IndexedChange | null = null;
    let previous: boolean | null = null;
    for (const code of this.codes(keyHash)) {
      const at = timeOf(code);
      if (at >= t) break;
      if (channelOf(code) !== wanted) continue;
      const optedOut = isOptOut(code);
      if (optedOut !== previous) last = { t: at, channel, optedOut };
      previous = optedOut;
    }
    return last;
  }

  /** Whether a change on `channel` later than t is known: the arriving one is out of order. */
  hasLaterOn(keyHash: number, channel: Channel, t: number): boolean {
    return this.nextOn(keyHash, channel, t) !== null;
  }

  changes(): number {
    let n = 0;
    for (const entry of this.byKey.values()) n += typeof entry === 'number' ? 1 : entry.length;
    return n;
  }
}
