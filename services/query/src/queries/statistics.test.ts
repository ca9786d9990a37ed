import { describe, expect, it } from 'vitest';
import { median, spikeVerdict, WILSON_Z, wilsonLowerBound } from './statistics.ts';

const days = (...groups: [count: number, value: number][]) =>
  groups.flatMap(([count, value]) => Array.from({ length: count }, () => value));

describe('median', () => {
  it('of an even count is the mean of the two middle values, of an odd count the middle one', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median(days([14, 10], [14, 12]))).toBe(11);
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('spike rule (SPEC 5.1)', () => {
  it('a quiet series: baseline 0, MAD 0, the scale floor of 1, and the minimum of 5 opt-outs', () => {
    const zeros = days([28, 0]);
    // threshold = 0 + 4 * max(1, 1.4826 * 0) = 4, but a spike needs >= 5 opt-outs
    expect(spikeVerdict(4, zeros)).toEqual({ baseline: 0, scale: 1, spike: false });
    expect(spikeVerdict(5, zeros)).toEqual({ baseline: 0, scale: 1, spike: true });
  });

  it('two levels: baseline (10 + 12) / 2 = 11, every deviation 1, scale 1.4826', () => {
    // threshold = 11 + 4 * 1.4826 = 16.9304
    const preceding = days([14, 10], [14, 12]);
    expect(spikeVerdict(16, preceding)).toMatchObject({ baseline: 11, spike: false });
    expect(spikeVerdict(17, preceding).spike).toBe(true);
    expect(spikeVerdict(17, preceding).scale).toBeCloseTo(1.4826, 12);
  });

  it('1..28: baseline 14.5, deviations 0.5..13.5 twice each, MAD (6.5 + 7.5) / 2 = 7', () => {
    // scale = 1.4826 * 7 = 10.3782; threshold = 14.5 + 41.5128 = 56.0128
    const preceding = Array.from({ length: 28 }, (_, i) => i + 1);
    const verdict = spikeVerdict(56, [...preceding].reverse());
    expect(verdict.baseline).toBe(14.5);
    expect(verdict.scale).toBeCloseTo(10.3782, 12);
    expect(verdict.spike).toBe(false);
    expect(spikeVerdict(57, preceding).spike).toBe(true);
  });

  it('one outlier among the 28 days does not move the baseline', () => {
    // 27 days of 2 and one of 100: median 2, MAD 0 -> scale 1; threshold 6
    const preceding = days([27, 2], [1, 100]);
    expect(spikeVerdict(6, preceding)).toEqual({ baseline: 2, scale: 1, spike: true });
    expect(spikeVerdict(5, preceding).spike).toBe(false);
  });

  it('needs exactly 28 preceding days', () => {
    expect(() => spikeVerdict(9, days([27, 0]))).toThrow(RangeError);
  });
});

describe('Wilson score lower bound (z = 1.959964)', () => {
  it('matches the textbook 95% intervals', () => {
    expect(WILSON_Z).toBe(1.959964);
    // 50/100: (0.5 + 0.0192073 - 0.0998639) / 1.0384146 = 0.403832
    expect(wilsonLowerBound(50, 100)).toBeCloseTo(0.403832, 6);
    // 10/10: p = 1, the root term is z/2n, so 1 / (1 + z²/10) = 0.722467
    expect(wilsonLowerBound(10, 10)).toBeCloseTo(0.722467, 6);
    // 1/20 = 0.0089 and 5/1000 = 0.0021 (published tables)
    expect(wilsonLowerBound(1, 20)).toBeCloseTo(0.008881, 6);
    expect(wilsonLowerBound(5, 1000)).toBeCloseTo(0.002138, 6);
  });

  it('is 0 for no successes, caps p at 1, and is null without trials', () => {
    expect(wilsonLowerBound(0, 10)).toBeCloseTo(0, 15);
    expect(wilsonLowerBound(120, 100)).toBe(wilsonLowerBound(100, 100));
    expect(wilsonLowerBound(120, 100)).toBeCloseTo(1 / (1 + (WILSON_Z * WILSON_Z) / 100), 12);
    expect(wilsonLowerBound(3, 0)).toBeNull();
  });
});
