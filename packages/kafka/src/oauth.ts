// SASL/OAUTHBEARER tokens from an OAuth 2 token endpoint (client-credentials
// grant, RFC 6749 4.4), as Kafka's own Java client gets them.
//
// kafkajs asks for a token each time it (re)authenticates a connection; it
// re-authenticates before the session the broker granted ends (KIP-368), and
// the broker caps that session at the token's expiry. So the cache here hands
// out a token until 80% of its lifetime has passed, or until only 15 s are left
// if that comes first, and then fetches a new one: a connection never presents
// a token about to expire, and the endpoint is asked once per lifetime, not once
// per connection. (kafkajs re-authenticates before every request once less than
// its reauthenticationThreshold, 10 s, is left of a session: the 15 s keep a
// fresh token ahead of that.)
//
// The client secret goes only into the Authorization header of the request;
// errors name the endpoint and the HTTP status, never the secret or the token.

export interface OAuthClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string | undefined;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
  /** Share of a token's lifetime after which it is refreshed (default 0.8). */
  refreshAt?: number;
  /** Refreshed at the latest when this much of its lifetime is left, ms (default 15 s). */
  minRemainingMs?: number;
  /** Clock, ms (tests). */
  now?: () => number;
}

export interface OAuthTokenProvider {
  /** A token valid for a while yet; fetches (once, for all concurrent callers) when needed. */
  token(): Promise<string>;
}

/**
 * The endpoint refused or failed. `retriable` is read by kafkajs' retry logic:
 * a 4xx (wrong client id or secret) is final, a network error or 5xx is not.
 */
export class OAuthTokenError extends Error {
  override name = 'OAuthTokenError';
  constructor(
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

/** Used when the endpoint gives neither expires_in nor a JWT exp: refresh often rather than late. */
const UNKNOWN_LIFETIME_MS = 60_000;

interface CachedToken {
  value: string;
  refreshAtMs: number;
  expiresAtMs: number;
}

/** The `exp` claim (seconds) of a JWT, if the token is one. */
export function jwtExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function endpointName(tokenUrl: string): string {
  const url = new URL(tokenUrl);
  url.username = '';
  url.password = '';
  url.search = '';
  return url.toString();
}

export function clientCredentialsTokenProvider(options: OAuthClientCredentials): OAuthTokenProvider {
  const now = options.now ?? Date.now;
  const share = options.refreshAt ?? 0.8;
  const minRemainingMs = options.minRemainingMs ?? 15_000;
  const endpoint = endpointName(options.tokenUrl);
  // Java's client does not URL-encode the pair (sasl.oauthbearer.header.urlencode=false):
  // identity providers configured for it expect the same header.
  const authorization = `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`;
  let cached: CachedToken | undefined;
  let pending: Promise<CachedToken> | undefined;

  async function fetchToken(): Promise<CachedToken> {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (options.scope) body.set('scope', options.scope);
    const askedAt = now();
    let response: Response;
    try {
      response = await fetch(options.tokenUrl, {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new OAuthTokenError(`OAuth token endpoint ${endpoint}: ${(error as Error).message}`, true);
    }
    if (!response.ok) {
      // The error body of an identity provider says why (invalid_client, ...); cut it short.
      const detail = (await response.text().catch(() => '')).slice(0, 200);
      const retriable = response.status >= 500 || response.status === 429;
      throw new OAuthTokenError(
        `OAuth token endpoint ${endpoint}: HTTP ${response.status} ${detail}`.trim(),
        retriable,
      );
    }
    const json = (await response.json().catch(() => ({}))) as {
      access_token?: unknown;
      expires_in?: unknown;
      token_type?: unknown;
    };
    if (typeof json.access_token !== 'string' || json.access_token === '')
      throw new OAuthTokenError(`OAuth token endpoint ${endpoint}: no access_token in the answer`, false);
    if (typeof json.token_type === 'string' && json.token_type.toLowerCase() !== 'bearer')
      throw new OAuthTokenError(`OAuth token endpoint ${endpoint}: token_type ${json.token_type}`, false);
    const expiresIn = Number(json.expires_in);
    const expiresAtMs =
      Number.isFinite(expiresIn) && expiresIn > 0
        ? askedAt + expiresIn * 1000
        : (jwtExpiryMs(json.access_token) ?? askedAt + UNKNOWN_LIFETIME_MS);
    const lifetimeMs = expiresAtMs - askedAt;
    return {
      value: json.access_token,
      refreshAtMs: askedAt + Math.max(0, Math.min(lifetimeMs * share, lifetimeMs - minRemainingMs)),
      expiresAtMs,
    };
  }

  return {
    async token() {
      const at = now();
      if (cached && at < cached.refreshAtMs) return cached.value;
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      try {
        cached = await pending;
        return cached.value;
      } catch (error) {
        // The endpoint is down but the token in hand is still valid: use it, ask again next time.
        if (cached && now() < cached.expiresAtMs) return cached.value;
        throw error;
      }
    },
  };
}
