// The sweep: the users at risk at every quarter-hour instant, by pushes
// received in the W days before it, for W = 1..30 and every channel (SPEC 5.1
// exposure's user-days; docs/insights.md "Exposure").
//
// At an instant s a user counts on a channel when they are known (first event
// before s) and not opted out there (their latest transition before s is not
// an opt-out); their k for W is the number of their pushes in [s - W days, s).
// For a push at p and a quarter-aligned s, p < s and p >= s - W days depend
// only on p's quarter q(p): the push counts at the instants q(p) + 1 ..
// q(p) + 96 W (in quarters). So, going from one instant to the next, the
// pushes of the quarter just passed enter the window and those of the quarter
// 96 W before it leave it: two counter moves per push and window, whatever the
// number of users or instants. The histogram is kept per combination of
// opted-out channels (16), so a transition moves the user between two of
// them, and a channel's histogram is the sum of the 8 where it is not out.
//
// One pass per window, over every instant: a pass keeps one 32-bit word per
// user (4 MB for a million users, mostly in the processor's last-level cache),
// where all thirty counters at once would be 60 MB read at random, a cache
// miss to memory per move (the first version of this sweep spent 180 s of a
// 37-million-push history there).
import { MAX_PUSH_BUCKET, MAX_WINDOW_DAYS, PUSH_BUCKETS, QUARTER_MS, QUARTERS_PER_DAY } from '@optout/events';
import { type AppHistory, CHANNEL_COUNT } from './history.ts';

const W = MAX_WINDOW_DAYS;
const BUCKETS = PUSH_BUCKETS;
const MASKS = 1 << CHANNEL_COUNT;
const COUNT_LIMIT = 0xffff;
/** Per instant and channel, the dense histogram of every window: W x BUCKETS counts. */
const ROW = W * BUCKETS;

/**
 * One channel's histogram at an instant, sparse: cells[i] = histogramIndex(W, k)
 * (@optout/events), in order, and users[i] > 0 the users at risk there.
 */
export interface ChannelHistogram {
  cells: Uint16Array;
  users: Uint32Array;
}

/** The histograms of the instants fromQuarter..toQuarter (quarters since the epoch). */
export class SweptHistograms {
  constructor(
    readonly fromQuarter: number,
    readonly toQuarter: number,
    /** [(instant - from) * CHANNEL_COUNT + channel] * ROW + (W - 1) * BUCKETS + k. */
    private readonly dense: Uint32Array,
  ) {}

  /** Channel `c`'s histogram at instant `q`. */
  at(q: number, c: number): ChannelHistogram {
    const start = ((q - this.fromQuarter) * CHANNEL_COUNT + c) * ROW;
    const row = this.dense.subarray(start, start + ROW);
    let n = 0;
    for (const v of row) if (v !== 0) n++;
    const cells = new Uint16Array(n);
    const users = new Uint32Array(n);
    for (let i = 0, j = 0; i < ROW; i++) {
      if (row[i] === 0) continue;
      cells[j] = i;
      users[j++] = row[i]!;
    }
    return { cells, users };
  }
}

/**
 * The sweep of one app: one pass per window, each at the same instant. It
 * starts at an instant from the history (which must hold the pushes of the 30
 * days before it) and goes forward as the history grows (./history.ts: users,
 * transitions and pushes after the current instant only).
 */
export class AppSweep {
  /** The instant (quarters since the epoch) every pass is at. */
  quarter: number;
  /** Users in order of their first event: the passes make them known in this order. */
  private readonly bySeen: number[];
  private readonly passes: WindowPass[] = [];

  constructor(
    private readonly history: AppHistory,
    fromQuarter: number,
  ) {
    this.quarter = fromQuarter;
    this.bySeen = Array.from({ length: history.users }, (_, i) => i).sort(
      (a, b) => history.firstSeen[a]! - history.firstSeen[b]!,
    );
    // Window w's counts at the start are window w - 1's plus the pushes of the day before those.
    let counts: Uint32Array = new Uint32Array(history.users);
    for (let w = 1; w <= W; w++) {
      const pass = new WindowPass(history, this.bySeen, w, fromQuarter, counts);
      counts = pass.counts();
      this.passes.push(pass);
    }
  }

