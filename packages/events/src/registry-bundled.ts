// Writer schemas from the bundled schemas/registry.json (no server needed), or
// from a list given in code (tests, tools).
import { join } from 'node:path';
import type { Type } from 'avsc';
import { type RegisteredSchema, type SchemaRegistry, UnknownSchemaError } from './registry.ts';
import { type BundledSchema, DEFAULT_SCHEMAS_DIR, latestOf, loadBundledSchemas } from './schemas.ts';

export interface BundledRegistryOptions {
  /** Folder holding registry.json and the .avsc files (default: the repository's schemas/). */
  schemasDir?: string | undefined;
}

/** A registry over the bundled manifest; reads and parses everything once, at creation. */
export function bundledSchemaRegistry(options: BundledRegistryOptions = {}): SchemaRegistry {
  const schemasDir = options.schemasDir ?? DEFAULT_SCHEMAS_DIR;
  return staticSchemaRegistry(loadBundledSchemas(schemasDir), join(schemasDir, 'registry.json'));
}

/** A registry over a fixed list of schemas; `where` names it in "unknown" messages. */
export function staticSchemaRegistry(
  schemas: readonly BundledSchema[],
  where = 'the static schema list',
): SchemaRegistry {
  const byId = new Map<number, Type>(schemas.map((schema) => [schema.id, schema.type]));
  return {
    async writerSchema(id: number): Promise<Type> {
      const type = byId.get(id);
      if (!type) throw new UnknownSchemaError(`schema id ${id} is not in ${where}`);
      return type;
    },
    async latest(subject: string): Promise<RegisteredSchema> {
      const schema = latestOf(schemas, subject);
      if (!schema) throw new UnknownSchemaError(`subject ${subject} is not in ${where}`);
      return { id: schema.id, type: schema.type };
    },
  };
}
