// Kafka over TLS and SASL against a real broker: the local stack's SASL_SSL
// listener (its own CA, SCRAM users made by the broker's StorageTool). Every
// mechanism of SPEC 7 through the project's own config parsing and client, a
// client certificate, an OAUTHBEARER token refreshed before it expires, and
// the failures an operator meets first: a wrong password, an unknown CA.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaShape, parseEnv } from '@optout/config';
import {
  createAdmin,
  createKafka,
  createRecordProducer,
  type KafkaConnection,
  kafkaConnection,
} from '@optout/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../support/log-capture.ts';
import { uniqueName } from '../support/names.ts';
import { type SecureStack, startSecureStack } from '../support/secure-stack.ts';
import { startTokenEndpoint, type TokenEndpoint, unsecuredJwt } from '../support/token-endpoint.ts';

const OAUTH_CLIENT = 'optout-test';
const OAUTH_SECRET = 'oauth-client-secret-5e0c';

let stack: SecureStack;
let tokens: TokenEndpoint;
const scratch = mkdtempSync(join(tmpdir(), 'optout-sasl-test-'));

beforeAll(async () => {
  stack = await startSecureStack({ clickhouse: false });
  // 30 s tokens: the provider refreshes at 15 s, kafkajs re-authenticates at 20 s
  // (10 s before the session, capped at the token's expiry by the broker, ends).
  tokens = await startTokenEndpoint({
    clientId: OAUTH_CLIENT,
    clientSecret: OAUTH_SECRET,
    lifetimeSeconds: 30,
  });
}, 240_000);