  /** Goes forward to `toQuarter`; the histograms of the instants from the current one to it. */
  sweepTo(toQuarter: number): SweptHistograms {
    const dense = new Uint32Array((toQuarter - this.quarter + 1) * CHANNEL_COUNT * ROW);
    const from = this.quarter;
    for (const pass of this.passes) pass.run(toQuarter, dense, from);
    this.quarter = toQuarter;
    return new SweptHistograms(from, toQuarter, dense);
  }

  /**
   * Takes in what the history gained: users from `knownUsers` on (none of them
   * known yet), first events changed and transitions added at or after the
   * current instant. Throws when the history changed before it (a late event:
   * the caller sweeps afresh).
   */
  extended(knownUsers: number): void {
    const at = this.quarter * QUARTER_MS;
    const { firstSeen, users, changes } = this.history;
    const seen = this.passes[0]!.seenNext;
    for (let i = 0; i < seen; i++)
      if (!(firstSeen[this.bySeen[i]!]! < at)) throw new Error('a known user is not known any more');
    for (let u = knownUsers; u < users; u++) {
      if (firstSeen[u]! < at) throw new Error(`a new user was known before instant ${this.quarter}`);
      this.bySeen.push(u);
    }
    // The users not known yet, in order of their first event again.
    const waiting = this.bySeen.splice(seen).sort((a, b) => firstSeen[a]! - firstSeen[b]!);
    if (waiting.length > 0 && firstSeen[waiting[0]!]! < at)
      throw new Error('a first event moved before the sweep');
    for (const u of waiting) this.bySeen.push(u);
    const applied = this.passes[0]!.changeNext;
    if (applied > changes.length || (applied < changes.length && changes[applied]!.t < at))
      throw new Error('a transition before the sweep changed');
    for (const pass of this.passes) pass.grow(users);
  }
}

/**
 * A user's state in one window's pass, one 32-bit word (one memory access per
 * move: the pass reads users at random, so each access is a cache miss of its
 * own): the push count in bits 0-15, the opted-out channels in bits 16-19,
 * known in bit 20.
 */
const COUNT = 0xffff;
const MASK_SHIFT = 16;
const KNOWN = 1 << 20;

const maskOf = (state: number) => (state >>> MASK_SHIFT) & (MASKS - 1);

/** One window's pass over the instants. */
class WindowPass {
  private state: Uint32Array;
  /** The counts at the start, for the next window's pass to start from. */
  private initial: Uint32Array;
  private readonly histogram = new Int32Array(MASKS * BUCKETS);
  /** Known users per combination of opted-out channels. */
  private readonly users = new Int32Array(MASKS);
  /** Whether the histogram changed since the last instant recorded (most instants of a small app do not). */
  private changed = true;
  seenNext = 0;
  changeNext = 0;
  private quarter: number;

  /** `before`: every user's pushes in the w - 1 days before fromQuarter (a copy is kept). */
  constructor(
    private readonly history: AppHistory,
    private readonly bySeen: readonly number[],
    private readonly w: number,
    fromQuarter: number,
    before: Uint32Array,
  ) {
    this.state = Uint32Array.from(before);
    this.quarter = fromQuarter;
    // And the pushes of the day before those (no one is known yet: only the counts).
    const { offsets, users, firstQuarter, slots } = history.pushes;
    for (let pq = fromQuarter - w * QUARTERS_PER_DAY; pq < fromQuarter - (w - 1) * QUARTERS_PER_DAY; pq++) {
      const slot = pq - firstQuarter;
      if (slot < 0 || slot >= slots) continue;
      for (let j = offsets[slot]!; j < offsets[slot + 1]!; j++) this.countIn(users[j]!);
    }
    this.initial = Uint32Array.from(this.state);
    const at = fromQuarter * QUARTER_MS;
    this.applyChanges(at);
    this.applySeen(at);
  }

  /** Every user's push count as the pass started (once: the pass lets go of it). */
  counts(): Uint32Array {
    const counts = this.initial;
    this.initial = new Uint32Array(0);
    return counts;
  }

  /** Room for `users` users (new ones unknown, without pushes in the window yet). */
  grow(users: number): void {
    if (users <= this.state.length) return;
    const bigger = new Uint32Array(Math.max(users, this.state.length * 2));
    bigger.set(this.state);
    this.state = bigger;
  }

