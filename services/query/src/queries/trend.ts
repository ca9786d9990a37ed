// trend: opt-outs, opt-ins and distinct opting-out users per calendar day in tz,
// optionally per consent source (docs/api-contract.md); with the previous
// period's totals, and each day's baseline and spike (SPEC 5.1).
import { type SqlFragment, sql } from '@optout/clickhouse';
import { addDays, eachDay } from '../periods.ts';
import { num, type Warehouse } from '../warehouse.ts';
import { dayCount, startDaysBefore } from './days.ts';
import { distinctCount, type FactScope, liveTransitions, type TimeRange } from './scope.ts';
import { compareText } from './sort.ts';
import { BASELINE_DAYS, spikeVerdict } from './statistics.ts';

export interface TrendCounts {
  opt_outs: number;
  opt_ins: number;
  users: number;
}

export interface TrendDay extends TrendCounts {
  date: string;
  /** Median of the 28 preceding days' opt-outs. */
  baseline: number;
  spike: boolean;
}

export interface TrendResult {
  totals: TrendCounts;
  previous: { from: string; to: string } & TrendCounts;
  days: TrendDay[];
  sources?: ({ source: string | null; days: TrendDay[] } & TrendCounts)[];
}

const ZERO: TrendCounts = { opt_outs: 0, opt_ins: 0, users: 0 };

function counts(row: Record<string, unknown>): TrendCounts {
  return { opt_outs: num(row.opt_outs), opt_ins: num(row.opt_ins), users: num(row.users) };
}

type Grouping = 'none' | 'day' | 'source' | 'source_day';

/**
 * One aggregation over the live transitions (opt-outs and opt-ins) with t in
 * `range`. `day` is the calendar date in tz: the tz is a validated zone name
 * bound as a literal. Distinct users cannot be summed across days or sources,
 * hence one query per grouping rather than adding up the daily rows.
 */
function countsSql(scope: FactScope, range: TimeRange, groupBy: Grouping): SqlFragment {
  const bySource = groupBy === 'source' || groupBy === 'source_day';
  const live = liveTransitions({
    appId: scope.appId,
    channel: scope.channel,
    range,
    kinds: 'all',
    columns: bySource ? ['occurred_at', 'source'] : ['occurred_at'],
  });
  const day = sql`toDate(occurred_at, ${scope.range.zone})`;
  const keys = {
    none: { select: sql``, group: sql`` },
    day: { select: sql`${day} AS day,`, group: sql`GROUP BY day` },
    source: { select: sql`source,`, group: sql`GROUP BY source` },
    source_day: { select: sql`source, ${day} AS day,`, group: sql`GROUP BY source, day` },
  }[groupBy];
  return sql`
    SELECT ${keys.select}
      countIf(kind = 'OPT_OUT') AS opt_outs,
      countIf(kind = 'OPT_IN') AS opt_ins,
      ${distinctCount(sql`user_id`, sql`kind = 'OPT_OUT'`)} AS users
    FROM (${live})
    ${keys.group}`;
}

/**
 * The days of the range, zero-filled and ascending, from rows keyed by `day`
 * that also cover the 28 days before `from`: each day's baseline and spike
 * look at its own 28 preceding calendar days (zeros included).
 */
function fillDays(scope: FactScope, rows: Record<string, unknown>[]): TrendDay[] {
  const byDay = new Map(rows.map((row) => [String(row.day), counts(row)]));
  const all = eachDay(addDays(scope.range.from, -BASELINE_DAYS), scope.range.to).map(
    (date) => byDay.get(date) ?? ZERO,
  );
  return eachDay(scope.range.from, scope.range.to).map((date, i) => {
    const own = all[i + BASELINE_DAYS]!;
    const preceding = all.slice(i, i + BASELINE_DAYS).map((c) => c.opt_outs);
    const { baseline, spike } = spikeVerdict(own.opt_outs, preceding);
    return { date, ...own, baseline, spike };
  });
}

export async function trend(
  warehouse: Warehouse,
  scope: FactScope,
  groupBySource: boolean,
  timeoutMs: number,
): Promise<TrendResult> {
  const { range } = scope;
  const days = dayCount(range);
  // The day rows reach back over the baseline window; totals stay on the range.
  const withBaseline: TimeRange = { start: startDaysBefore(range, BASELINE_DAYS), end: range.end };
  const previousRange: TimeRange = { start: startDaysBefore(range, days), end: range.start };
  const run = (over: TimeRange, groupBy: Grouping, label: string) =>
    warehouse.rows(countsSql(scope, over, groupBy), { timeoutMs, label: `trend_${label}` });
  const [totalRows, previousRows, dayRows, sourceRows, sourceDayRows] = await Promise.all([
    run(range, 'none', 'none'),
    run(previousRange, 'none', 'previous'),
    run(withBaseline, 'day', 'day'),
    groupBySource ? run(range, 'source', 'source') : Promise.resolve([]),
    groupBySource ? run(withBaseline, 'source_day', 'source_day') : Promise.resolve([]),
  ]);
  const result: TrendResult = {
    totals: totalRows[0] ? counts(totalRows[0]) : { ...ZERO },
    previous: {
      from: addDays(range.from, -days),
      to: addDays(range.from, -1),
      ...(previousRows[0] ? counts(previousRows[0]) : ZERO),
    },
    days: fillDays(scope, dayRows),
  };
  if (groupBySource) {
    const sourceOf = (row: Record<string, unknown>) => (row.source === null ? null : String(row.source));
    result.sources = sourceRows
      .map((row) => {
        const source = sourceOf(row);
        const sourceDays = fillDays(
          scope,
          sourceDayRows.filter((r) => sourceOf(r) === source),
        );
        return { source, ...counts(row), days: sourceDays };
      })
      .sort(
        (a, b) =>
          b.opt_outs - a.opt_outs ||
          (a.source === null ? 1 : 0) - (b.source === null ? 1 : 0) ||
          compareText(a.source ?? '', b.source ?? ''),
      );
  }
  return result;
}
