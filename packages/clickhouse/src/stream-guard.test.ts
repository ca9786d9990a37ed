import { describe, expect, it } from 'vitest';
import { ClickHouseStreamError } from './errors.ts';
import { streamGuard, trailingError } from './stream-guard.ts';

const row = (text: string) => ({ text });
const LEGACY =
  'Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 1.0 seconds, e.what() = DB::Exception';
const CURRENT =
  'Code: 159. DB::Exception: Timeout exceeded: elapsed 1.0 seconds. (TIMEOUT_EXCEEDED) (version 24.8)';

async function collect<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of gen) out.push(item);
  return out;
}

describe('trailingError', () => {
  it('recognises the 18.16 and the current error line', () => {
    expect(trailingError(LEGACY)?.code).toBe(159);
    expect(trailingError(CURRENT)?.code).toBe(159);
  });

  it('leaves data lines alone', () => {
    for (const line of [
      '1,"Code: 159, e.displayText() = "',
      '{"s":"Code: 1. DB::Exception: x"}',
      'Code: 5',
      '',
    ]) {
      expect(trailingError(line), line).toBeUndefined();
    }
  });
});

describe('streamGuard', () => {
  it('passes rows through, flattening chunks of rows', async () => {
    const rows = await collect(streamGuard([[row('1'), row('2')], row('3')]));
    expect(rows.map((r) => r.text)).toEqual(['1', '2', '3']);
  });

  it('throws instead of yielding the appended error, after the good rows', async () => {
    const seen: string[] = [];
    const run = async () => {
      for await (const r of streamGuard([[row('1,"a"'), row(LEGACY)]])) seen.push(r.text);
    };
    await expect(run()).rejects.toBeInstanceOf(ClickHouseStreamError);
    expect(seen).toEqual(['1,"a"']);
  });
});
