import { describe, expect, it } from 'vitest';
import { ApiKeyStore, authorize, sha256 } from './auth.ts';
import { ApiError } from './errors.ts';

const hex = (key: string) => sha256(key).toString('hex');

const store = new ApiKeyStore([
  { key_sha256: hex('reader-key'), apps: ['app-1'], admin: false },
  { key_sha256: hex('admin-key').toUpperCase().toLowerCase(), apps: ['*'], admin: true },
]);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ApiError ? `${error.status} ${error.code}` : 'other';
  }
  return undefined;
}

describe('ApiKeyStore.authenticate', () => {
  it('accepts a known key given as Bearer', () => {
    const principal = store.authenticate('Bearer reader-key');
    expect([...principal.apps]).toEqual(['app-1']);
    expect(principal.admin).toBe(false);
    expect(store.authenticate('bearer admin-key').admin).toBe(true);
  });

  it('refuses a missing header, another scheme, an empty or unknown key with 401', () => {
    expect(codeOf(() => store.authenticate(undefined))).toBe('401 unauthorized');
    expect(codeOf(() => store.authenticate('Basic cmVhZGVyLWtleQ=='))).toBe('401 unauthorized');
    expect(codeOf(() => store.authenticate('Bearer '))).toBe('401 unauthorized');
    expect(codeOf(() => store.authenticate('Bearer reader-key2'))).toBe('401 unauthorized');
    expect(codeOf(() => store.authenticate('Bearer reader-key extra'))).toBe('401 unauthorized');
  });

  it('matches on the hash, not on the stored text', () => {
    // The stored digest itself is not a key.
    expect(codeOf(() => store.authenticate(`Bearer ${hex('reader-key')}`))).toBe('401 unauthorized');
  });
});

describe('authorize', () => {
  it('grants listed apps and * apps', () => {
    expect(codeOf(() => authorize(store.authenticate('Bearer reader-key'), 'app-1'))).toBeUndefined();
    expect(codeOf(() => authorize(store.authenticate('Bearer admin-key'), 'any-app'))).toBeUndefined();
  });

  it('refuses other apps with 403', () => {
    expect(codeOf(() => authorize(store.authenticate('Bearer reader-key'), 'app-2'))).toBe('403 forbidden');
  });

  it('refuses admin operations to non-admin keys with 403', () => {
    const reader = store.authenticate('Bearer reader-key');
    expect(codeOf(() => authorize(reader, 'app-1', { admin: true }))).toBe('403 forbidden');
    expect(
      codeOf(() => authorize(store.authenticate('Bearer admin-key'), 'app-1', { admin: true })),
    ).toBeUndefined();
  });
});
