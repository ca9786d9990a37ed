import { describe, expect, it } from 'vitest';
import {
  canonicalTimeZone,
  eachDay,
  isIsoDate,
  localDate,
  resolvePeriod,
  startOfLocalDay,
} from './periods.ts';

const NOW = new Date('2024-05-15T22:30:00Z');

function ok(input: Parameters<typeof resolvePeriod>[0], now = NOW) {
  const result = resolvePeriod(input, now);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.range;
}

function problems(input: Parameters<typeof resolvePeriod>[0]) {
  const result = resolvePeriod(input, NOW);
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

describe('presets', () => {
  it('last_week is the 7 days ending today in UTC by default', () => {
    const range = ok({});
    expect(range).toMatchObject({ period: 'last_week', from: '2024-05-09', to: '2024-05-15', tz: 'UTC' });
    expect(range.start.toISOString()).toBe('2024-05-09T00:00:00.000Z');
    expect(range.end.toISOString()).toBe('2024-05-16T00:00:00.000Z');
  });

  it('today is the date in tz, not in UTC', () => {
    // 22:30 UTC is already the 16th in Berlin (UTC+2 in May).
    const range = ok({ period: 'last_month', tz: 'Europe/Berlin' });
    expect(range.to).toBe('2024-05-16');
    expect(range.from).toBe('2024-04-17');
    expect(range.start.toISOString()).toBe('2024-04-16T22:00:00.000Z');
    expect(range.end.toISOString()).toBe('2024-05-16T22:00:00.000Z');
  });

  it('last_year is 365 days', () => {
    const range = ok({ period: 'last_year' });
    expect(eachDay(range.from, range.to)).toHaveLength(365);
    expect(range.to).toBe('2024-05-15');
  });
});

describe('custom', () => {
  it('covers from..to inclusive as [start, end)', () => {
    const range = ok({ period: 'custom', from: '2024-01-01', to: '2024-01-31', tz: 'America/New_York' });
    expect(range.start.toISOString()).toBe('2024-01-01T05:00:00.000Z');
    expect(range.end.toISOString()).toBe('2024-02-01T05:00:00.000Z');
  });

  it('is DST-correct: spring-forward and fall-back days keep local midnights', () => {
    const spring = ok({ period: 'custom', from: '2024-03-31', to: '2024-03-31', tz: 'Europe/Berlin' });
    expect(spring.start.toISOString()).toBe('2024-03-30T23:00:00.000Z');
    expect(spring.end.toISOString()).toBe('2024-03-31T22:00:00.000Z'); // a 23-hour day
    const fall = ok({ period: 'custom', from: '2024-10-27', to: '2024-10-27', tz: 'Europe/Berlin' });
    expect(fall.end.getTime() - fall.start.getTime()).toBe(25 * 3600_000);
  });

  it('starts a day whose midnight does not exist at the first local instant', () => {
    // Sao Paulo jumped from 2018-11-04 00:00 to 01:00 (-03 -> -02).
    expect(startOfLocalDay('2018-11-04', 'America/Sao_Paulo').toISOString()).toBe('2018-11-04T03:00:00.000Z');
    expect(localDate(Date.parse('2018-11-04T02:59:59Z'), 'America/Sao_Paulo')).toBe('2018-11-03');
  });

  it('accepts 366 days and refuses 367', () => {
    expect(
      eachDay(ok({ period: 'custom', from: '2024-01-01', to: '2024-12-31' }).from, '2024-12-31'),
    ).toHaveLength(366);
    expect(problems({ period: 'custom', from: '2024-01-01', to: '2025-01-01' })).toEqual([
      { param: 'to', message: expect.stringContaining('366') },
    ]);
  });

  it('names every bad parameter', () => {
    expect(
      problems({ period: 'custom', from: '2024-02-30', tz: 'Mars/Olympus' }).map((p) => p.param),
    ).toEqual(['tz', 'from', 'to']);
    expect(problems({ period: 'custom', from: '2024-03-02', to: '2024-03-01' })).toEqual([
      { param: 'from', message: expect.stringContaining('after') },
    ]);
    expect(problems({ period: 'yesterday' })).toEqual([
      { param: 'period', message: expect.stringContaining('unknown') },
    ]);
    expect(problems({ period: 'last_week', from: '2024-01-01' }).map((p) => p.param)).toEqual(['from']);
  });
});

describe('time zones', () => {
  it('canonicalises names and refuses offsets and unknown zones', () => {
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('+01:00')).toBeUndefined();
    expect(canonicalTimeZone('Nowhere/City')).toBeUndefined();
    expect(canonicalTimeZone("UTC'; DROP")).toBeUndefined();
  });

  it('validates calendar dates', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2023-02-29')).toBe(false);
    expect(isIsoDate('2024-1-01')).toBe(false);
  });
});
