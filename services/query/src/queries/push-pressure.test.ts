import { describe, expect, it } from 'vitest';
import { nearestRank, summarise } from './push-pressure.ts';

describe('push-pressure summary', () => {
  it('uses nearest rank: c[ceil(p/100 * N)]', () => {
    // counts 1,2,3,4,5,6,7,8,9,10
    const dist = Array.from({ length: 10 }, (_, i) => [i + 1, 1] as const);
    expect(nearestRank(dist, 50)).toBe(5);
    expect(nearestRank(dist, 90)).toBe(9);
    expect(nearestRank([[3, 1]], 90)).toBe(3);
    expect(nearestRank([], 50)).toBeNull();
    // N = 3: p50 rank 2, p90 rank 3
    expect(
      nearestRank(
        [
          [0, 2],
          [7, 1],
        ],
        50,
      ),
    ).toBe(0);
    expect(
      nearestRank(
        [
          [0, 2],
          [7, 1],
        ],
        90,
      ),
    ).toBe(7);
  });

  it('buckets 0..max-1 and max+, always all present', () => {
    const result = summarise(
      [
        [0, 2],
        [3, 1],
        [10, 1],
        [25, 1],
      ],
      10,
    );
    expect(result.histogram).toHaveLength(11);
    expect(result.histogram[0]).toEqual({ pushes: '0', opt_outs: 2 });
    expect(result.histogram[3]).toEqual({ pushes: '3', opt_outs: 1 });
    expect(result.histogram[10]).toEqual({ pushes: '10+', opt_outs: 2 });
    expect(result.opt_outs).toBe(5);
    expect(result.mean).toBe(38 / 5);
  });

  it('answers empty data with zeros and nulls', () => {
    const result = summarise([], 3);
    expect(result).toEqual({
      opt_outs: 0,
      mean: null,
      p50: null,
      p90: null,
      histogram: [
        { pushes: '0', opt_outs: 0 },
        { pushes: '1', opt_outs: 0 },
        { pushes: '2', opt_outs: 0 },
        { pushes: '3+', opt_outs: 0 },
      ],
    });
  });
});
