// The small statistics of SPEC 5.1, written out from the SPEC's sentences for
// the reference (independently of services/query/src/queries/statistics.ts).

/** Median; of an even count the mean of the two middle values. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) throw new RangeError('median of nothing');
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/**
 * SPEC 5.1: baseline = median of the 28 preceding days, scale = max(1, 1.4826 x
 * MAD), spike = opt_outs >= 5 and opt_outs >= baseline + 4 x scale.
 */
export function spike(optOuts: number, preceding28: readonly number[]): { baseline: number; spike: boolean } {
  if (preceding28.length !== 28) throw new RangeError('needs the 28 preceding days');
  const baseline = median(preceding28);
  const mad = median(preceding28.map((x) => Math.abs(x - baseline)));
  const scale = Math.max(1, 1.4826 * mad);
  return { baseline, spike: optOuts >= 5 && optOuts >= baseline + 4 * scale };
}

/** 95% Wilson score lower bound, z = 1.959964, p = min(1, x / n); null when n = 0. */
export function wilsonLower(x: number, n: number): number | null {
  if (n === 0) return null;
  const z = 1.959964;
  const p = Math.min(1, x / n);
  return (
    (p + (z * z) / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n)
  );
}
