// One app's history as the sweep reads it: users by dense index, each one's
// first event, the pushes bucketed by quarter hour, and every status change
// (transition) on every channel in time order. Built and extended by
// ../read.ts from ClickHouse; pure data here, so the sweep can be tested
// without a server.
import { CHANNELS, QUARTER_MS } from '@optout/events';

export const CHANNEL_COUNT = CHANNELS.length;

/** A transition: from then on the user is opted out (or not) on the channel. */
export interface StatusChange {
  user: number;
  channel: number;
  t: number;
  out: boolean;
}

export const quarterOf = (ms: number) => Math.floor(ms / QUARTER_MS);

/**
 * The pushes by quarter (floor(t / QUARTER_MS)), one entry per push: the users
 * of quarter q are users[offsets[q - firstQuarter] .. offsets[q - firstQuarter + 1]).
 * Pushes are added in time order (the order ../read.ts asks ClickHouse for);
 * quarters too old to matter any more are dropped from the front.
 */
export class PushGrid {
  users = new Uint32Array(1 << 16);
  /** offsets[i] starts quarter slot i; the last entry ends the last slot. */
  offsets: number[] = [0];
  private length = 0;
  /** Slots before this one have their users in order. */
  private sorted = 0;

  constructor(public firstQuarter: number) {}

  /** Quarters held: firstQuarter .. firstQuarter + slots - 1. */
  get slots(): number {
    return this.offsets.length - 1;
  }

  /** The pushes held. */
  get size(): number {
    return this.length;
  }

  /** A push of `user` at `t`: in time order, none before firstQuarter. */
  add(user: number, t: number): void {
    const slot = quarterOf(t) - this.firstQuarter;
    if (slot < 0 || slot < this.offsets.length - 2) throw new Error(`push at ${t} out of time order`);
    while (this.offsets.length - 2 < slot) this.offsets.push(this.length);
    if (this.length === this.users.length) {
      const bigger = new Uint32Array(this.users.length * 2);
      bigger.set(this.users);
      this.users = bigger;
    }
    this.users[this.length++] = user;
    this.offsets[this.offsets.length - 1] = this.length;
  }

  /**
   * Makes the grid hold every quarter before `endQuarter` (empty ones
   * included), each quarter's users in ascending order: a sweep then reads
   * its per-user state in address order (about a tenth faster than at random).
   */
  extendTo(endQuarter: number): void {
    if (this.slots > endQuarter - this.firstQuarter) throw new Error('a push at or after the end quarter');
    while (this.slots < endQuarter - this.firstQuarter) this.offsets.push(this.length);
    for (; this.sorted < this.slots; this.sorted++)
      this.users.subarray(this.offsets[this.sorted]!, this.offsets[this.sorted + 1]!).sort();
  }

  /** Forgets the quarters before `quarter`. */
  dropBefore(quarter: number): void {
    const drop = Math.min(quarter - this.firstQuarter, this.slots);
    if (drop <= 0) return;
    const from = this.offsets[drop]!;
    this.users.copyWithin(0, from, this.length);
    this.length -= from;
    this.offsets = this.offsets.slice(drop).map((o) => o - from);
    this.firstQuarter += drop;
    this.sorted = Math.max(0, this.sorted - drop);
  }

  /** Each push of the users in `wanted` between fromQuarter and toQuarter (exclusive), by user: its quarter. */
  quartersOf(wanted: ReadonlySet<number>, fromQuarter: number, toQuarter: number): Map<number, number[]> {
    const out = new Map<number, number[]>();
    const first = Math.max(fromQuarter, this.firstQuarter);
    const last = Math.min(toQuarter, this.firstQuarter + this.slots);
    for (let q = first; q < last; q++) {
      const slot = q - this.firstQuarter;
      for (let j = this.offsets[slot]!; j < this.offsets[slot + 1]!; j++) {
        const user = this.users[j]!;
        if (!wanted.has(user)) continue;
        const list = out.get(user);
        if (list) list.push(q);
        else out.set(user, [q]);
      }
    }
    return out;
  }
}

export interface AppHistory {
  /** Number of users (indexes 0 .. users - 1). */
  users: number;
  /** Each user's first event (epoch ms); Infinity for none. At least `users` long. */
  firstSeen: Float64Array;
  pushes: PushGrid;
  /** Every transition of every user, ordered by time (then event id). */
  changes: readonly StatusChange[];
}
