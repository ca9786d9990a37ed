// Calendar days and periods (SPEC 4) computed with Intl only: no fixed offsets.
import { DAY_MS } from './events.ts';

export type Period = 'last_week' | 'last_month' | 'last_year' | 'custom';

/** A resolved range: the calendar days from..to (inclusive) in tz, i.e. the instants [startMs, endMs). */
export interface ResolvedRange {
  period: Period;
  from: string;
  to: string;
  tz: string;
  startMs: number;
  endMs: number;
}

/** The range as every response echoes it (docs/api-contract.md). */
export interface RangeEcho {
  period: Period;
  from: string;
  to: string;
  tz: string;
  start: string;
  end: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    // Throws RangeError for an unknown zone.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Local wall-clock fields of an instant in tz. */
export function localParts(ms: number, tz: string) {
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** The calendar date ('YYYY-MM-DD') of an instant in tz. */
export function localDate(ms: number, tz: string): string {
  const p = localParts(ms, tz);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses a strict 'YYYY-MM-DD' calendar date to midnight UTC of that date, or null if it is not one. */
export function parseIsoDate(date: string): number | null {
  const m = ISO_DATE.exec(date);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return ms;
}

/** Calendar arithmetic on ISO dates (no time zone involved). */
export function addDays(date: string, n: number): string {
  const ms = parseIsoDate(date);
  if (ms === null) throw new RangeError(`not an ISO date: ${date}`);
  return new Date(ms + n * DAY_MS).toISOString().slice(0, 10);
}

/** Number of calendar days from..to inclusive. */
export function daysInclusive(from: string, to: string): number {
  return Math.round((parseIsoDate(to)! - parseIsoDate(from)!) / DAY_MS) + 1;
}

/** Every date from..to inclusive, ascending. */
export function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/**
 * The first instant of calendar day `date` in tz, as epoch ms: the smallest instant
 * whose local date in tz is >= date. Normally that is local 00:00; on a day whose
 * midnight is skipped by a DST jump (e.g. America/Santiago 00:00 -> 01:00) it is the
 * first instant that exists (local 01:00); when midnight happens twice it is the
 * first one. Found by bisection over real instants, asking Intl for the local date
 * of each, so no offset is ever assumed. (Local dates are non-decreasing in time in
 * every zone this project meets.)
 */
export function startOfLocalDay(date: string, tz: string): number {
  const utcMidnight = parseIsoDate(date);
  if (utcMidnight === null) throw new RangeError(`not an ISO date: ${date}`);
  // UTC offsets lie within -12h..+14h, so the day starts within 2 days of UTC midnight.
  let lo = utcMidnight - 2 * DAY_MS; // local date < date
  let hi = utcMidnight + 2 * DAY_MS; // local date >= date
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDate(mid, tz) >= date) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * SPEC 4: presets end today (in tz) inclusive — last_week = today-6..today,
 * last_month = today-29..today, last_year = today-364..today; custom = from..to
 * (ISO dates, from <= to, at most 366 days). start = first instant of `from` in tz,
 * end = first instant of `to + 1 day` in tz. Throws RangeError on bad input.
 */
export function resolveRange(
  q: { period: Period; from?: string; to?: string; tz?: string },
  now: number,
): ResolvedRange {
  const tz = q.tz ?? 'UTC';
  formatter(tz); // validates the zone
  let from: string;
  let to: string;
  if (q.period === 'custom') {
    if (q.from === undefined || parseIsoDate(q.from) === null) throw new RangeError('from: not an ISO date');
    if (q.to === undefined || parseIsoDate(q.to) === null) throw new RangeError('to: not an ISO date');
    from = q.from;
    to = q.to;
    if (from > to) throw new RangeError('from is after to');
    if (daysInclusive(from, to) > 366) throw new RangeError('range longer than 366 days');
  } else {
    const days = { last_week: 7, last_month: 30, last_year: 365 }[q.period];
    if (days === undefined) throw new RangeError(`unknown period: ${String(q.period)}`);
    to = localDate(now, tz);
    from = addDays(to, -(days - 1));
  }
  return {
    period: q.period,
    from,
    to,
    tz,
    startMs: startOfLocalDay(from, tz),
    endMs: startOfLocalDay(addDays(to, 1), tz),
  };
}

export function rangeEcho(r: ResolvedRange): RangeEcho {
  return {
    period: r.period,
    from: r.from,
    to: r.to,
    tz: r.tz,
    start: new Date(r.startMs).toISOString(),
    end: new Date(r.endMs).toISOString(),
  };
}
