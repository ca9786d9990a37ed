// Error classification and the stream guard against the real 18.16 server.
import { afterAll, describe, expect, it } from 'vitest';
import { testStack } from '../../../test/support/env.ts';
import { createClickHouseClient } from './client.ts';
import { ClickHouseStreamError, clickhouseErrorCode, isTimeout, isUnavailable } from './errors.ts';
import { streamGuard } from './stream-guard.ts';

const stack = testStack();
const writer = createClickHouseClient({
  url: stack.clickhouseUrl,
  username: stack.clickhouseUser,
  password: stack.clickhousePassword,
});
const reader = createClickHouseClient({
  url: stack.clickhouseUrl,
  username: stack.readerUser,
  password: stack.readerPassword,
  readOnly: true,
});
afterAll(async () => {
  await writer.close();
  await reader.close();
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

// CPU-bound and endless: only max_execution_time stops it.
const ENDLESS =
  'SELECT number, toString(number) AS s FROM system.numbers WHERE NOT ignore(sipHash64(toString(number)))';

describe('error classification', () => {
  it('reads the server code from an 18.16 error', async () => {
    const error = await failure(writer.query({ query: 'SELECT nope FROM system.one' }));
    expect(clickhouseErrorCode(error)).toBe(47);
    expect(isUnavailable(error)).toBe(false);
    expect(isTimeout(error)).toBe(false);
  });

  it('max_execution_time gives code 159, a timeout', async () => {
    const error = await failure(
      writer.query({
        query: 'SELECT count() FROM system.numbers WHERE NOT ignore(sipHash64(number))',
        clickhouse_settings: { max_execution_time: 1 },
      }),
    );
    expect(clickhouseErrorCode(error)).toBe(159);
    expect(isTimeout(error)).toBe(true);
  });

  it('a client request timeout is a timeout, not unavailability', async () => {
    const impatient = createClickHouseClient({
      url: stack.clickhouseUrl,
      username: stack.clickhouseUser,
      password: stack.clickhousePassword,
      requestTimeoutMs: 300,
    });
    try {
      const error = await failure(impatient.query({ query: 'SELECT sleep(2)' }));
      expect(isTimeout(error)).toBe(true);
      expect(isUnavailable(error)).toBe(false);
    } finally {
      await impatient.close();
    }
  });

  it('a server that is not there is unavailable', async () => {
    const nowhere = createClickHouseClient({ url: 'http://127.0.0.1:1', username: 'default', password: '' });
    try {
      const error = await failure(nowhere.query({ query: 'SELECT 1' }));
      expect(isUnavailable(error)).toBe(true);
      expect(isTimeout(error)).toBe(false);
      expect(clickhouseErrorCode(error)).toBeUndefined();
    } finally {
      await nowhere.close();
    }
  });
});

describe('streamGuard on a real mid-stream timeout', () => {
  for (const format of ['CSV', 'TabSeparated', 'JSONEachRow'] as const) {
    it(`${format}: the appended "Code: 159" line throws instead of being a row`, async () => {
      const result = await reader.query({
        query: ENDLESS,
        format,
        clickhouse_settings: { max_execution_time: 1 },
      });
      let rows = 0;
      const read = async () => {
        for await (const row of streamGuard(result.stream())) {
          if (row.text.startsWith('Code:')) throw new Error(`error line leaked as data: ${row.text}`);
          rows++;
        }
      };
      const error = await failure(read());
      expect(error).toBeInstanceOf(ClickHouseStreamError);
      expect(clickhouseErrorCode(error)).toBe(159);
      expect(isTimeout(error)).toBe(true);
      expect(rows).toBeGreaterThan(0); // data had been streamed: this was the HTTP 200 case
    });
  }

  it('without the guard the client yields the error as a CSV row (why the guard exists)', async () => {
    const result = await reader.query({
      query: ENDLESS,
      format: 'CSV',
      clickhouse_settings: { max_execution_time: 1 },
    });
    let last = '';
    for await (const chunk of result.stream()) {
      for (const row of chunk) if (row.text) last = row.text;
    }
    expect(last).toMatch(/^Code: 159, e\.displayText\(\) = /);
  });
});