afterAll(async () => {
  await tokens?.close();
  await stack?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** What an operator would set, parsed and checked like a service does. */
function connectionFrom(env: Record<string, string>): KafkaConnection {
  return kafkaConnection(
    parseEnv(kafkaShape, {
      KAFKA_BROKERS: stack.kafka.KAFKA_BROKERS,
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: stack.caFile,
      ...env,
    }),
  );
}

const scram = (mechanism: string, password = stack.kafka.KAFKA_SASL_PASSWORD) => ({
  KAFKA_SASL_MECHANISM: mechanism,
  KAFKA_SASL_USERNAME: stack.kafka.KAFKA_SASL_USERNAME,
  KAFKA_SASL_PASSWORD: password,
});

/** Creates a topic, writes one record with acks=all, reads its end offset, deletes the topic. */
async function roundTrip(connection: KafkaConnection): Promise<void> {
  const kafka = createKafka({ ...connection, clientId: uniqueName('sasl-test') });
  const admin = createAdmin(kafka);
  await admin.connect();
  const topic = uniqueName('sasl');
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = createRecordProducer(kafka, { idempotent: false });
    await producer.connect();
    await producer.send(topic, [{ key: 'k', value: 'v' }]);
    await producer.disconnect();
    expect((await admin.fetchTopicOffsets(topic))[0]?.high).toBe('1');
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}

describe('Kafka over SASL_SSL', () => {
  it.each(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'])('%s: topics, writes and reads', async (mechanism) => {
    await roundTrip(connectionFrom(scram(mechanism)));
  });

  it('OAUTHBEARER: a token from the endpoint, refreshed before it expires, without a failed request', {
    timeout: 120_000,
  }, async () => {
    const connection = connectionFrom({
      KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
      KAFKA_SASL_USERNAME: OAUTH_CLIENT,
      KAFKA_SASL_PASSWORD: OAUTH_SECRET,
      KAFKA_SASL_OAUTHBEARER_TOKEN_URL: tokens.url,
    });
    const before = tokens.issued;
    await roundTrip(connection);
    expect(tokens.issued).toBeGreaterThan(before);

    // One long-lived client past its first token's refresh point: the broker ends
    // a session when its token expires, so without a refresh the sends would fail.
    const admin = createAdmin(createKafka({ ...connection, clientId: uniqueName('oauth-long') }));
    await admin.connect();
    const first = tokens.issued;
    const deadline = Date.now() + 90_000;
    let requests = 0;
    try {
      while (tokens.issued < first + 1 && Date.now() < deadline) {
        await admin.listTopics(); // throws if the session was not renewed
        requests++;
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await admin.disconnect();
    }
    expect(tokens.issued).toBeGreaterThanOrEqual(first + 1);
    // 15 s at least (the refresh point), so the session has been renewed on the same connection.
    expect(requests).toBeGreaterThan(20);
  });

  it('OAUTHBEARER: the broker cuts off a client that keeps an expired token (what the refresh is for)', async () => {
    const stale = unsecuredJwt(OAUTH_CLIENT, 2);
    const admin = createAdmin(
      createKafka({
        brokers: [stack.kafka.KAFKA_BROKERS],
        tls: connectionFrom({}).tls,
        sasl: { mechanism: 'oauthbearer', tokenProvider: { token: async () => stale } },
        clientId: uniqueName('oauth-stale'),
        retries: 0,
      }),
    );
    try {
      await admin.connect();
      await new Promise((r) => setTimeout(r, 3000));
      await expect(admin.listTopics()).rejects.toThrow();
    } finally {
      await admin.disconnect().catch(() => {});
    }
  });

  it('a client certificate from the CA is accepted; one from another CA is refused', async () => {
    await roundTrip(
      connectionFrom({
        ...scram('SCRAM-SHA-512'),
        KAFKA_SSL_CERT_FILE: stack.clientCertFile,
        KAFKA_SSL_KEY_FILE: stack.clientKeyFile,
      }),
    );
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: scratch, stdio: 'ignore' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run([
      'req',
      '-x509',
      '-new',
      ...ec,
      '-keyout',
      'other-ca.key',
      '-out',
      'other-ca.pem',
      '-subj',
      '/CN=other',
    ]);
    run(['req', '-new', ...ec, '-keyout', 'intruder.key', '-out', 'intruder.csr', '-subj', '/CN=intruder']);
    run([
      'x509',
      '-req',
      '-in',
      'intruder.csr',
      '-CA',
      'other-ca.pem',
      '-CAkey',
      'other-ca.key',
      '-CAcreateserial',
      '-out',
      'intruder.pem',
    ]);
    const intruder = connectionFrom({
      ...scram('SCRAM-SHA-512'),
      KAFKA_SSL_CERT_FILE: join(scratch, 'intruder.pem'),
      KAFKA_SSL_KEY_FILE: join(scratch, 'intruder.key'),
    });
    const admin = createAdmin(createKafka({ ...intruder, clientId: 'intruder', retries: 0 }));
    await expect(admin.connect()).rejects.toThrow(/certificate unknown|alert/i);
    await admin.disconnect().catch(() => {});
  });

  it('a wrong password fails at once with the broker reason, without retries, and no secret is logged', async () => {
    const wrong = 'not-the-password-0b4f';
    const logs = captureLogs();
    // The service default of 8 retries: the point is that none is used.
    const admin = createAdmin(
      createKafka({
        ...connectionFrom(scram('SCRAM-SHA-512', wrong)),
        clientId: 'wrong-password',
        logger: logs.logger,
      }),
    );
    const error = (await admin.connect().catch((e: unknown) => e)) as Error;
    await admin.disconnect().catch(() => {});
    expect(error.name).toBe('KafkaJSSASLAuthenticationError');
    expect(error.message).toMatch(/SASL SCRAM SHA512 authentication failed: .*invalid credentials/);
    const lines = logs.lines();
    const retries = lines.map((line) => JSON.parse(line).retryCount).filter((n) => n !== undefined);
    expect(retries.every((n) => n === 0)).toBe(true);
    const everything = [error.message, error.stack ?? '', JSON.stringify(error), ...lines].join('\n');
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(stack.kafka.KAFKA_SASL_PASSWORD);
  });

  it('a broker certificate its CA file does not cover: a certificate error', async () => {
    // KAFKA_SSL=true without KAFKA_SSL_CA_FILE: Node's public CAs, which never signed the stack's.
    const connection = kafkaConnection(
      parseEnv(kafkaShape, {
        KAFKA_BROKERS: stack.kafka.KAFKA_BROKERS,
        KAFKA_SSL: 'true',
        ...scram('PLAIN'),
      }),
    );
    const admin = createAdmin(createKafka({ ...connection, clientId: 'unknown-ca', retries: 0 }));
    await expect(admin.connect()).rejects.toThrow(/self-signed certificate|unable to verify/);
    await admin.disconnect().catch(() => {});
  });
});
