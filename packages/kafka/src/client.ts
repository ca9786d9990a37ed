// kafkajs client setup: loopback-friendly timeouts, retries with backoff, and its
// log lines routed into our pino logger instead of its own console output.
import type { Logger } from '@optout/observability';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger?: Logger;
  /** Retries of a failed request before kafkajs gives up (each with exponential backoff). */
  retries?: number;
}

function pinoLogCreator(logger: Logger): KafkaConfig['logCreator'] {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      if (level <= logLevel.ERROR) child.error(extra, message);
      else if (level === logLevel.WARN) child.warn(extra, message);
      else if (level === logLevel.INFO) child.debug(extra, message);
    };
}

export function createKafka({ brokers, clientId, logger, retries = 8 }: KafkaClientOptions): Kafka {
  return new Kafka({
    brokers,
    clientId,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, maxRetryTime: 5000, retries },
    ...(logger
      ? { logCreator: pinoLogCreator(logger), logLevel: logLevel.INFO }
      : { logLevel: logLevel.NOTHING }),
  });
}
