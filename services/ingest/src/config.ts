// Ingest configuration (SPEC 7), validated once at start-up.
import {
  clickhouseShape,
  httpShape,
  kafkaShape,
  loadConfigOrExit,
  loggingShape,
  parseEnv,
  positiveInt,
} from '@optout/config';
import { z } from 'zod';

export const ingestShape = {
  ...kafkaShape,
  ...clickhouseShape,
  ...httpShape(8081),
  ...loggingShape,
  KAFKA_GROUP_ID: z.string().trim().min(1).default('optout-ingest'),
  /**
   * How long pushes, interactions and app events stay in per-user state. Facts of
   * an opt-out need 30 days before it and up to 30 after it; the rest is how late
   * an event may arrive and still correct facts. Consent history is kept whole.
   */
  STATE_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(61, 'must be at least 61 (30 days before + 30 after + 1)')
    .default(67),
  INGEST_MAX_BYTES_PER_PARTITION: positiveInt(2 * 1024 * 1024),
  INGEST_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(30_000),
  /** Run the ClickHouse migrations at start-up (idempotent). */
  INGEST_MIGRATE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  SHUTDOWN_TIMEOUT_MS: positiveInt(30_000),
};

export type IngestConfig = z.infer<z.ZodObject<typeof ingestShape>>;

export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  return loadConfigOrExit(() => parseEnv(ingestShape, env));
}
