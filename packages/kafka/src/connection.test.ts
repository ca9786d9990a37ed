// From the KAFKA_* variables to a connection description: files read, SASL
// options built, and nothing secret in its printable form.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaShape, parseEnv } from '@optout/config';
import { afterAll, describe, expect, it } from 'vitest';
import { describeConnection, kafkaConnection } from './connection.ts';

const dir = mkdtempSync(join(tmpdir(), 'optout-kafka-conn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CA = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n';
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, CA);

describe('kafkaConnection', () => {
  it('is plaintext without SASL by default', () => {
    const connection = kafkaConnection(parseEnv(kafkaShape, {}));
    expect(connection).toEqual({ brokers: ['127.0.0.1:9092'], tls: undefined, sasl: undefined });
    expect(describeConnection(connection)).toBe('127.0.0.1:9092 (plaintext, no SASL)');
  });

  it('reads the CA file and builds SCRAM credentials', () => {
    const connection = kafkaConnection(
      parseEnv(kafkaShape, {
        KAFKA_BROKERS: 'b1:9094,b2:9094',
        KAFKA_SSL: 'true',
        KAFKA_SSL_CA_FILE: caFile,
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'optout',
        KAFKA_SASL_PASSWORD: 'pw-3c8e',
      }),
    );
    expect(connection.tls).toEqual({ ca: CA });
    expect(connection.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'optout', password: 'pw-3c8e' });
    expect(describeConnection(connection)).toBe('b1:9094,b2:9094 (TLS, SASL SCRAM-SHA-512)');
    expect(describeConnection(connection)).not.toContain('pw-3c8e');
  });

  it('uses Node CA store when TLS has no files, and a token provider for OAUTHBEARER', () => {
    const connection = kafkaConnection(
      parseEnv(kafkaShape, {
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_SASL_USERNAME: 'client',
        KAFKA_SASL_PASSWORD: 'secret',
        KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'https://idp.example.com/token',
      }),
    );
    expect(connection.tls).toBe(true);
    expect(connection.sasl?.mechanism).toBe('oauthbearer');
    expect(connection.sasl && 'tokenProvider' in connection.sasl).toBe(true);
  });
});
