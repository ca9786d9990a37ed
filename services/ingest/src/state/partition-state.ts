// The state of one partition number (of all co-partitioned topics): what ingest
// keeps in memory between rounds. None of it is a fact: facts are recomputed
// from the durable raw events (recompute/). The state only decides cheaply
// which events can change facts, and which users must never come back.
//
// - the consent index (consent-index.ts): which users have consent changes when;
// - the erasure ledger of the partition's users: app:user -> τ (SPEC 6);
// - a bounded cache of each recent opt-out's first app event after it, so that
//   the app events of a user who stays active after opting out do not each
//   cause a recompute (only an earlier first activity changes the facts);
// - a bounded cache of histories read back, so that the same users are not
//   read again round after round (recompute/history-cache.ts).
//
// Restored from ClickHouse when the partition is assigned (restore.ts) and
// dropped whenever the assignment changes or a round fails.
import type { Channel } from '@optout/events';
import { HistoryCache } from '../recompute/history-cache.ts';
import { ConsentIndex } from './consent-index.ts';

/** Opt-outs whose first activity is remembered, per partition. */
const ACTIVITY_CACHE_SIZE = 100_000;

export class PartitionState {
  readonly index = new ConsentIndex();
  /** Histories read back recently (recompute/history-cache.ts). */
  readonly histories: HistoryCache;
  private readonly erased = new Map<string, number>();
  private readonly activity = new Map<string, number>();

  constructor(
    readonly partition: number,
    cachedEvents = 0,
  ) {
    this.histories = new HistoryCache(cachedEvents);
  }

  /** τ of the user's latest erasure, or -Infinity: events at or before it are never admitted. */
  erasedThrough(userKey: string): number {
    return this.erased.get(userKey) ?? Number.NEGATIVE_INFINITY;
  }

  /** The index entry of the user's key hash must then be rebuilt without the user (erasure.ts). */
  recordErasure(userKey: string, through: number): void {
    this.erased.set(userKey, Math.max(through, this.erasedThrough(userKey)));
  }

  get erasedUsers(): number {
    return this.erased.size;
  }

  /**
   * The first app event after the opt-out at (keyHash, channel, t) within 30
   * days, as last computed: +Infinity when there is none, undefined when unknown.
   */
  firstActivityAfter(keyHash: number, channel: Channel, t: number): number | undefined {
    return this.activity.get(`${keyHash}|${channel}|${t}`);
  }

  rememberFirstActivity(keyHash: number, channel: Channel, t: number, at: number): void {
    const key = `${keyHash}|${channel}|${t}`;
    this.activity.delete(key);
    this.activity.set(key, at === 0 ? Number.POSITIVE_INFINITY : at);
    if (this.activity.size > ACTIVITY_CACHE_SIZE) {
      // Map keeps insertion order: drop the oldest tenth.
      let drop = Math.floor(ACTIVITY_CACHE_SIZE / 10);
      for (const old of this.activity.keys()) {
        this.activity.delete(old);
        if (--drop === 0) break;
      }
    }
  }
}
