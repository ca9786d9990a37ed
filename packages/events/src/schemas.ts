// The bundled schemas folder: registry.json lists every schema as
// {"subject": "<topic>-value", "version": n, "id": n, "file": "<name>.avsc"} (SPEC 7).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Type } from 'avsc';
import { parseAvroSchema } from './registry.ts';
import { DEFAULT_SUBJECTS, EVENT_KINDS, type EventKind } from './types.ts';

/** The repository's schemas/ folder, found from this file (packages/events/src). */
export const DEFAULT_SCHEMAS_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));

export interface ManifestEntry {
  subject: string;
  version: number;
  id: number;
  file: string;
}

export interface BundledSchema extends ManifestEntry {
  type: Type;
}

/** Reads and checks registry.json and parses every schema it lists. */
export function loadBundledSchemas(schemasDir: string = DEFAULT_SCHEMAS_DIR): BundledSchema[] {
  const manifestPath = join(schemasDir, 'registry.json');
  const manifest: unknown = JSON.parse(readFileSync(manifestPath, 'utf8'));
  if (!Array.isArray(manifest)) throw new Error(`${manifestPath}: expected a JSON array`);
  const ids = new Set<number>();
  const versions = new Set<string>();
  return manifest.map((entry: unknown, index) => {
    const where = `${manifestPath}[${index}]`;
    const { subject, version, id, file } = (entry ?? {}) as Record<string, unknown>;
    if (typeof subject !== 'string' || subject === '') throw new Error(`${where}: subject must be a string`);
    if (!Number.isInteger(version) || (version as number) < 1) throw new Error(`${where}: bad version`);
    if (!Number.isInteger(id) || (id as number) < 0) throw new Error(`${where}: bad id`);
    if (typeof file !== 'string' || file === '') throw new Error(`${where}: file must be a string`);
    if (ids.has(id as number)) throw new Error(`${where}: duplicate id ${id}`);
    if (versions.has(`${subject}@${version}`)) throw new Error(`${where}: duplicate ${subject} v${version}`);
    ids.add(id as number);
    versions.add(`${subject}@${version}`);
    const text = readFileSync(join(schemasDir, file), 'utf8');
    return { subject, version: version as number, id: id as number, file, type: parseAvroSchema(text) };
  });
}

/** The highest version of `subject`, or undefined. */
export function latestOf<T extends ManifestEntry>(schemas: readonly T[], subject: string): T | undefined {
  let best: T | undefined;
  for (const schema of schemas) {
    if (schema.subject === subject && (!best || schema.version > best.version)) best = schema;
  }
  return best;
}

/**
 * The reader schema of every kind: the project's current schema, i.e. the
 * highest bundled version of the kind's default subject. Decoded records always
 * have this shape, whatever schema (older or newer) they were written with.
 */
export function bundledReaderTypes(schemasDir: string = DEFAULT_SCHEMAS_DIR): Record<EventKind, Type> {
  const schemas = loadBundledSchemas(schemasDir);
  const readers = {} as Record<EventKind, Type>;
  for (const kind of EVENT_KINDS) {
    const latest = latestOf(schemas, DEFAULT_SUBJECTS[kind]);
    if (!latest) throw new Error(`${schemasDir}: no schema for subject ${DEFAULT_SUBJECTS[kind]}`);
    readers[kind] = latest.type;
  }
  return readers;
}
