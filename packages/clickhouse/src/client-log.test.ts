// The client library's lines go to the service's logger, as fields of one JSON line.
import { ClickHouseLogLevel } from '@clickhouse/client';
import { createLogger } from '@optout/observability';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../infra/local/stack.ts';
import { captureLogs } from '../../../test/support/log-capture.ts';
import { createClickHouseClient } from './client.ts';
import { libraryLevel } from './client-log.ts';

const parsed = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('the ClickHouse client library logging through the service logger', () => {
  it('logs a failed request as one line with its module and error', async () => {
    const log = captureLogs();
    // Nothing listens there: the request fails to connect, a real failure of the library.
    const client = createClickHouseClient({
      url: `http://127.0.0.1:${await freePort()}`,
      username: 'default',
      password: '',
      logger: log.logger,
    });
    try {
      await expect(client.query({ query: 'SELECT 1' })).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await client.close();
    }
    const failed = parsed(log.lines()).find((line) => line.level === 'error');
    expect(failed).toMatchObject({ component: 'clickhouse-client', module: 'Connection' });
    expect(String((failed?.err as Error | undefined)?.message)).toMatch(/ECONNREFUSED/);
  });

  it('logs the advice on a long request_timeout at debug, not as a warning', async () => {
    const log = captureLogs();
    const client = createClickHouseClient({
      url: 'http://127.0.0.1:1',
      username: 'default',
      password: '',
      requestTimeoutMs: 630_000,
      logger: log.logger,
    });
    await client.close();
    const advice = parsed(log.lines()).filter((line) => line.module === 'Config');
    expect(advice.map((line) => line.level)).toEqual(['debug']);
    expect(String(advice[0]?.msg)).toMatch(/request_timeout is set to 630000ms/);
  });

  it('asks the library for no line the logger would drop', () => {
    expect(libraryLevel(createLogger('t', 'debug'))).toBe(ClickHouseLogLevel.DEBUG);
    expect(libraryLevel(createLogger('t', 'info'))).toBe(ClickHouseLogLevel.WARN);
    expect(libraryLevel(createLogger('t', 'warn'))).toBe(ClickHouseLogLevel.WARN);
    expect(libraryLevel(createLogger('t', 'error'))).toBe(ClickHouseLogLevel.ERROR);
    expect(libraryLevel(createLogger('t', 'silent'))).toBe(ClickHouseLogLevel.OFF);
  });
});
