// The sweep: the users at risk at every quarter-hour instant, by pushes
// received in the W days before it, for W = 1..30 and every channel (SPEC 5.1
// exposure's user-days; docs/insights.md "Exposure").
//
// At an instant s a user counts on a channel when they are known (first event
// before s) and not opted out there (their latest transition before s is not
// an opt-out); their k for W is the number of their pushes in [s - W days, s).
// For a push at p and a quarter-aligned s, p < s and p >= s - W days depend
// only on p's quarter q(p): the push counts at the instants q(p) + 1 ..
// q(p) + 96 W (in quarters). So, going from one instant to the next, each push
// of the quarter just passed enters every window, and the pushes of the
// quarter 96 W before it leave window W: 31 counter moves per push, whatever
// the number of users or instants. The histogram is kept per combination of
// opted-out channels (16), so a transition moves the user's 30 counts between
// two of them, and a channel's histogram is the sum of the 8 combinations
// where it is not opted out.
import { MAX_PUSH_BUCKET, MAX_WINDOW_DAYS, PUSH_BUCKETS, QUARTER_MS, QUARTERS_PER_DAY } from '@optout/events';
import { type AppHistory, CHANNEL_COUNT } from './history.ts';

const W = MAX_WINDOW_DAYS;
const BUCKETS = PUSH_BUCKETS;
const MASKS = 1 << CHANNEL_COUNT;
const COUNT_LIMIT = 0xffff;

/**
 * One channel's histogram at an instant, sparse: cells[i] = histogramIndex(W, k)
 * (@optout/events), in order, and users[i] > 0 the users at risk there.
 */
export interface ChannelHistogram {
  cells: Uint16Array;
  users: Uint32Array;
}

export class ExposureSweep {
  /** The instant (in quarters since the epoch) the state is at. */
  quarter: number;
  private readonly counts: Uint16Array;
  private readonly mask: Uint8Array;
  private readonly known: Uint8Array;
  private readonly histogram = new Int32Array(MASKS * W * BUCKETS);
  private readonly sums = new Uint32Array(CHANNEL_COUNT * W * BUCKETS);
  /** Users in order of their first event, and how many of them are known. */
  private readonly bySeen: Uint32Array;
  private seenNext = 0;
  private changeNext = 0;
  /** The last snapshot, while the histogram has not changed since (most instants of a small app). */
  private last: ChannelHistogram[] | null = null;

