// A bad combination of connection variables stops a service before it
// connects anywhere: exit code 2 and a message naming the variable, never the
// value of a secret. Run as processes (`npm run ingest` / `npm run query`),
// exactly as an operator meets them; no broker or database is needed.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { apiKeysJson } from '../query/harness.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET = 'do-not-print-me-7d21';

function run(service: 'ingest' | 'query', env: Record<string, string>) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, `services/${service}/src/main.ts`)],
    {
      cwd: repoRoot,
      // Nothing inherited but what node needs: the variables under test are the only ones set.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

const query = (env: Record<string, string>) => run('query', { API_KEYS: apiKeysJson('app-1'), ...env });

describe('start-up with bad connection variables', () => {
  it('ingest: a SASL mechanism without its user names KAFKA_SASL_USERNAME', () => {
    const { code, output } = run('ingest', {
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_PASSWORD: SECRET,
    });
    expect(code).toBe(2);
    expect(output).toMatch(/KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=scram-sha-512/);
    expect(output).not.toContain(SECRET);
  });

  it('ingest: an unreadable CA file names KAFKA_SSL_CA_FILE', () => {
    const { code, output } = run('ingest', {
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem',
      CLICKHOUSE_PASSWORD: SECRET,
    });
    expect(code).toBe(2);
    expect(output).toMatch(/KAFKA_SSL_CA_FILE: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/);
    expect(output).not.toContain(SECRET);
  });

  it('query: a ClickHouse CA file for a plain-http URL, and OAUTHBEARER without a token endpoint', () => {
    const { code, output } = query({
      CLICKHOUSE_CA_FILE: join(repoRoot, 'README.md'),
      KAFKA_SASL_MECHANISM: 'oauthbearer',
      KAFKA_SASL_USERNAME: 'client',
      KAFKA_SASL_PASSWORD: SECRET,
    });
    expect(code).toBe(2);
    expect(output).toMatch(/CLICKHOUSE_CA_FILE: set, but CLICKHOUSE_URL is not https/);
    expect(output).toMatch(
      /KAFKA_SASL_OAUTHBEARER_TOKEN_URL: required with KAFKA_SASL_MECHANISM=oauthbearer/,
    );
    expect(output).not.toContain(SECRET);
  });

  it('query: Schema Registry credentials without a registry; a password inside a bad URL', () => {
    const registry = query({ SCHEMA_REGISTRY_USER: 'svc', SCHEMA_REGISTRY_PASSWORD: SECRET });
    expect(registry.code).toBe(2);
    expect(registry.output).toMatch(/SCHEMA_REGISTRY_USER: set, but SCHEMA_REGISTRY_URL is not/);
    const url = query({ CLICKHOUSE_URL: `ftp://writer:${SECRET}@ch.example.com` });
    expect(url.code).toBe(2);
    expect(url.output).toMatch(/CLICKHOUSE_URL: must be an http\(s\) URL \(got "ftp:\/\/writer:\*\*\*@/);
    for (const { output } of [registry, url]) expect(output).not.toContain(SECRET);
  });
});
