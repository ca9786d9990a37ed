// Picks the registry SPEC 7 describes from configuration.
//
//   createSchemaRegistry(schemaRegistryConnection(config))

import type { KafkaConfig } from '@optout/config';
import type { SchemaRegistry } from './registry.ts';
import { bundledSchemaRegistry } from './registry-bundled.ts';
import { httpSchemaRegistry } from './registry-http.ts';

export interface SchemaRegistryOptions {
  /** SCHEMA_REGISTRY_URL; without it, the bundled manifest is used. */
  url?: string | undefined;
  /** SCHEMA_REGISTRY_USER / SCHEMA_REGISTRY_PASSWORD: basic auth. */
  username?: string | undefined;
  password?: string | undefined;
  /** Bundled schemas folder (default: the repository's schemas/). */
  schemasDir?: string | undefined;
  /** HTTP request timeout, ms. */
  timeoutMs?: number | undefined;
}

/** The registry SPEC 7 describes: HTTP when a URL is configured, else the bundled manifest. */
export function createSchemaRegistry(options: SchemaRegistryOptions = {}): SchemaRegistry {
  if (options.url) {
    return httpSchemaRegistry({
      url: options.url,
      username: options.username,
      password: options.password,
      timeoutMs: options.timeoutMs,
    });
  }
  return bundledSchemaRegistry({ schemasDir: options.schemasDir });
}

/** The registry options of a service config (the SCHEMA_REGISTRY_* variables of kafkaShape). */
export function schemaRegistryConnection(
  config: Pick<KafkaConfig, 'SCHEMA_REGISTRY_URL' | 'SCHEMA_REGISTRY_USER' | 'SCHEMA_REGISTRY_PASSWORD'>,
): SchemaRegistryOptions {
  return {
    url: config.SCHEMA_REGISTRY_URL,
    username: config.SCHEMA_REGISTRY_USER,
    password: config.SCHEMA_REGISTRY_PASSWORD,
  };
}