  constructor(
    private readonly history: AppHistory,
    fromQuarter: number,
  ) {
    const n = history.users;
    this.counts = new Uint16Array(n * W);
    this.mask = new Uint8Array(n);
    this.known = new Uint8Array(n);
    this.bySeen = Uint32Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => history.firstSeen[a]! - history.firstSeen[b]!,
    );
    this.quarter = fromQuarter;
    const at = fromQuarter * QUARTER_MS;
    // Pushes before the instant: one in quarter pq is in window W when pq >= from - 96 W.
    // (No user is known yet: only the counts.)
    const { offsets, users, firstQuarter } = history.pushes;
    const oldest = Math.max(fromQuarter - W * QUARTERS_PER_DAY, firstQuarter);
    for (let pq = oldest; pq < Math.min(fromQuarter, firstQuarter + offsets.length - 1); pq++) {
      const wMin = Math.ceil((fromQuarter - pq) / QUARTERS_PER_DAY);
      const slot = pq - firstQuarter;
      for (let j = offsets[slot]!; j < offsets[slot + 1]!; j++) {
        const base = users[j]! * W;
        for (let w = wMin; w <= W; w++) {
          const c = this.counts[base + w - 1]!;
          if (c === COUNT_LIMIT) throw new Error(`a user has more than ${COUNT_LIMIT} pushes in ${w} days`);
          this.counts[base + w - 1] = c + 1;
        }
      }
    }
    this.applyChanges(at);
    this.applySeen(at);
  }

  /** Moves the state to the next instant. */
  advance(): void {
    const q = ++this.quarter;
    const at = q * QUARTER_MS;
    this.applySeen(at);
    this.applyChanges(at);
    // The hot loop of a sweep (31 moves per push): plain loops over the grid, no callbacks.
    const { offsets, users, firstQuarter } = this.history.pushes;
    const slots = offsets.length - 1;
    let slot = q - 1 - firstQuarter;
    if (slot >= 0 && slot < slots) {
      for (let j = offsets[slot]!; j < offsets[slot + 1]!; j++) this.enter(users[j]!);
    }
    for (let w = 1; w <= W; w++) {
      slot = q - 1 - w * QUARTERS_PER_DAY - firstQuarter;
      if (slot < 0 || slot >= slots) continue;
      for (let j = offsets[slot]!; j < offsets[slot + 1]!; j++) this.leave(users[j]!, w);
    }
  }

  /** A push of the quarter just passed: one more in every window. */
  private enter(user: number): void {
    const base = user * W;
    const known = this.known[user] === 1;
    const row = this.mask[user]! * W * BUCKETS;
    for (let w = 0; w < W; w++) {
      const c = this.counts[base + w]!;
      if (c === COUNT_LIMIT) throw new Error(`a user has more than ${COUNT_LIMIT} pushes in ${w + 1} days`);
      this.counts[base + w] = c + 1;
      if (known && c < MAX_PUSH_BUCKET) {
        const i = row + w * BUCKETS + c;
        this.histogram[i] = this.histogram[i]! - 1;
        this.histogram[i + 1] = this.histogram[i + 1]! + 1;
        this.last = null;
      }
    }
  }

  /** A push W days old leaves window W. */
  private leave(user: number, w: number): void {
    const at = user * W + w - 1;
    const c = this.counts[at]!;
    this.counts[at] = c - 1;
    if (this.known[user] === 1 && c <= MAX_PUSH_BUCKET) {
      const i = this.mask[user]! * W * BUCKETS + (w - 1) * BUCKETS + c;
      this.histogram[i] = this.histogram[i]! - 1;
      this.histogram[i - 1] = this.histogram[i - 1]! + 1;
      this.last = null;
    }
  }

  /** Each channel's histogram at the current instant (the same arrays as the last call when nothing changed). */
  snapshot(): ChannelHistogram[] {
    if (this.last) return this.last;
    // A channel's histogram is the sum of the combinations without it: whole rows of W x bucket at a time.
    const sums = this.sums;
    sums.fill(0);
    const row = W * BUCKETS;
    for (let m = 0; m < MASKS; m++) {
      const from = m * row;
      for (let c = 0; c < CHANNEL_COUNT; c++) {
        if ((m >> c) & 1) continue;
        const to = c * row;
        for (let i = 0; i < row; i++) sums[to + i] = sums[to + i]! + this.histogram[from + i]!;
      }
    }
    const out: ChannelHistogram[] = [];
    for (let c = 0; c < CHANNEL_COUNT; c++) {
      const dense = sums.subarray(c * row, (c + 1) * row);
      let n = 0;
      for (const v of dense) if (v !== 0) n++;
      const cells = new Uint16Array(n);
      const users = new Uint32Array(n);
      for (let i = 0, j = 0; i < row; i++) {
        if (dense[i] === 0) continue;
        cells[j] = i;
        users[j++] = dense[i]!;
      }
      out.push({ cells, users });
    }
    this.last = out;
    return out;
  }

  /** Users whose first event is before `at` become known. */
  private applySeen(at: number): void {
    const { firstSeen } = this.history;
    while (this.seenNext < this.bySeen.length && firstSeen[this.bySeen[this.seenNext]!]! < at) {
      const user = this.bySeen[this.seenNext++]!;
      this.known[user] = 1;
      this.place(user, this.mask[user]!, 1);
    }
  }

  /** Transitions before `at` set their user's status on their channel. */
  private applyChanges(at: number): void {
    const { changes } = this.history;
    while (this.changeNext < changes.length && changes[this.changeNext]!.t < at) {
      const { user, channel, out } = changes[this.changeNext++]!;
      const before = this.mask[user]!;
      const after = out ? before | (1 << channel) : before & ~(1 << channel);
      if (after === before) continue;
      if (this.known[user]) {
        this.place(user, before, -1);
        this.place(user, after, 1);
      }
      this.mask[user] = after;
    }
  }

  /** Adds (+1) or removes (-1) the user's 30 counts to / from the histogram of `mask`. */
  private place(user: number, mask: number, sign: 1 | -1): void {
    const base = user * W;
    for (let w = 1; w <= W; w++) {
      this.add(slot(mask, w, Math.min(this.counts[base + w - 1]!, MAX_PUSH_BUCKET)), sign);
    }
  }

  private add(i: number, delta: number): void {
    this.histogram[i] = this.histogram[i]! + delta;
    this.last = null;
  }
}

const slot = (mask: number, w: number, bucket: number) => (mask * W + w - 1) * BUCKETS + bucket;
