// push-pressure: how many pushes each opt-out received in the window_days before
// it (the precomputed pushes_before[window_days]), as a histogram plus mean and
// nearest-rank percentiles (docs/api-contract.md).
import { sql } from '@optout/clickhouse';
import { num, type Warehouse } from '../warehouse.ts';
import { type FactScope, liveOptOuts } from './scope.ts';

export interface PushPressureResult {
  opt_outs: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  histogram: { pushes: string; opt_outs: number }[];
}

/** Distribution of push counts: [pushes, opt-outs with that count], ascending by pushes. */
export type Distribution = readonly (readonly [number, number])[];

/** Nearest rank: the smallest count c such that at least ceil(p/100 * N) opt-outs have <= c. */
export function nearestRank(distribution: Distribution, percent: number): number | null {
  const total = distribution.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((percent / 100) * total));
  let seen = 0;
  for (const [pushes, n] of distribution) {
    seen += n;
    if (seen >= rank) return pushes;
  }
  return null;
}

export function summarise(distribution: Distribution, maxBucket: number): PushPressureResult {
  const optOuts = distribution.reduce((sum, [, n]) => sum + n, 0);
  const totalPushes = distribution.reduce((sum, [pushes, n]) => sum + pushes * n, 0);
  const histogram = Array.from({ length: maxBucket + 1 }, (_, i) => ({
    pushes: i < maxBucket ? String(i) : `${maxBucket}+`,
    opt_outs: 0,
  }));
  for (const [pushes, n] of distribution) histogram[Math.min(pushes, maxBucket)]!.opt_outs += n;
  return {
    opt_outs: optOuts,
    mean: optOuts === 0 ? null : totalPushes / optOuts,
    p50: nearestRank(distribution, 50),
    p90: nearestRank(distribution, 90),
    histogram,
  };
}

export async function pushPressure(
  warehouse: Warehouse,
  scope: FactScope,
  windowDays: number,
  maxBucket: number,
  timeoutMs: number,
): Promise<PushPressureResult> {
  // pushes_before[d] (1-based) counts PushSent in [t - d days, t); an array
  // shorter than d (never expected) reads as 0.
  const rows = await warehouse.rows(
    sql`
      SELECT arrayElement(pushes_before, ${windowDays}) AS pushes, count() AS opt_outs
      FROM (${liveOptOuts(scope, ['pushes_before'])})
      GROUP BY pushes
      ORDER BY pushes`,
    { timeoutMs, label: 'push_pressure' },
  );
  const distribution = rows.map((row) => [num(row.pushes), num(row.opt_outs)] as const);
  return summarise(distribution, maxBucket);
}
