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
});
