import { describe, expect, it } from 'vitest';
import { median, percentile, round, summarize } from '../../bench/stats.ts';

describe('bench stats', () => {
  it('takes the median of odd and even sample counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('uses nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 95)).toBe(95);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    expect(percentile(samples, 0)).toBe(1);
    expect(percentile([7, 1, 3], 50)).toBe(3);
    expect(() => percentile(samples, 101)).toThrow(RangeError);
  });

  it('summarizes without reordering the input', () => {
    const samples = [3, 1, 2];
    expect(summarize(samples)).toMatchObject({ n: 3, min: 1, p50: 2, max: 3, mean: 2 });
    expect(samples).toEqual([3, 1, 2]);
    expect(round(1.23456)).toBe(1.235);
    expect(round(1234.5)).toBe(1235);
  });
});
