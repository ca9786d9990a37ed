import { ConfigError } from '@optout/config';
import { describe, expect, it } from 'vitest';
import { parseQueryConfig } from './config.ts';

const KEY = 'a'.repeat(64);

function error(env: Record<string, string>): string {
  try {
    parseQueryConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('parseQueryConfig', () => {
  it('reads inline keys and applies defaults', () => {
    const config = parseQueryConfig({
      API_KEYS: JSON.stringify([{ key_sha256: KEY.toUpperCase(), apps: ['*'] }]),
    });
    expect(config.apiKeys).toEqual([{ key_sha256: KEY, apps: ['*'], admin: false }]);
    expect(config).toMatchObject({
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: 8080,
      QUERY_TIMEOUT_MS: 10_000,
      EXPORT_TIMEOUT_MS: 600_000,
    });
  });

  it('names the variable that is wrong', () => {
    expect(error({})).toMatch(/API_KEYS \/ API_KEYS_FILE: one of them is required/);
    expect(error({ API_KEYS: 'not json' })).toMatch(/API_KEYS: not valid JSON/);
    expect(error({ API_KEYS: JSON.stringify([{ key_sha256: 'abc', apps: [] }]) })).toMatch(
      /API_KEYS\[0\]\[key_sha256\]: must be 64 hex digits[\s\S]*API_KEYS\[0\]\[apps\]/,
    );
    expect(error({ API_KEYS_FILE: '/nonexistent/keys.json' })).toMatch(/API_KEYS_FILE: cannot read/);
    expect(error({ API_KEYS: '[]', API_KEYS_FILE: '/x' })).toMatch(/set only one/);
    expect(
      error({ API_KEYS: JSON.stringify([{ key_sha256: KEY, apps: ['a'] }]), QUERY_TIMEOUT_MS: '0' }),
    ).toMatch(/QUERY_TIMEOUT_MS/);
  });

  it('has documented defaults for every load limit', () => {
    const config = parseQueryConfig({ API_KEYS: JSON.stringify([{ key_sha256: KEY, apps: ['*'] }]) });
    expect(config).toMatchObject({
      RATE_LIMIT_MAX: 600,
      RATE_LIMIT_WINDOW_MS: 60_000,
      MAX_CONCURRENT_REQUESTS_PER_KEY: 16,
      MAX_CONCURRENT_EXPORTS_PER_KEY: 2,
      CLICKHOUSE_MAX_CONCURRENT_QUERIES: 8,
      CLICKHOUSE_QUEUE_SIZE: 100,
      CLICKHOUSE_QUEUE_TIMEOUT_MS: 10_000,
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: 1_000,
      OVERLOAD_MAX_HEAP_USED_BYTES: 0,
      ERASURE_KAFKA_TIMEOUT_MS: 10_000,
    });
    // 0 switches the overload checks off and means "no queue".
    expect(
      parseQueryConfig({
        API_KEYS: JSON.stringify([{ key_sha256: KEY, apps: ['*'] }]),
        CLICKHOUSE_QUEUE_SIZE: '0',
        OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      }),
    ).toMatchObject({ CLICKHOUSE_QUEUE_SIZE: 0, OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: 0 });
  });

  it('stops on a bad load limit, naming the variable', () => {
    const keys = JSON.stringify([{ key_sha256: KEY, apps: ['a'] }]);
    for (const [variable, value] of [
      ['RATE_LIMIT_MAX', '0'],
      ['RATE_LIMIT_WINDOW_MS', 'soon'],
      ['MAX_CONCURRENT_REQUESTS_PER_KEY', '-1'],
      ['MAX_CONCURRENT_EXPORTS_PER_KEY', '1.5'],
      ['CLICKHOUSE_MAX_CONCURRENT_QUERIES', '0'],
      ['CLICKHOUSE_QUEUE_SIZE', '-1'],
      ['CLICKHOUSE_QUEUE_TIMEOUT_MS', '0'],
      ['OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', 'x'],
      ['OVERLOAD_MAX_HEAP_USED_BYTES', '-5'],
      ['ERASURE_KAFKA_TIMEOUT_MS', '0'],
    ] as const) {
      expect(error({ API_KEYS: keys, [variable]: value }), variable).toMatch(
        new RegExp(`^  ${variable}: .*\\(got "${value.replace('.', '\\.')}"\\)$`, 'm'),
      );
    }
  });
});
