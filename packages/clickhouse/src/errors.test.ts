import { describe, expect, it } from 'vitest';
import { ClickHouseStreamError, clickhouseErrorCode, isTimeout, isUnavailable } from './errors.ts';

const legacy = (code: number) =>
  new Error(`Code: ${code}, e.displayText() = DB::Exception: boom, e.what() = DB::Exception\n`);

describe('clickhouseErrorCode', () => {
  it('reads the code from an 18.16 message', () => {
    expect(clickhouseErrorCode(legacy(62))).toBe(62);
  });

  it('prefers a numeric err.code (ClickHouseError on current servers)', () => {
    const err = Object.assign(new Error('Code: 60. DB::Exception: Unknown table. (UNKNOWN_TABLE)'), {
      code: '60',
    });
    expect(clickhouseErrorCode(err)).toBe(60);
    expect(clickhouseErrorCode(new ClickHouseStreamError(159, 'Code: 159, ...'))).toBe(159);
  });

  it('ignores Node error codes and non-errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
    expect(clickhouseErrorCode(refused)).toBeUndefined();
    expect(clickhouseErrorCode('Code: 1')).toBeUndefined();
    expect(clickhouseErrorCode(undefined)).toBeUndefined();
  });
});

describe('isUnavailable', () => {
  it('is true for socket-level failures, also nested in cause or AggregateError', () => {
    expect(isUnavailable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isUnavailable(new Error('socket hang up'))).toBe(true);
    const nested = new Error('outer', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) });
    expect(isUnavailable(nested)).toBe(true);
    const aggregate = new AggregateError(
      [Object.assign(new Error('a'), { code: 'ECONNREFUSED' })],
      'connect',
    );
    expect(isUnavailable(aggregate)).toBe(true);
    expect(isUnavailable(legacy(202))).toBe(true);
  });

  it('is false for query errors and timeouts', () => {
    expect(isUnavailable(legacy(62))).toBe(false);
    expect(isUnavailable(legacy(159))).toBe(false);
    expect(isUnavailable(new Error('Timeout error.'))).toBe(false);
    expect(isUnavailable(null)).toBe(false);
  });
});

describe('isTimeout', () => {
  it('is true for code 159 and the client request timeout', () => {
    expect(isTimeout(legacy(159))).toBe(true);
    expect(isTimeout(new ClickHouseStreamError(159, 'Code: 159, ...'))).toBe(true);
    expect(isTimeout(new Error('Timeout error.'))).toBe(true);
  });

  it('is false otherwise', () => {
    expect(isTimeout(legacy(60))).toBe(false);
    expect(isTimeout(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(false);
  });
});
