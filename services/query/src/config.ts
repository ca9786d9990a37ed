// Configuration of the query service, parsed once at start-up (SPEC 7).
// A bad or missing value stops the service with a message naming the variable.
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  clickhouseShape,
  httpShape,
  kafkaShape,
  loadConfigOrExit,
  loggingShape,
  parseEnv,
  positiveInt,
} from '@optout/config';
import { z } from 'zod';

/** A whole number >= 0 (0 switches the limit off or, for a queue, means none). */
const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/** One entry of API_KEYS / API_KEYS_FILE: raw keys are never stored, only their SHA-256. */
export const apiKeyEntrySchema = z
  .object({
    key_sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (the SHA-256 of the key)')
      .transform((hex) => hex.toLowerCase()),
    apps: z.array(z.string().min(1, 'app ids must not be empty')).min(1, 'must grant at least one app'),
    admin: z.boolean().default(false),
  })
  .strict();

export type ApiKeyEntry = z.infer<typeof apiKeyEntrySchema>;

const apiKeyListSchema = z.array(apiKeyEntrySchema).min(1, 'must list at least one key');

// CLICKHOUSE_USER / CLICKHOUSE_PASSWORD should name a read-only user (profile
// readonly=2: no writes, but per-query max_execution_time is allowed).
export const queryShape = {
  ...clickhouseShape,
  ...kafkaShape,
  ...httpShape(8080),
  ...loggingShape,
  API_KEYS: z.string().optional(),
  API_KEYS_FILE: z.string().optional(),
  /** Time limit of one chart query (server max_execution_time and client deadline). */
  QUERY_TIMEOUT_MS: positiveInt(10_000),
  /** Time limit of one export, which streams for as long as the client reads. */
  EXPORT_TIMEOUT_MS: positiveInt(600_000),

  // Load limits (docs/decisions.md, "Load limits"). Per key = per configured
  // API key; requests without a known key are counted per client address.
  /** Requests per key and RATE_LIMIT_WINDOW_MS (@fastify/rate-limit); beyond: 429. */
  RATE_LIMIT_MAX: positiveInt(600),
  RATE_LIMIT_WINDOW_MS: positiveInt(60_000),
  /** Requests of one key in flight at once (exports included); beyond: 429. */
  MAX_CONCURRENT_REQUESTS_PER_KEY: positiveInt(16),
  /** Exports of one key streaming at once; beyond: 429. */
  MAX_CONCURRENT_EXPORTS_PER_KEY: positiveInt(2),
  /**
   * ClickHouse queries this service runs at once, all keys together (an export
   * holds one for as long as it streams), so readers cannot crowd out ingest.
   */
  CLICKHOUSE_MAX_CONCURRENT_QUERIES: positiveInt(8),
  /** Queries waiting for one of those slots; beyond: 503 at once. 0: no queue. */
  CLICKHOUSE_QUEUE_SIZE: nonNegativeInt(100),
  /** Longest wait for a slot; beyond: 503. */
  CLICKHOUSE_QUEUE_TIMEOUT_MS: positiveInt(10_000),
  /** @fastify/under-pressure: mean event-loop delay over a second above this sheds API requests (503). 0: off. */
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: nonNegativeInt(1_000),
  /** @fastify/under-pressure: V8 heap in use above this sheds API requests (503). 0: off. */
  OVERLOAD_MAX_HEAP_USED_BYTES: nonNegativeInt(0),
  /** Longest an erasure request waits for Kafka (connection and acknowledgement); beyond: 503. */
  ERASURE_KAFKA_TIMEOUT_MS: positiveInt(10_000),
};

type BaseConfig = z.infer<z.ZodObject<typeof queryShape>>;

export type QueryConfig = Omit<BaseConfig, 'API_KEYS' | 'API_KEYS_FILE'> & { apiKeys: ApiKeyEntry[] };

function describeIssues(variable: string, error: z.ZodError): string {
  const lines = error.issues.map(
    (issue) => `  ${variable}${issue.path.map((p) => `[${String(p)}]`).join('')}: ${issue.message}`,
  );
  return `invalid configuration:\n${lines.join('\n')}`;
}

/** Parses the JSON key list; `variable` names the source in every error. */
export function parseApiKeys(text: string, variable: string): ApiKeyEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `invalid configuration:\n  ${variable}: not valid JSON (${(error as Error).message})`,
    );
  }
  const result = apiKeyListSchema.safeParse(json);
  if (!result.success) throw new ConfigError(describeIssues(variable, result.error));
  return result.data;
}

function loadApiKeys(env: BaseConfig): ApiKeyEntry[] {
  if (env.API_KEYS !== undefined && env.API_KEYS_FILE !== undefined) {
    // Two sources would make it unclear which keys are live: refuse rather than guess.
    throw new ConfigError('invalid configuration:\n  API_KEYS / API_KEYS_FILE: set only one of them');
  }
  if (env.API_KEYS_FILE !== undefined) {
    let text: string;
    try {
      text = readFileSync(env.API_KEYS_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `invalid configuration:\n  API_KEYS_FILE: cannot read ${env.API_KEYS_FILE} (${(error as Error).message})`,
      );
    }
    return parseApiKeys(text, 'API_KEYS_FILE');
  }
  if (env.API_KEYS !== undefined) return parseApiKeys(env.API_KEYS, 'API_KEYS');
  throw new ConfigError(
    'invalid configuration:\n  API_KEYS / API_KEYS_FILE: one of them is required (not set)',
  );
}

/** Parses and validates the whole environment; throws a ConfigError naming each bad variable. */
export function parseQueryConfig(env: NodeJS.ProcessEnv = process.env): QueryConfig {
  const base = parseEnv(queryShape, env);
  const apiKeys = loadApiKeys(base);
  const { API_KEYS: _inline, API_KEYS_FILE: _file, ...rest } = base;
  return { ...rest, apiKeys };
}

export function loadQueryConfigOrExit(): QueryConfig {
  return loadConfigOrExit(() => parseQueryConfig());
}
