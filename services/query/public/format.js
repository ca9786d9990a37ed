// Numbers and dates as the page shows them: every count carries its unit.

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat('en-US', {
  style: 'percent',
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});

export const formatInt = (n) => integer.format(n);

/** "1 opt-out", "1,204 opt-outs". */
export function count(n, singular, plural = `${singular}s`) {
  return `${integer.format(n)} ${n === 1 ? singular : plural}`;
}

/** "2.4 pushes" (one decimal), or "–" when there is no value. */
export function decimalWithUnit(n, singular, plural = `${singular}s`) {
  if (n === null || n === undefined) return '–';
  return `${decimal.format(n)} ${n === 1 ? singular : plural}`;
}

/** A ratio 0..1 as "12.5%", or "–" when undefined (no reach). */
export function rate(ratio) {
  return ratio === null || ratio === undefined ? '–' : percent.format(ratio);
}

/** A rate per user-day as "4.21 per 1,000", or "–" when undefined (no user-days). */
export function perThousand(ratio) {
  if (ratio === null || ratio === undefined) return '–';
  return `${new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(ratio * 1000)} per 1,000`;
}

/** A lift as "×2.40", or "–" when there is none. */
export function lift(value) {
  return value === null || value === undefined ? '–' : `×${value.toFixed(2)}`;
}

/**
 * The change of a total against the previous period: "▲ 12% vs 110",
 * "▼ 3% vs 31", "= vs 4", or "new (0 before)" when the previous period had none.
 */
export function change(current, previous) {
  if (previous === 0) return current === 0 ? '= vs 0' : 'new (0 before)';
  const delta = (current - previous) / previous;
  if (current === previous) return `= vs ${integer.format(previous)}`;
  const arrow = delta > 0 ? '▲' : '▼';
  return `${arrow} ${percent.format(Math.abs(delta)).replace('.0%', '%')} vs ${integer.format(previous)}`;
}

/** YYYY-MM-DD -> "Mon 6 May 2024" (the date is a calendar day, not an instant). */
export function longDay(isoDate) {
  const [y, m, d] = isoDate.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString('en-GB', {
    timeZone: 'UTC',
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
  });
}

/** YYYY-MM-DD -> "6 May" for axis labels. */
export function shortDay(isoDate) {
  const [y, m, d] = isoDate.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString('en-GB', {
    timeZone: 'UTC',
    day: 'numeric',
    month: 'short',
  });
}

/** Today's calendar date in `tz` as YYYY-MM-DD. */
export function todayIn(tz) {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date());
}

/** YYYY-MM-DD plus `days` (may be negative). */
export function addDays(isoDate, days) {
  const [y, m, d] = isoDate.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}
