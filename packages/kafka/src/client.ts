// kafkajs client setup: loopback-friendly timeouts, retries with backoff, TLS and
// SASL from a KafkaConnection (./connection.ts), and kafkajs' log lines routed
// into our pino logger instead of its own console output.
import type { Logger } from '@optout/observability';
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs';
import type { KafkaConnection, KafkaSasl, KafkaTls } from './connection.ts';

declare const opaque: unique symbol;

/**
 * A configured client (brokers, TLS, SASL, logging). Opaque outside this
 * package: it is used through createAdmin, createRecordProducer,
 * CoPartitionedConsumer and startTopicReader, so nothing else depends on the
 * client library (replacing kafkajs is the work of this package alone).
 */
export interface KafkaClient {
  readonly [opaque]: 'KafkaClient';
}

/** The kafkajs instance behind a KafkaClient: for this package's own modules only. */
export const kafkajsOf = (client: KafkaClient): Kafka => client as unknown as Kafka;

export interface KafkaClientOptions extends KafkaConnection {
  clientId: string;
  logger?: Logger;
  /** Retries of a failed request before kafkajs gives up (each with exponential backoff). */
  retries?: number;
}

/** kafkajs passes only booleans for ssl/sasl in its log lines; this keeps it that way if that changes. */
const SECRET_KEY = /password|passphrase|secret|token/i;

function scrub(extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extra)) out[key] = SECRET_KEY.test(key) ? '[redacted]' : value;
  return out;
}

function pinoLogCreator(logger: Logger): KafkaConfig['logCreator'] {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      const fields = scrub(extra);
      if (level <= logLevel.ERROR) child.error(fields, message);
      else if (level === logLevel.WARN) child.warn(fields, message);
      else if (level === logLevel.INFO) child.debug(fields, message);
    };
}

function kafkajsSsl(tls: KafkaTls | true | undefined): KafkaConfig['ssl'] {
  if (tls === undefined) return undefined;
  if (tls === true) return true;
  // A CA given replaces Node's store: a private cluster's CA is the only one to trust.
  return {
    ...(tls.ca !== undefined ? { ca: [tls.ca] } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
  };
}

function kafkajsSasl(sasl: KafkaSasl | undefined): SASLOptions | undefined {
  if (sasl === undefined) return undefined;
  if (sasl.mechanism === 'oauthbearer') {
    const { tokenProvider } = sasl;
    return {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: await tokenProvider.token() }),
    };
  }
  const { mechanism, username, password } = sasl;
  return { mechanism, username, password };
}

/**
 * A kafkajs client. A refused SASL login (wrong password, unknown user) is final
 * in kafkajs (KafkaJSSASLAuthenticationError, not retried): connect() rejects at
 * once with the broker's reason instead of looping.
 */
export function createKafka({
  brokers,
  clientId,
  logger,
  retries = 8,
  tls,
  sasl,
}: KafkaClientOptions): KafkaClient {
  const ssl = kafkajsSsl(tls);
  const saslOptions = kafkajsSasl(sasl);
  const kafka = new Kafka({
    brokers,
    clientId,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, maxRetryTime: 5000, retries },
    ...(ssl !== undefined ? { ssl } : {}),
    ...(saslOptions !== undefined ? { sasl: saslOptions } : {}),
    ...(logger
      ? { logCreator: pinoLogCreator(logger), logLevel: logLevel.INFO }
      : { logLevel: logLevel.NOTHING }),
  });
  return kafka as unknown as KafkaClient;
}
