// An OAuth 2 token endpoint on 127.0.0.1 for the OAUTHBEARER tests: it grants
// client-credentials requests from one client and issues the unsigned JWTs
// ("alg": "none", claims sub and exp) that the local broker's unsecured
// validator accepts. A real identity provider signs its tokens; what is under
// test here is the client side: asking, presenting, refreshing.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenEndpoint {
  url: string;
  /** Tokens issued so far. */
  readonly issued: number;
  close(): Promise<void>;
}

export function unsecuredJwt(subject: string, lifetimeSeconds: number): string {
  const now = Date.now() / 1000;
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ sub: subject, iat: now, exp: now + lifetimeSeconds })}.`;
}

export async function startTokenEndpoint(options: {
  clientId: string;
  clientSecret: string;
  lifetimeSeconds: number;
}): Promise<TokenEndpoint> {
  let issued = 0;
  const expected = `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const reply = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/token') return reply(404, { error: 'not_found' });
      if (req.headers.authorization !== expected) return reply(401, { error: 'invalid_client' });
      issued++;
      reply(200, {
        access_token: unsecuredJwt(options.clientId, options.lifetimeSeconds),
        token_type: 'Bearer',
        expires_in: options.lifetimeSeconds,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    get issued() {
      return issued;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
