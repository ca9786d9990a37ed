// trend: opt-outs, opt-ins and distinct opting-out users per calendar day in tz,
// optionally per consent source (docs/api-contract.md).
import { type SqlFragment, sql } from '@optout/clickhouse';
import { eachDay } from '../periods.ts';
import { num, type Warehouse } from '../warehouse.ts';
import { distinctCount, type FactScope, liveTransitions } from './scope.ts';
import { compareText } from './sort.ts';

export interface TrendCounts {
  opt_outs: number;
  opt_ins: number;
  users: number;
}

export interface TrendDay extends TrendCounts {
  date: string;
}

export interface TrendResult {
  totals: TrendCounts;
  days: TrendDay[];
  sources?: ({ source: string | null; days: TrendDay[] } & TrendCounts)[];
}

const ZERO: TrendCounts = { opt_outs: 0, opt_ins: 0, users: 0 };

function counts(row: Record<string, unknown>): TrendCounts {
  return { opt_outs: num(row.opt_outs), opt_ins: num(row.opt_ins), users: num(row.users) };
}

/**
 * One aggregation over the live transitions (opt-outs and opt-ins) in range.
 * `day` is the calendar date in tz: the tz is a validated zone name bound as a
 * literal. Distinct users cannot be summed across days or sources, hence one
 * query per grouping rather than adding up the daily rows.
 */
function countsSql(scope: FactScope, groupBy: 'none' | 'day' | 'source' | 'source_day'): SqlFragment {
  const live = liveTransitions({
    appId: scope.appId,
    channel: scope.channel,
    range: scope.range,
    kinds: 'all',
    columns: groupBy === 'source' || groupBy === 'source_day' ? ['occurred_at', 'source'] : ['occurred_at'],
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

/** Zero-filled, ascending days of the range from rows keyed by `day`. */
function fillDays(scope: FactScope, rows: Record<string, unknown>[]): TrendDay[] {
  const byDay = new Map(rows.map((row) => [String(row.day), counts(row)]));
  return eachDay(scope.range.from, scope.range.to).map((date) => ({ date, ...(byDay.get(date) ?? ZERO) }));
}

export async function trend(
  warehouse: Warehouse,
  scope: FactScope,
  groupBySource: boolean,
  timeoutMs: number,
): Promise<TrendResult> {
  const run = (groupBy: Parameters<typeof countsSql>[1]) =>
    warehouse.rows(countsSql(scope, groupBy), { timeoutMs, label: `trend_${groupBy}` });
  const [totalRows, dayRows, sourceRows, sourceDayRows] = await Promise.all([
    run('none'),
    run('day'),
    groupBySource ? run('source') : Promise.resolve([]),
    groupBySource ? run('source_day') : Promise.resolve([]),
  ]);
  const result: TrendResult = {
    totals: totalRows[0] ? counts(totalRows[0]) : { ...ZERO },
    days: fillDays(scope, dayRows),
  };
  if (groupBySource) {
    const sourceOf = (row: Record<string, unknown>) => (row.source === null ? null : String(row.source));
    result.sources = sourceRows
      .map((row) => {
        const source = sourceOf(row);
        const days = fillDays(
          scope,
          sourceDayRows.filter((r) => sourceOf(r) === source),
        );
        return { source, ...counts(row), days };
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
