// The users of one app, by the 64-bit cityHash64 of their id (what ClickHouse
// sends for each row instead of the id itself), each given a dense index for
// the sweep's typed arrays. Two users share an index only if their 64-bit
// hashes collide: for n users about n^2 / 2^65 (1e-8 for a million), the stance
// of the query service's exact distinct counts (queries/scope.ts distinctCount).
//
// Open addressing over typed arrays: a million users take about 30 MB, where a
// Map keyed by strings or BigInts would take several times that.

const EMPTY = -1;

export class UserTable {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private slots: Int32Array;
  private count = 0;

  constructor(expected = 1024) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.slots = new Int32Array(capacity).fill(EMPTY);
  }

  get size(): number {
    return this.count;
  }

  /** The index of the user with this hash, or -1. */
  find(hi: number, lo: number): number {
    const mask = this.slots.length - 1;
    for (let i = (lo ^ hi) & mask; ; i = (i + 1) & mask) {
      const slot = this.slots[i]!;
      if (slot === EMPTY) return EMPTY;
      if (this.lo[i] === lo && this.hi[i] === hi) return slot;
    }
  }

  /** The index of the user with this hash, given the next free one if new. */
  intern(hi: number, lo: number): number {
    const found = this.find(hi, lo);
    if (found !== EMPTY) return found;
    if ((this.count + 1) * 2 > this.slots.length) this.grow();
    this.place(hi, lo, this.count);
    return this.count++;
  }

  private place(hi: number, lo: number, index: number): void {
    const mask = this.slots.length - 1;
    let i = (lo ^ hi) & mask;
    while (this.slots[i] !== EMPTY) i = (i + 1) & mask;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.slots[i] = index;
  }

  private grow(): void {
    const { hi, lo, slots } = this;
    this.hi = new Uint32Array(slots.length * 2);
    this.lo = new Uint32Array(slots.length * 2);
    this.slots = new Int32Array(slots.length * 2).fill(EMPTY);
    for (let i = 0; i < slots.length; i++) if (slots[i] !== EMPTY) this.place(hi[i]!, lo[i]!, slots[i]!);
  }
}
