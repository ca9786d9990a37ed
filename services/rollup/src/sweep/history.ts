// One app's history as the sweep reads it: users by dense index, each one's
// first event, the pushes bucketed by quarter hour, and every status change
// (transition) on every channel in time order. Built by ../read.ts from
// ClickHouse; pure data here, so the sweep can be tested without a server.
import { CHANNELS, type Channel, QUARTER_MS } from '@optout/events';

export const CHANNEL_COUNT = CHANNELS.length;

export function channelIndex(channel: Channel): number {
  return CHANNELS.indexOf(channel);
}

/** A transition: from then on the user is opted out (or not) on the channel. */
export interface StatusChange {
  user: number;
  channel: number;
  t: number;
  out: boolean;
}

/**
 * The pushes whose quarter (floor(t / QUARTER_MS)) lies in
 * [firstQuarter, firstQuarter + offsets.length - 1): users[offsets[i] ..
 * offsets[i + 1]) received one in quarter firstQuarter + i (one entry per push).
 */
export interface PushGrid {
  firstQuarter: number;
  offsets: Uint32Array;
  users: Uint32Array;
}

export interface AppHistory {
  /** Number of users (indexes 0 .. users - 1). */
  users: number;
  /** Each user's first event (epoch ms); Infinity for none. */
  firstSeen: Float64Array;
  pushes: PushGrid;
  /** Every transition of every user, ordered by time (then event id). */
  changes: readonly StatusChange[];
}

export const quarterOf = (ms: number) => Math.floor(ms / QUARTER_MS);

/** Builds a PushGrid from pushes given in time order (the order ../read.ts asks ClickHouse for). */
export class PushGridBuilder {
  private users = new Uint32Array(1 << 16);
  private length = 0;
  /** offsets[i] starts quarter slot i; the last entry is the end of what was added. */
  private readonly offsets: number[] = [0];

  constructor(readonly firstQuarter: number) {}

  /** A push of `user` at `t`; pushes must come in time order, none before firstQuarter. */
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

  /** The grid of the quarters before `endQuarter`. */
  build(endQuarter: number): PushGrid {
    const slots = Math.max(0, endQuarter - this.firstQuarter);
    if (this.offsets.length - 1 > slots) throw new Error('a push at or after the end quarter');
    while (this.offsets.length - 1 < slots) this.offsets.push(this.length);
    return {
      firstQuarter: this.firstQuarter,
      offsets: Uint32Array.from(this.offsets),
      users: this.users.subarray(0, this.length),
    };
  }
}
