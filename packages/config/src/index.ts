// Configuration from the environment, parsed once at start-up with zod (SPEC 7).
// Each service composes the pieces it needs; a bad or missing value stops the
// service with a message that names the variable.
import { z } from 'zod';
import { httpUrl, nonEmpty, optional, port } from './fields.ts';
import { type ConfigProblem, CROSS_FIELD_RULES } from './rules.ts';
import { shownValue } from './secrets.ts';
import { clickhouseTlsShape, kafkaSecurityShape, schemaRegistryAuthShape } from './security.ts';

export { flag, optional, port, positiveInt } from './fields.ts';
export { type ConfigProblem, type CrossFieldRule, pemFileProblem } from './rules.ts';
export { isSecretVariable, shownValue, withoutUrlPassword } from './secrets.ts';
export { SASL_MECHANISMS, type SaslMechanism } from './security.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function configError(problems: string[]): ConfigError {
  return new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

/**
 * Parses `env` with `shape`, then checks how the variables combine (./rules.ts);
 * throws a ConfigError naming every bad variable. Secret values are never quoted.
 */
export function parseEnv<T extends z.ZodRawShape>(
  shape: T,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<T>> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    throw configError(
      result.error.issues.map((issue) => {
        const name = issue.path.join('.') || '(environment)';
        return `${name}: ${issue.message} ${shownValue(name, env[String(issue.path[0])])}`;
      }),
    );
  }
  const problems: ConfigProblem[] = CROSS_FIELD_RULES.filter((rule) => rule.anchor in shape).flatMap((rule) =>
    rule.check(result.data),
  );
  if (problems.length > 0) throw configError(problems.map((p) => `${p.variable}: ${p.message}`));
  return result.data;
}

/** Runs `parse` and exits the process with the error's message if it fails. */
export function loadConfigOrExit<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

const brokerList = z
  .string()
  .trim()
  .transform((value) => value.split(',').map((b) => b.trim()))
  .refine((list) => list.length > 0 && list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)), {
    message: 'must be a comma-separated list of host:port',
  });

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

/** Kafka connection and topic names (SPEC 7). */
export const kafkaShape = {
  KAFKA_BROKERS: brokerList.default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: nonEmpty.default('optout'),
  TOPIC_PUSH_SENT: nonEmpty.default('push-sent'),
  TOPIC_CAMPAIGN_INTERACTION: nonEmpty.default('campaign-interaction'),
  TOPIC_APP_EVENT: nonEmpty.default('app-event'),
  TOPIC_CONSENT_CHANGE: nonEmpty.default('consent-change'),
  TOPIC_DLQ: nonEmpty.default('optout-dlq'),
  /** Erasure requests, co-partitioned with the inputs so they apply in order per user. */
  TOPIC_CONTROL: nonEmpty.default('optout-control'),
  SCHEMA_REGISTRY_URL: httpUrl.optional(),
  ...schemaRegistryAuthShape,
  ...kafkaSecurityShape,
};

/** ClickHouse connection (SPEC 7). */
export const clickhouseShape = {
  CLICKHOUSE_URL: httpUrl.default('http://127.0.0.1:8123'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier')
    .default('optout'),
  /**
   * The ClickHouse cluster (a <remote_servers> name) the schema lives on: its
   * tables are replicated local tables on every shard behind Distributed tables
   * (docs/clickhouse-cluster.md). Empty or unset: a single server.
   */
  CLICKHOUSE_CLUSTER: optional(
    z
      .string()
      .trim()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier (a <remote_servers> cluster name)'),
  ),
  /**
   * With CLICKHOUSE_CLUSTER: every server of the cluster, as comma-separated
   * http(s) URLs with the credentials of CLICKHOUSE_URL. Ingest needs them for
   * erasure, which deletes through one replica of each shard and waits until
   * every server has applied the deletions.
   */
  CLICKHOUSE_REPLICA_URLS: optional(
    z
      .string()
      .trim()
      .transform((value) => value.split(',').map((u) => u.trim()))
      .refine((list) => list.every((u) => /^https?:\/\/[^\s,]+$/.test(u)), {
        message: 'must be a comma-separated list of http(s) URLs',
      }),
  ),
  ...clickhouseTlsShape,
};

export const httpShape = (defaultPort: number) => ({
  HTTP_HOST: nonEmpty.default('127.0.0.1'),
  HTTP_PORT: port(defaultPort),
});

export const loggingShape = { LOG_LEVEL: logLevel };

export type KafkaConfig = z.infer<z.ZodObject<typeof kafkaShape>>;
export type ClickHouseConfig = z.infer<z.ZodObject<typeof clickhouseShape>>;

/** The four input topics of a Kafka config, in a fixed order. */
export function inputTopics(config: KafkaConfig) {
  return {
    pushSent: config.TOPIC_PUSH_SENT,
    campaignInteraction: config.TOPIC_CAMPAIGN_INTERACTION,
    appEvent: config.TOPIC_APP_EVENT,
    consentChange: config.TOPIC_CONSENT_CHANGE,
  } as const;
}
