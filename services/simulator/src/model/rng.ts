// A small, fast, seeded pseudo-random generator (sfc32 seeded through splitmix32).
// Every random choice of the simulator goes through one of these, so the same
// seed gives the same events on every machine and Node version.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number;
  /** Poisson-distributed count with the given mean (Knuth for small means, normal approximation above 30). */
  poisson(mean: number): number;
  /** A standard normal sample (Box-Muller). */
  normal(): number;
  /** A generator whose stream depends only on this one's seed and `label` (independent sub-streams). */
  fork(label: string | number): Rng;
  /** `length` random bytes. */
  bytes(length: number): Uint8Array;
}

/** 32-bit FNV-1a of a string: turns labels into seed material. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A generator seeded by an integer (or any string, hashed). */
export function createRng(seed: number | string): Rng {
  const root = typeof seed === 'number' ? seed >>> 0 : hash32(seed);
  const init = splitmix32(root);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const u32 = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Warm up: the first outputs of sfc32 are correlated with the seed.
  for (let i = 0; i < 12; i++) u32();
  let spareNormal: number | null = null;

  const rng: Rng = {
    next: () => u32() / 4294967296,
    int: (n) => Math.floor((u32() / 4294967296) * n),
    chance: (p) => p > 0 && u32() / 4294967296 < p,
    pick: (items) => items[Math.floor((u32() / 4294967296) * items.length)]!,
    exponential: (mean) => -Math.log(1 - u32() / 4294967296) * mean,
    poisson(mean) {
      if (mean <= 0) return 0;
      if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * rng.normal()));
      const limit = Math.exp(-mean);
      let k = 0;
      let p = 1;
      do {
        k++;
        p *= u32() / 4294967296;
      } while (p > limit);
      return k - 1;
    },
    normal() {
      if (spareNormal !== null) {
        const value = spareNormal;
        spareNormal = null;
        return value;
      }
      const u = 1 - u32() / 4294967296;
      const v = u32() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u));
      spareNormal = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    fork: (label) => createRng(hash32(String(label), root ^ 0x5bd1e995)),
    bytes(length) {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = u32() & 0xff;
      return out;
    },
  };
  return rng;
}
