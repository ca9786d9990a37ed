// Where writer schemas come from: the bundled manifest (schemas/registry.json) or
// a Confluent-compatible Schema Registry over HTTP (SCHEMA_REGISTRY_URL).

import type { Type } from 'avsc';
import avro from 'avsc';

export interface RegisteredSchema {
  id: number;
  type: Type;
}

export interface SchemaRegistry {
  /** The schema a producer wrote with; cached per id. Rejects with UnknownSchemaError if there is none. */
  writerSchema(id: number): Promise<Type>;
  /** The latest (highest version) schema of a subject, what producers encode with. */
  latest(subject: string): Promise<RegisteredSchema>;
}

/**
 * The registry answered that the schema (or subject) does not exist or is not
 * Avro. Anything else a registry throws (network, 5xx, timeout) is an outage:
 * callers should retry rather than dead-letter records.
 */
export class UnknownSchemaError extends Error {
  override name = 'UnknownSchemaError';
}

/** Parses an Avro schema (JSON text or object). timestamp-millis stays a plain long (epoch ms number). */
export function parseAvroSchema(schema: string | object): Type {
  const parsed: unknown = typeof schema === 'string' ? JSON.parse(schema) : schema;
  return avro.Type.forSchema(parsed as avro.Schema);
}
