// Picks the registry SPEC 7 describes from configuration.

import type { SchemaRegistry } from './registry.ts';
import { bundledSchemaRegistry } from './registry-bundled.ts';
import { httpSchemaRegistry } from './registry-http.ts';

export interface SchemaRegistryOptions {
  /** SCHEMA_REGISTRY_URL; without it, the bundled manifest is used. */
  url?: string | undefined;
  /** Bundled schemas folder (default: the repository's schemas/). */
  schemasDir?: string | undefined;
  /** HTTP request timeout, ms. */
  timeoutMs?: number | undefined;
}

/** The registry SPEC 7 describes: HTTP when a URL is configured, else the bundled manifest. */
export function createSchemaRegistry(options: SchemaRegistryOptions = {}): SchemaRegistry {
  if (options.url) return httpSchemaRegistry({ url: options.url, timeoutMs: options.timeoutMs });
  return bundledSchemaRegistry({ schemasDir: options.schemasDir });
}
