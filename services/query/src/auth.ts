// API keys (SPEC 5): `Authorization: Bearer <key>`. Only SHA-256 digests are
// configured; the presented key is hashed and compared with every stored digest
// in constant time, so neither the raw keys nor timing reveal which key is close.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyEntry } from './config.ts';
import { ApiError } from './errors.ts';

export interface Principal {
  /**
   * Which configured key this is: its SHA-256 (already in the configuration,
   * so not a secret). Load limits count per id; it is never logged either.
   */
  id: string;
  /** The apps the key grants; '*' grants every app. */
  apps: ReadonlySet<string>;
  admin: boolean;
}

export function sha256(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export class ApiKeyStore {
  private readonly entries: { digest: Buffer; principal: Principal }[];

  constructor(keys: readonly ApiKeyEntry[]) {
    this.entries = keys.map((k) => ({
      digest: Buffer.from(k.key_sha256, 'hex'),
      principal: { id: k.key_sha256, apps: new Set(k.apps), admin: k.admin },
    }));
  }

  /** The principal of a raw key, or undefined. Compares against all entries (no early exit). */
  lookup(key: string): Principal | undefined {
    const digest = sha256(key);
    let found: Principal | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest) && found === undefined) found = entry.principal;
    }
    return found;
  }

  /** The caller of a request, from its Authorization header; 401 when missing or unknown. */
  authenticate(authorization: string | undefined): Principal {
    const key = bearerKey(authorization);
    if (key === undefined) {
      throw new ApiError('unauthorized', 'missing API key: send Authorization: Bearer <key>');
    }
    const principal = this.lookup(key);
    if (!principal) throw new ApiError('unauthorized', 'unknown API key');
    return principal;
  }

  /** The principal of a request's header, or undefined (for load limits, which never refuse with 401). */
  identify(authorization: string | undefined): Principal | undefined {
    const key = bearerKey(authorization);
    return key === undefined ? undefined : this.lookup(key);
  }
}

function bearerKey(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return match?.[1] || undefined;
}

/** 403 unless the key grants `appId` (and, for erasure, is an admin key). */
export function authorize(principal: Principal, appId: string, options: { admin?: boolean } = {}): void {
  if (!principal.apps.has('*') && !principal.apps.has(appId)) {
    throw new ApiError('forbidden', `this API key does not grant app ${JSON.stringify(appId)}`);
  }
  if (options.admin && !principal.admin) {
    throw new ApiError('forbidden', 'this operation needs an admin API key');
  }
}
