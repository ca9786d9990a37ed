// The small statistics of SPEC 5.1, as pure functions: the robust spike rule of
// the trend and the Wilson score bound of the campaigns' significance. Kept
// apart from the SQL so each can be checked on hand-computed cases.

/** Days before a day that its baseline looks at (SPEC 5.1). */
export const BASELINE_DAYS = 28;

/** 1.4826 x MAD estimates the standard deviation of normally distributed counts. */
const MAD_TO_SIGMA = 1.4826;
const SPIKE_MIN_OPT_OUTS = 5;
const SPIKE_SCALES = 4;

/** z of a two-sided 95% interval (SPEC 5.1 fixes the digits). */
export const WILSON_Z = 1.959964;

/** Median of an even or odd number of values; of 28 values, the mean of the 14th and 15th sorted. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface SpikeVerdict {
  baseline: number;
  /** max(1, 1.4826 x the median absolute deviation from the baseline). */
  scale: number;
  spike: boolean;
}

/**
 * A day's opt-outs against the 28 days before it (zeros included): baseline =
 * their median, scale = max(1, 1.4826 x MAD), spike = at least 5 opt-outs and
 * at least baseline + 4 x scale. The floor of 1 on the scale keeps a quiet
 * series (all zeros, MAD 0) from calling every small bump a spike.
 */
export function spikeVerdict(optOuts: number, preceding: readonly number[]): SpikeVerdict {
  if (preceding.length !== BASELINE_DAYS) {
    throw new RangeError(`spikeVerdict needs ${BASELINE_DAYS} preceding days, got ${preceding.length}`);
  }
  const baseline = median(preceding);
  const mad = median(preceding.map((v) => Math.abs(v - baseline)));
  const scale = Math.max(1, MAD_TO_SIGMA * mad);
  return {
    baseline,
    scale,
    spike: optOuts >= SPIKE_MIN_OPT_OUTS && optOuts >= baseline + SPIKE_SCALES * scale,
  };
}

/**
 * Lower bound of the Wilson score interval for `successes` of `trials` at the
 * given z: (p + z²/2n - z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), with
 * p = min(1, successes / trials) (a campaign's opted-out users can exceed its
 * reach when they were reached before the widened range). null for 0 trials.
 */
export function wilsonLowerBound(successes: number, trials: number, z = WILSON_Z): number | null {
  if (trials <= 0) return null;
  const n = trials;
  const p = Math.min(1, successes / n);
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const margin = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return (centre - margin) / (1 + z2 / n);
}
