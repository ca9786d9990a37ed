// The connection variables for real clusters: each bad combination stops the
// service with a message naming the variable, and no secret is ever quoted.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  clickhouseShape,
  kafkaShape,
  parseEnv,
  shownValue,
  withoutUrlPassword,
} from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'optout-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const CERT = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const KEY = file('key.pem', '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
const NOT_PEM = file('notes.txt', 'not a certificate');
const shape = { ...kafkaShape, ...clickhouseShape };

/** The ConfigError's message for `env` (fails the test if parsing succeeds). */
function problems(env: Record<string, string>): string {
  try {
    parseEnv(shape, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('Kafka SASL variables', () => {
  it('default to no TLS and no SASL', () => {
    const config = parseEnv(shape, {});
    expect(config.KAFKA_SSL).toBe(false);
    expect(config.KAFKA_SASL_MECHANISM).toBeUndefined();
  });

  it('accept the mechanism in any case and treat empty values as not set', () => {
    const config = parseEnv(shape, {
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 'pw',
      KAFKA_SSL_CA_FILE: '',
    });
    expect(config.KAFKA_SASL_MECHANISM).toBe('scram-sha-512');
    expect(config.KAFKA_SSL_CA_FILE).toBeUndefined();
  });

  it('name the missing credentials of a mechanism', () => {
    const message = problems({ KAFKA_SASL_MECHANISM: 'plain' });
    expect(message).toMatch(/KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=plain/);
    expect(message).toMatch(/KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM=plain/);
  });

  it('refuse an unknown mechanism, and credentials without a mechanism', () => {
    expect(problems({ KAFKA_SASL_MECHANISM: 'gssapi' })).toMatch(/KAFKA_SASL_MECHANISM: Invalid option/);
    expect(problems({ KAFKA_SASL_USERNAME: 'svc' })).toMatch(
      /KAFKA_SASL_USERNAME: set, but KAFKA_SASL_MECHANISM is not/,
    );
  });

  it('need a token endpoint, a client id and a secret for OAUTHBEARER, the endpoint on https', () => {
    const message = problems({ KAFKA_SASL_MECHANISM: 'oauthbearer' });
    for (const name of ['KAFKA_SASL_OAUTHBEARER_TOKEN_URL', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'])
      expect(message).toContain(`${name}: required with KAFKA_SASL_MECHANISM=oauthbearer`);
    const oauth = {
      KAFKA_SASL_MECHANISM: 'oauthbearer',
      KAFKA_SASL_USERNAME: 'client',
      KAFKA_SASL_PASSWORD: 'secret',
    };
    expect(problems({ ...oauth, KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'http://idp.example.com/token' })).toMatch(
      /KAFKA_SASL_OAUTHBEARER_TOKEN_URL: must be https:\/\//,
    );
    expect(
      parseEnv(shape, { ...oauth, KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'http://127.0.0.1:8089/token' })
        .KAFKA_SASL_OAUTHBEARER_TOKEN_URL,
    ).toBe('http://127.0.0.1:8089/token');
    expect(
      problems({
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
        KAFKA_SASL_OAUTHBEARER_SCOPE: 'kafka',
      }),
    ).toMatch(/KAFKA_SASL_OAUTHBEARER_SCOPE: only used with KAFKA_SASL_MECHANISM=oauthbearer/);
  });
});

describe('Kafka TLS variables', () => {
  it('read a CA file and a client certificate pair', () => {
    const config = parseEnv(shape, {
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: CERT,
      KAFKA_SSL_CERT_FILE: CERT,
      KAFKA_SSL_KEY_FILE: KEY,
    });
    expect(config.KAFKA_SSL).toBe(true);
    expect(config.KAFKA_SSL_CA_FILE).toBe(CERT);
  });

  it('name an unreadable or wrong CA file', () => {
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'missing.pem') })).toMatch(
      /KAFKA_SSL_CA_FILE: cannot read .*missing\.pem \(ENOENT\)/,
    );
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: NOT_PEM })).toMatch(
      /KAFKA_SSL_CA_FILE: .*notes\.txt holds no PEM certificate/,
    );
    if (process.getuid?.() !== 0) {
      // root reads any file: the permission case only means something for other users.
      const locked = file('locked.pem', '-----BEGIN CERTIFICATE-----\n');
      chmodSync(locked, 0o000);
      expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: locked })).toMatch(/cannot read .*EACCES/);
    }
  });

  it('refuse TLS files without KAFKA_SSL=true, and half a client certificate', () => {
    expect(problems({ KAFKA_SSL_CA_FILE: CERT })).toMatch(
      /KAFKA_SSL_CA_FILE: set, but KAFKA_SSL is not true/,
    );
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: CERT })).toMatch(
      /KAFKA_SSL_KEY_FILE: required with KAFKA_SSL_CERT_FILE/,
    );
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_KEY_FILE: CERT, KAFKA_SSL_CERT_FILE: CERT })).toMatch(
      /KAFKA_SSL_KEY_FILE: .* holds no PEM private key/,
    );
  });
});

