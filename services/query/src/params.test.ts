import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { parseQuery } from './params.ts';

const NOW = new Date('2024-05-15T12:00:00Z');

function details(name: Parameters<typeof parseQuery>[0], query: Record<string, unknown>) {
  try {
    parseQuery(name, query, NOW);
  } catch (error) {
    if (error instanceof ApiError) {
      expect(error.status).toBe(400);
      return Object.fromEntries(error.details.map((d) => [d.param, d.message]));
    }
    throw error;
  }
  throw new Error('expected a 400');
}

describe('parseQuery', () => {
  it('applies defaults', () => {
    const params = parseQuery('events', {}, NOW);
    expect(params).toMatchObject({ channel: 'PUSH', lookback_days: 7, count: 'total', limit: 20 });
    expect(params.range).toMatchObject({ period: 'last_week', tz: 'UTC', to: '2024-05-15' });
    expect(parseQuery('pushPressure', {}, NOW)).toMatchObject({ window_days: 7, max_bucket: 10 });
    expect(parseQuery('export', {}, NOW).format).toBe('csv');
    expect(parseQuery('trend', {}, NOW).group_by).toBeUndefined();
  });

  it('coerces numbers from query strings', () => {
    expect(parseQuery('campaigns', { lookback_days: '30', limit: '1', channel: 'SMS' }, NOW)).toMatchObject({
      lookback_days: 30,
      limit: 1,
      channel: 'SMS',
    });
  });

  it('names every bad parameter of one request', () => {
    const bad = details('events', {
      period: 'custom',
      from: '2024-05-02',
      to: '2024-05-01',
      tz: 'Not/AZone',
      channel: 'FAX',
      lookback_days: '0',
      count: 'some',
      limit: '101',
      colour: 'red',
    });
    expect(Object.keys(bad).sort()).toEqual(
      ['channel', 'colour', 'count', 'from', 'limit', 'lookback_days', 'tz'].sort(),
    );
  });

  it('reports from after to, span too long, unknown period', () => {
    expect(details('trend', { period: 'custom', from: '2024-05-02', to: '2024-05-01' })).toHaveProperty(
      'from',
    );
    expect(details('trend', { period: 'custom', from: '2023-01-01', to: '2024-05-01' })).toHaveProperty('to');
    expect(details('trend', { period: 'fortnight' })).toHaveProperty('period');
  });

  it('checks each integer range and format', () => {
    expect(details('pushPressure', { window_days: '31', max_bucket: '0' })).toEqual({
      window_days: 'must be an integer from 1 to 30',
      max_bucket: 'must be an integer from 1 to 100',
    });
    expect(details('campaigns', { lookback_days: 'x', limit: '2.5' })).toEqual({
      lookback_days: 'must be an integer from 1 to 30',
      limit: 'must be an integer from 1 to 100',
    });
    expect(details('export', { format: 'xlsx' })).toHaveProperty('format');
    expect(details('trend', { group_by: 'channel' })).toHaveProperty('group_by');
  });

  it('refuses repeated and unknown parameters', () => {
    expect(details('trend', { channel: ['PUSH', 'SMS'], foo: '1' })).toEqual({
      channel: 'must be given once',
      foo: 'unknown parameter',
    });
  });
});
