// The stack's settings and generated broker config, without starting anything.
import { afterEach, describe, expect, it } from 'vitest';
import { serverProperties } from './kafka-config.ts';
import { DEFAULT_KAFKA_VERSION, kafkaLibsDir, releaseOf, settingsFromEnv } from './settings.ts';

const saved = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

describe('stack settings', () => {
  it('default to Kafka 4.x and no secure listener', () => {
    delete process.env.STACK_KAFKA_VERSION;
    delete process.env.STACK_KAFKA_SASL_SSL_PORT;
    delete process.env.STACK_CLICKHOUSE_HTTPS_PORT;
    const s = settingsFromEnv();
    expect(s.kafkaVersion).toBe(DEFAULT_KAFKA_VERSION);
    expect(releaseOf(s.kafkaVersion)[0]).toBe(4);
    expect(s.kafkaSaslSslPort).toBeUndefined();
    expect(s.clickhouseHttpsPort).toBeUndefined();
  });

  it('take the Kafka version and the secure ports from the environment, naming a bad one', () => {
    process.env.STACK_KAFKA_VERSION = '3.9.1';
    process.env.STACK_KAFKA_SASL_SSL_PORT = '19094';
    const s = settingsFromEnv();
    expect(s.kafkaVersion).toBe('3.9.1');
    expect(s.kafkaSaslSslPort).toBe(19094);
    expect(kafkaLibsDir('4.4.0')).toMatch(/\.local\/kafka-libs\/4\.4\.0$/);
    process.env.STACK_KAFKA_VERSION = 'latest';
    expect(() => settingsFromEnv()).toThrow(/STACK_KAFKA_VERSION must be a release/);
    process.env.STACK_KAFKA_VERSION = '4.4.0';
    process.env.STACK_KAFKA_SASL_SSL_PORT = 'x';
    expect(() => settingsFromEnv()).toThrow(/STACK_KAFKA_SASL_SSL_PORT must be a port number/);
  });
});

describe('server.properties', () => {
  const layout = { dir: '/state/kafka', port: 9092, controllerPort: 9093 };

  it('has only loopback PLAINTEXT without the secure listener', () => {
    const props = serverProperties(layout);
    expect(props).toMatch(/^listeners=PLAINTEXT:\/\/127\.0\.0\.1:9092,CONTROLLER:\/\/127\.0\.0\.1:9093$/m);
    expect(props).not.toContain('sasl.enabled.mechanisms');
  });

  it('adds a loopback SASL_SSL listener with every mechanism and quotes PLAIN passwords for JAAS', () => {
    const props = serverProperties({
      ...layout,
      saslSsl: {
        port: 9094,
        keystore: '/state/tls/server.p12',
        keystorePassword: 'ks',
        truststore: '/state/tls/ca.pem',
        plainUsers: { optout: 'a"b\\c' },
      },
    });
    expect(props).toMatch(/^listeners=.*,SASL_SSL:\/\/127\.0\.0\.1:9094$/m);
    expect(props).toMatch(
      /^advertised\.listeners=PLAINTEXT:\/\/127\.0\.0\.1:9092,SASL_SSL:\/\/127\.0\.0\.1:9094$/m,
    );
    expect(props).toContain('sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN,OAUTHBEARER');
    expect(props).toContain('PlainLoginModule required user_optout="a\\"b\\\\c";');
    expect(props).toContain('listener.name.sasl_ssl.ssl.keystore.location=/state/tls/server.p12');
  });
});