describe('ClickHouse TLS variables', () => {
  it('take a CA file with an https URL', () => {
    const config = parseEnv(shape, {
      CLICKHOUSE_URL: 'https://ch.example.com:8443',
      CLICKHOUSE_CA_FILE: CERT,
    });
    expect(config.CLICKHOUSE_CA_FILE).toBe(CERT);
  });

  it('refuse a CA file for plain http, an unreadable one, and a client certificate without a CA', () => {
    expect(problems({ CLICKHOUSE_CA_FILE: CERT })).toMatch(
      /CLICKHOUSE_CA_FILE: set, but CLICKHOUSE_URL is not https/,
    );
    expect(
      problems({ CLICKHOUSE_URL: 'https://ch:8443', CLICKHOUSE_CA_FILE: join(dir, 'nope.pem') }),
    ).toMatch(/CLICKHOUSE_CA_FILE: cannot read/);
    expect(
      problems({ CLICKHOUSE_URL: 'https://ch:8443', CLICKHOUSE_CERT_FILE: CERT, CLICKHOUSE_KEY_FILE: KEY }),
    ).toMatch(/CLICKHOUSE_CA_FILE: required with a client certificate/);
  });
});

describe('Schema Registry basic auth', () => {
  it('needs both halves and a URL, and one place for the credentials', () => {
    const url = { SCHEMA_REGISTRY_URL: 'https://registry.example.com' };
    expect(
      parseEnv(shape, { ...url, SCHEMA_REGISTRY_USER: 'u', SCHEMA_REGISTRY_PASSWORD: 'p' }),
    ).toMatchObject({
      SCHEMA_REGISTRY_USER: 'u',
      SCHEMA_REGISTRY_PASSWORD: 'p',
    });
    expect(problems({ ...url, SCHEMA_REGISTRY_USER: 'u' })).toMatch(
      /SCHEMA_REGISTRY_PASSWORD: required with SCHEMA_REGISTRY_USER/,
    );
    expect(problems({ SCHEMA_REGISTRY_USER: 'u', SCHEMA_REGISTRY_PASSWORD: 'p' })).toMatch(
      /SCHEMA_REGISTRY_USER: set, but SCHEMA_REGISTRY_URL is not/,
    );
    expect(
      problems({
        SCHEMA_REGISTRY_URL: 'https://a:b@registry.example.com',
        SCHEMA_REGISTRY_USER: 'u',
        SCHEMA_REGISTRY_PASSWORD: 'p',
      }),
    ).toMatch(/SCHEMA_REGISTRY_USER: set, but SCHEMA_REGISTRY_URL has credentials too/);
  });
});

describe('secrets in configuration errors', () => {
  it('never quote a password, a client secret or the password of a URL', () => {
    const message = problems({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_PASSWORD: 'kafka-pw-7f3a',
      CLICKHOUSE_URL: 'ftp://writer:ch-pw-91c2@ch.example.com',
      SCHEMA_REGISTRY_URL: 'nope://u:sr-pw-5d1e@x',
    });
    expect(message).toMatch(/CLICKHOUSE_URL: must be an http\(s\) URL \(got "ftp:\/\/writer:\*\*\*@ch/);
    expect(message).toMatch(/SCHEMA_REGISTRY_URL: must be an http\(s\) URL/);
    for (const secret of ['kafka-pw-7f3a', 'ch-pw-91c2', 'sr-pw-5d1e']) expect(message).not.toContain(secret);
  });

  it('hide every *_PASSWORD / *_SECRET value and strip URL passwords', () => {
    expect(shownValue('KAFKA_SASL_PASSWORD', 'x')).toBe('(set; value hidden)');
    expect(shownValue('OAUTH_CLIENT_SECRET', 'x')).toBe('(set; value hidden)');
    expect(shownValue('KAFKA_BROKERS', 'a:1')).toBe('(got "a:1")');
    expect(shownValue('KAFKA_SASL_PASSWORD', undefined)).toBe('(not set)');
    expect(withoutUrlPassword('https://u:p@host/x')).toBe('https://u:***@host/x');
    expect(withoutUrlPassword('https://host/x?a=b@c')).toBe('https://host/x?a=b@c');
  });
});
