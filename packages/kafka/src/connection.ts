// Where the brokers are and how to talk to them (TLS, SASL), from the KAFKA_*
// variables of SPEC 7. @optout/config has already checked how they combine and
// that the files are readable; this reads the files once, at start-up.
//
//   createKafka({ ...kafkaConnection(config), clientId, logger })
import { readFileSync } from 'node:fs';
import type { KafkaConfig } from '@optout/config';
import { clientCredentialsTokenProvider, type OAuthTokenProvider } from './oauth.ts';

/** PEM text; `true` in KafkaConnection.tls means TLS with Node's CA store and no client certificate. */
export interface KafkaTls {
  ca?: string;
  cert?: string;
  key?: string;
  passphrase?: string;
}

export type KafkaSasl =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | { mechanism: 'oauthbearer'; tokenProvider: OAuthTokenProvider };

export interface KafkaConnection {
  brokers: string[];
  tls?: KafkaTls | true | undefined;
  sasl?: KafkaSasl | undefined;
}

/** The variables kafkaConnection reads: any service config that spreads kafkaShape has them. */
export type KafkaConnectionConfig = Pick<
  KafkaConfig,
  | 'KAFKA_BROKERS'
  | 'KAFKA_SSL'
  | 'KAFKA_SSL_CA_FILE'
  | 'KAFKA_SSL_CERT_FILE'
  | 'KAFKA_SSL_KEY_FILE'
  | 'KAFKA_SSL_KEY_PASSWORD'
  | 'KAFKA_SASL_MECHANISM'
  | 'KAFKA_SASL_USERNAME'
  | 'KAFKA_SASL_PASSWORD'
  | 'KAFKA_SASL_OAUTHBEARER_TOKEN_URL'
  | 'KAFKA_SASL_OAUTHBEARER_SCOPE'
>;

const read = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path, 'utf8'));

function tlsOf(config: KafkaConnectionConfig): KafkaTls | true | undefined {
  if (!config.KAFKA_SSL) return undefined;
  const tls: KafkaTls = {};
  const ca = read(config.KAFKA_SSL_CA_FILE);
  const cert = read(config.KAFKA_SSL_CERT_FILE);
  const key = read(config.KAFKA_SSL_KEY_FILE);
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  if (config.KAFKA_SSL_KEY_PASSWORD !== undefined) tls.passphrase = config.KAFKA_SSL_KEY_PASSWORD;
  return Object.keys(tls).length > 0 ? tls : true;
}

/** Thrown only for a config that skipped parseEnv's rules (built by hand). */
function missing(variable: string): never {
  throw new Error(`${variable} is required with KAFKA_SASL_MECHANISM`);
}

function saslOf(config: KafkaConnectionConfig): KafkaSasl | undefined {
  const mechanism = config.KAFKA_SASL_MECHANISM;
  if (mechanism === undefined) return undefined;
  const username = config.KAFKA_SASL_USERNAME ?? missing('KAFKA_SASL_USERNAME');
  const password = config.KAFKA_SASL_PASSWORD ?? missing('KAFKA_SASL_PASSWORD');
  if (mechanism !== 'oauthbearer') return { mechanism, username, password };
  return {
    mechanism,
    tokenProvider: clientCredentialsTokenProvider({
      tokenUrl: config.KAFKA_SASL_OAUTHBEARER_TOKEN_URL ?? missing('KAFKA_SASL_OAUTHBEARER_TOKEN_URL'),
      clientId: username,
      clientSecret: password,
      scope: config.KAFKA_SASL_OAUTHBEARER_SCOPE,
    }),
  };
}

export function kafkaConnection(config: KafkaConnectionConfig): KafkaConnection {
  return { brokers: config.KAFKA_BROKERS, tls: tlsOf(config), sasl: saslOf(config) };
}

/** For logs and error messages: how a connection is secured, without a secret in it. */
export function describeConnection(connection: KafkaConnection): string {
  const tls = connection.tls === undefined ? 'plaintext' : 'TLS';
  const sasl = connection.sasl ? `SASL ${connection.sasl.mechanism.toUpperCase()}` : 'no SASL';
  return `${connection.brokers.join(',')} (${tls}, ${sasl})`;
}
