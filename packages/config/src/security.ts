// Variables for connections to real clusters (SPEC 7): Kafka over TLS and SASL,
// ClickHouse over HTTPS, a Schema Registry with basic auth. They are parsed here
// one by one; how they must combine is in ./rules.ts.
import { z } from 'zod';
import { flag, httpUrl, optional, optionalPath, optionalSecret } from './fields.ts';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** Case-insensitive (operators write SCRAM-SHA-512, as Kafka's docs do); stored in lower case. */
const saslMechanism = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() !== '' ? v.trim().toLowerCase() : undefined),
  z.enum(SASL_MECHANISMS).optional(),
);

export const kafkaSecurityShape = {
  /** TLS to the brokers. Without a CA file, Node's CA store (and NODE_EXTRA_CA_CERTS) verifies them. */
  KAFKA_SSL: flag(false),
  /** PEM: the CA(s) that signed the brokers' certificates. */
  KAFKA_SSL_CA_FILE: optionalPath,
  /** PEM: a client certificate (mutual TLS), with its key. */
  KAFKA_SSL_CERT_FILE: optionalPath,
  KAFKA_SSL_KEY_FILE: optionalPath,
  /** Passphrase of an encrypted KAFKA_SSL_KEY_FILE. */
  KAFKA_SSL_KEY_PASSWORD: optionalSecret,
  KAFKA_SASL_MECHANISM: saslMechanism,
  /** PLAIN / SCRAM: the user. OAUTHBEARER: the OAuth client id. */
  KAFKA_SASL_USERNAME: optional(z.string().trim()),
  /** PLAIN / SCRAM: the password. OAUTHBEARER: the OAuth client secret. */
  KAFKA_SASL_PASSWORD: optionalSecret,
  /** OAUTHBEARER: the token endpoint (OAuth 2 client-credentials grant). */
  KAFKA_SASL_OAUTHBEARER_TOKEN_URL: optional(httpUrl),
  /** OAUTHBEARER: the scope to ask for, if the identity provider needs one. */
  KAFKA_SASL_OAUTHBEARER_SCOPE: optional(z.string().trim()),
};

export const clickhouseTlsShape = {
  /** PEM: the CA that signed the server's certificate (with an https:// CLICKHOUSE_URL). */
  CLICKHOUSE_CA_FILE: optionalPath,
  /** PEM: a client certificate and key (mutual TLS); needs CLICKHOUSE_CA_FILE. */
  CLICKHOUSE_CERT_FILE: optionalPath,
  CLICKHOUSE_KEY_FILE: optionalPath,
};

export const schemaRegistryAuthShape = {
  /** Basic auth to SCHEMA_REGISTRY_URL (or put `user:password@` in the URL, not both). */
  SCHEMA_REGISTRY_USER: optional(z.string().trim()),
  SCHEMA_REGISTRY_PASSWORD: optionalSecret,
};
