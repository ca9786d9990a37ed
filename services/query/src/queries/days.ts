// Calendar days of a range in SQL: a day is identified by its index from the
// range's first day (0 .. days-1), so per-user arithmetic stays in small
// integers. The local date of an instant comes from ClickHouse's toDate(..., tz),
// as in the trend: one rule for "which day" across the charts.
import { type SqlFragment, sql } from '@optout/clickhouse';
import { addDays, daysBetween, type ResolvedRange, startOfLocalDay } from '../periods.ts';

const DAY_MS = 86_400_000;

// What a DateTime holds (sql.ts refuses instants outside it): 1970 .. 2105-12-31 23:59:59 UTC.
const LAST_DATETIME_MS = 4_291_747_199_000;

/**
 * An instant moved into what DateTime can hold: the windows that reach before
 * 1970 or after 2105 (a range at the very edge of the allowed dates) hold no
 * events there anyway.
 */
export function storable(ms: number): Date {
  return new Date(Math.min(LAST_DATETIME_MS, Math.max(0, ms)));
}

/** Number of calendar days of the range. */
export function dayCount(range: ResolvedRange): number {
  return daysBetween(range.from, range.to) + 1;
}

/** Days since 1970-01-01 of a YYYY-MM-DD date (what toInt32(Date) gives in ClickHouse). */
export function epochDay(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
}

/**
 * Index of the local calendar day (in the range's zone) of an epoch-ms
 * expression, counted from the range's `from`: negative before the range,
 * >= dayCount after it. Instants are cut to the second first: day starts are
 * whole seconds, so the second decides the day.
 */
export function dayIndex(ms: SqlFragment, range: ResolvedRange): SqlFragment {
  return sql`(toInt32(toDate(toDateTime(intDiv(${ms}, 1000)), ${range.zone})) - ${epochDay(range.from)})`;
}

/** The first instant of the day `days` before `from` (local midnight), never before 1970. */
export function startDaysBefore(range: ResolvedRange, days: number): Date {
  const day = addDays(range.from, -days);
  if (day < '1970-01-02') return new Date(0);
  return startOfLocalDay(day, range.zone);
}
