// The OAUTHBEARER token cache against a small local token endpoint: what it
// sends, when it refreshes, and what its errors say (never the secret).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientCredentialsTokenProvider, jwtExpiryMs, OAuthTokenError } from './oauth.ts';

const SECRET = 'client-secret-4d9b';
interface Seen {
  authorization: string | undefined;
  body: string;
}
let seen: Seen[] = [];
let reply: { status: number; body: unknown } = { status: 200, body: {} };
let issued = 0;
let server: Server;
let tokenUrl: string;

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let data = '';
    req.on('data', (chunk) => {
      data += chunk;
    });
    req.on('end', () => resolve(data));
  });

beforeAll(async () => {
  server = createServer(async (req, res) => {
    seen.push({ authorization: req.headers.authorization, body: await readBody(req) });
    issued++;
    const body =
      reply.status === 200 &&
      typeof reply.body === 'object' &&
      reply.body !== null &&
      !('access_token' in reply.body)
        ? { access_token: `token-${issued}`, token_type: 'Bearer', ...reply.body }
        : reply.body;
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
  reply = { status: 200, body: { expires_in: 100 } };
});

function provider(clock: { t: number }, scope?: string) {
  return clientCredentialsTokenProvider({
    tokenUrl,
    clientId: 'optout-ingest',
    clientSecret: SECRET,
    scope,
    now: () => clock.t,
  });
}

describe('client-credentials token provider', () => {
  it('asks with the client credentials grant and basic auth', async () => {
    const token = await provider({ t: 0 }, 'kafka').token();
    expect(token).toMatch(/^token-\d+$/);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.authorization).toBe(`Basic ${Buffer.from(`optout-ingest:${SECRET}`).toString('base64')}`);
    expect(new URLSearchParams(seen[0]!.body).get('grant_type')).toBe('client_credentials');
    expect(new URLSearchParams(seen[0]!.body).get('scope')).toBe('kafka');
  });

  it('reuses a token until 80% of its lifetime, then refreshes it', async () => {
    const clock = { t: 1_000_000 };
    const tokens = provider(clock);
    const first = await tokens.token();
    clock.t += 79_000; // expires_in 100 s
    expect(await tokens.token()).toBe(first);
    clock.t += 2_000;
    const second = await tokens.token();
    expect(second).not.toBe(first);
    expect(seen).toHaveLength(2);
  });

  it('refreshes a short-lived token 15 s before it expires', async () => {
    reply = { status: 200, body: { expires_in: 30 } };
    const clock = { t: 0 };
    const tokens = provider(clock);
    await tokens.token();
    clock.t = 14_000;
    await tokens.token();
    expect(seen).toHaveLength(1);
    clock.t = 15_000;
    await tokens.token();
    expect(seen).toHaveLength(2);
  });

  it('makes one request for concurrent callers', async () => {
    const tokens = provider({ t: 0 });
    const all = await Promise.all([tokens.token(), tokens.token(), tokens.token()]);
    expect(new Set(all).size).toBe(1);
    expect(seen).toHaveLength(1);
  });

  it('falls back to the JWT exp claim when there is no expires_in', async () => {
    const exp = 2_000; // seconds
    const jwt = [
      Buffer.from('{"alg":"none"}').toString('base64url'),
      Buffer.from(JSON.stringify({ sub: 'svc', exp })).toString('base64url'),
      '',
    ].join('.');
    expect(jwtExpiryMs(jwt)).toBe(2_000_000);
    expect(jwtExpiryMs('opaque-token')).toBeUndefined();
    reply = { status: 200, body: { access_token: jwt, token_type: 'bearer' } };
    const clock = { t: 1_000_000 };
    const tokens = provider(clock);
    expect(await tokens.token()).toBe(jwt);
    clock.t = 1_700_000; // 70% of the way to exp
    await tokens.token();
    expect(seen).toHaveLength(1);
    clock.t = 1_900_000;
    await tokens.token();
    expect(seen).toHaveLength(2);
  });

  it('says which endpoint refused and whether to retry, never the secret', async () => {
    reply = { status: 401, body: { error: 'invalid_client' } };
    const error = await provider({ t: 0 })
      .token()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthTokenError);
    expect((error as OAuthTokenError).retriable).toBe(false);
    expect(String(error)).toMatch(/OAuth token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth\/token: HTTP 401/);
    expect(String(error)).toContain('invalid_client');
    expect(String(error)).not.toContain(SECRET);

    reply = { status: 503, body: {} };
    const outage = await provider({ t: 0 })
      .token()
      .catch((e: unknown) => e);
    expect((outage as OAuthTokenError).retriable).toBe(true);
  });

  it('keeps using a still-valid token while the endpoint is down', async () => {
    const clock = { t: 0 };
    const tokens = provider(clock);
    const first = await tokens.token();
    reply = { status: 503, body: {} };
    clock.t = 90_000; // past the refresh point, before expiry
    expect(await tokens.token()).toBe(first);
    clock.t = 101_000; // expired: nothing valid left
    await expect(tokens.token()).rejects.toThrow(/HTTP 503/);
  });

  it('refuses an answer without a bearer token', async () => {
    reply = { status: 200, body: { access_token: 'x', token_type: 'mac' } };
    await expect(provider({ t: 0 }).token()).rejects.toThrow(/token_type mac/);
    reply = { status: 200, body: { access_token: '' } };
    await expect(provider({ t: 0 }).token()).rejects.toThrow(/no access_token/);
  });
});
