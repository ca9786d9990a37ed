// Periods (SPEC 4): a preset or a custom range of calendar days in an IANA time
// zone, resolved to the instants [start, end) the fact queries filter on.
// Days are local calendar days, so start/end are local midnights: on a DST day a
// "day" is 23 or 25 hours long, and start/end follow the zone, not UTC.
import type { ParamProblem } from './errors.ts';

export const PERIODS = ['last_week', 'last_month', 'last_year', 'custom'] as const;
export type PeriodName = (typeof PERIODS)[number];

/** Days covered by each preset, ending today (inclusive). */
const PRESET_DAYS: Record<Exclude<PeriodName, 'custom'>, number> = {
  last_week: 7,
  last_month: 30,
  last_year: 365,
};

export const MAX_CUSTOM_DAYS = 366;

export interface ResolvedRange {
  period: PeriodName;
  /** First day, YYYY-MM-DD, inclusive. */
  from: string;
  /** Last day, YYYY-MM-DD, inclusive. */
  to: string;
  /** The zone as the caller named it (case fixed): what responses echo. */
  tz: string;
  /** The same zone under the name ICU resolves it to: what SQL is given (ClickHouse knows both). */
  zone: string;
  /** from 00:00 in tz, as an instant (whole seconds). */
  start: Date;
  /** (to + 1 day) 00:00 in tz, as an instant (whole seconds); exclusive. */
  end: Date;
}

export interface PeriodInput {
  period?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  tz?: string | undefined;
}

const DAY_MS = 86_400_000;

// Only names shaped like IANA zones ("UTC", "Europe/Berlin", "Etc/GMT+5"):
// Intl also accepts offsets such as "+01:00", which ClickHouse does not.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A cached formatter giving the local calendar date of an instant in `tz`. */
function dayFormatter(tz: string): Intl.DateTimeFormat {
  let formatter = formatters.get(tz);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    formatters.set(tz, formatter);
  }
  return formatter;
}

/**
 * The canonical name of an IANA zone (Intl resolves case and aliases:
 * "europe/berlin" -> "Europe/Berlin"), or undefined when it is not one. ICU's
 * canonical names are sometimes the old ones ("Asia/Kolkata" -> "Asia/Calcutta").
 */
export function canonicalTimeZone(tz: string): string | undefined {
  if (!ZONE_NAME.test(tz) || tz.length > 64) return undefined;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
    return ZONE_NAME.test(resolved) ? resolved : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The name a response echoes: the caller's own spelling of an alias (they asked
 * for "Asia/Kolkata", not ICU's "Asia/Calcutta"), or the canonical name when
 * only the case differs ("europe/berlin" -> "Europe/Berlin").
 */
function echoedZone(asked: string, canonical: string): string {
  return asked.toLowerCase() === canonical.toLowerCase() ? canonical : asked;
}

/** True for a real calendar date written YYYY-MM-DD (2024-02-30 is not one). */
export function isIsoDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const parsed = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === text;
}

/** Calendar arithmetic on YYYY-MM-DD (UTC-based, so no DST involved). */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Number of days from `a` to `b` (b - a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
}

/** Every day from `from` to `to`, inclusive, ascending. */
export function eachDay(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}

/** The calendar date (YYYY-MM-DD) of an instant in `tz`. */
export function localDate(instantMs: number, tz: string): string {
  // en-CA formats as YYYY-MM-DD.
  return dayFormatter(tz).format(new Date(instantMs));
}

/**
 * The first whole second whose local date in `tz` is `day`: local midnight, or
 * the first instant after it when a DST change skips midnight (e.g. Sao Paulo
 * before 2019). Local dates only grow with time, so a binary search over the
 * +-15 hours around UTC midnight (every real offset is within that) finds it
 * without any offset arithmetic that DST could break.
 */
export function startOfLocalDay(day: string, tz: string): Date {
  const utcMidnight = Date.parse(`${day}T00:00:00Z`) / 1000;
  let lo = utcMidnight - 15 * 3600; // local date there is before `day`
  let hi = utcMidnight + 15 * 3600; // local date there is `day` or later
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDate(mid * 1000, tz) < day) lo = mid;
    else hi = mid;
  }
  return new Date(hi * 1000);
}

export type PeriodResult = { ok: true; range: ResolvedRange } | { ok: false; problems: ParamProblem[] };

/**
 * Validates and resolves period / from / to / tz against `now`. Reports every
 * problem, each naming its parameter. Defaults: period last_week, tz UTC.
 */
export function resolvePeriod(input: PeriodInput, now: Date): PeriodResult {
  const problems: ParamProblem[] = [];
  const period = (input.period ?? 'last_week') as PeriodName;
  if (!PERIODS.includes(period)) {
    problems.push({ param: 'period', message: `unknown period: must be one of ${PERIODS.join(', ')}` });
  }
  const zone = canonicalTimeZone(input.tz ?? 'UTC');
  const tz = zone && echoedZone(input.tz ?? 'UTC', zone);
  if (!tz || !zone)
    problems.push({ param: 'tz', message: 'not a known IANA time zone (e.g. UTC, Europe/Berlin)' });

  let from: string | undefined;
  let to: string | undefined;
  if (period === 'custom') {
    for (const param of ['from', 'to'] as const) {
      const value = input[param];
      if (value === undefined) problems.push({ param, message: 'required with period=custom (YYYY-MM-DD)' });
      else if (!isIsoDate(value)) problems.push({ param, message: 'must be a calendar date YYYY-MM-DD' });
    }
    from = input.from;
    to = input.to;
    if (from && to && isIsoDate(from) && isIsoDate(to)) {
      if (from > to) problems.push({ param: 'from', message: `must not be after to (${to})` });
      else if (daysBetween(from, to) + 1 > MAX_CUSTOM_DAYS) {
        problems.push({ param: 'to', message: `the range spans more than ${MAX_CUSTOM_DAYS} days` });
      }
      // DateTime ends in 2105; years before 1970 hold no facts.
      for (const [param, value] of [
        ['from', from],
        ['to', to],
      ] as const) {
        if (value < '1970-01-02' || value > '2105-12-30') {
          problems.push({ param, message: 'must be between 1970-01-02 and 2105-12-30' });
        }
      }
    }
  } else {
    // A preset decides the days itself: from/to beside it would be silently ignored.
    for (const param of ['from', 'to'] as const) {
      if (input[param] !== undefined) problems.push({ param, message: 'only allowed with period=custom' });
    }
    if (tz && zone && PERIODS.includes(period)) {
      to = localDate(now.getTime(), zone);
      from = addDays(to, -(PRESET_DAYS[period as Exclude<PeriodName, 'custom'>] - 1));
    }
  }

  if (problems.length > 0 || !tz || !zone || !from || !to) return { ok: false, problems };
  return {
    ok: true,
    range: {
      period,
      from,
      to,
      tz,
      zone,
      start: startOfLocalDay(from, zone),
      end: startOfLocalDay(addDays(to, 1), zone),
    },
  };
}

/** The range as echoed in every response. */
export function rangeJson(range: ResolvedRange) {
  return {
    period: range.period,
    from: range.from,
    to: range.to,
    tz: range.tz,
    start: range.start.toISOString(),
    end: range.end.toISOString(),
  };
}