  /** Records the current instant and every one up to `toQuarter` into `dense`, which starts at `from`. */
  run(toQuarter: number, dense: Uint32Array, from: number): void {
    this.record(dense, from);
    const { offsets, users, firstQuarter, slots } = this.history.pushes;
    const leaveOffset = this.w * QUARTERS_PER_DAY;
    while (this.quarter < toQuarter) {
      const q = ++this.quarter;
      const at = q * QUARTER_MS;
      this.applySeen(at);
      this.applyChanges(at);
      // The hot loops (two moves per push and window): plain loops, no callbacks.
      let slot = q - 1 - firstQuarter;
      if (slot >= 0 && slot < slots)
        for (let j = offsets[slot]!; j < offsets[slot + 1]!; j++) this.enter(users[j]!);
      slot -= leaveOffset;
      if (slot >= 0 && slot < slots)
        for (let j = offsets[slot]!; j < offsets[slot + 1]!; j++) this.leave(users[j]!);
      this.record(dense, from);
    }
  }

  private countIn(user: number): number {
    const s = this.state[user]!;
    if ((s & COUNT) === COUNT_LIMIT)
      throw new Error(`a user has more than ${COUNT_LIMIT} pushes in ${this.w} days`);
    this.state[user] = s + 1;
    return s;
  }

  private enter(user: number): void {
    const s = this.countIn(user);
    const c = s & COUNT;
    if (s & KNOWN && c < MAX_PUSH_BUCKET) this.move(maskOf(s), c, c + 1);
  }

  private leave(user: number): void {
    const s = this.state[user]!;
    this.state[user] = s - 1;
    const c = s & COUNT;
    if (s & KNOWN && c <= MAX_PUSH_BUCKET) this.move(maskOf(s), c, c - 1);
  }

  private move(mask: number, from: number, to: number): void {
    const base = mask * BUCKETS;
    this.histogram[base + from] = this.histogram[base + from]! - 1;
    this.histogram[base + to] = this.histogram[base + to]! + 1;
    this.changed = true;
  }

  /** A known user comes into (1) or leaves (-1) the histogram of `mask`. */
  private add(mask: number, bucket: number, delta: number): void {
    const i = mask * BUCKETS + bucket;
    this.histogram[i] = this.histogram[i]! + delta;
    this.users[mask] = this.users[mask]! + delta;
    this.changed = true;
  }

  /** Users whose first event is before `at` become known. */
  private applySeen(at: number): void {
    const { firstSeen } = this.history;
    while (this.seenNext < this.bySeen.length && firstSeen[this.bySeen[this.seenNext]!]! < at) {
      const user = this.bySeen[this.seenNext++]!;
      const s = this.state[user]! | KNOWN;
      this.state[user] = s;
      this.add(maskOf(s), Math.min(s & COUNT, MAX_PUSH_BUCKET), 1);
    }
  }

  /** Transitions before `at` set their user's status on their channel. */
  private applyChanges(at: number): void {
    const { changes } = this.history;
    while (this.changeNext < changes.length && changes[this.changeNext]!.t < at) {
      const { user, channel, out } = changes[this.changeNext++]!;
      const s = this.state[user]!;
      const before = maskOf(s);
      const after = out ? before | (1 << channel) : before & ~(1 << channel);
      if (after === before) continue;
      if (s & KNOWN) {
        const b = Math.min(s & COUNT, MAX_PUSH_BUCKET);
        this.add(before, b, -1);
        this.add(after, b, 1);
      }
      this.state[user] = (s & ~((MASKS - 1) << MASK_SHIFT)) | (after << MASK_SHIFT);
    }
  }

  /** This window's slice of every channel's histogram at the current instant. */
  private record(dense: Uint32Array, from: number): void {
    const instant = (this.quarter - from) * CHANNEL_COUNT;
    const windowAt = (this.w - 1) * BUCKETS;
    if (!this.changed && instant > 0) {
      // As at the instant before: copy its slices.
      for (let c = 0; c < CHANNEL_COUNT; c++) {
        const to = (instant + c) * ROW + windowAt;
        dense.copyWithin(to, to - CHANNEL_COUNT * ROW, to - CHANNEL_COUNT * ROW + BUCKETS);
      }
      return;
    }
    this.changed = false;
    for (let m = 0; m < MASKS; m++) {
      // Most combinations of opted-out channels hold nobody.
      if (this.users[m] === 0) continue;
      const from = m * BUCKETS;
      for (let c = 0; c < CHANNEL_COUNT; c++) {
        if ((m >> c) & 1) continue;
        const to = (instant + c) * ROW + windowAt;
        for (let b = 0; b < BUCKETS; b++) dense[to + b] = dense[to + b]! + this.histogram[from + b]!;
      }
    }
  }
}
