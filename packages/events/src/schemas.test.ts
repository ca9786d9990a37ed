// The bundled schemas are the contract with producers (SPEC 2 and 7): check the
// manifest and that field names are exactly the spec's.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundledSchemaRegistry } from './registry-bundled.ts';
import { bundledReaderTypes, DEFAULT_SCHEMAS_DIR, loadBundledSchemas } from './schemas.ts';
import { DEFAULT_SUBJECTS, EVENT_KINDS } from './types.ts';

const COMMON = ['event_id', 'app_id', 'user_id', 'occurred_at'];
const SPEC_FIELDS = {
  pushSent: [...COMMON, 'message_id', 'campaign_id', 'campaign_name', 'platform'],
  campaignInteraction: [...COMMON, 'campaign_id', 'campaign_name', 'message_id', 'interaction'],
  appEvent: [...COMMON, 'event_name', 'external_id'],
  consentChange: [...COMMON, 'channel', 'status', 'source', 'external_id', 'identifiers'],
};

function fieldNames(schema: unknown): string[] {
  return (schema as { fields: { name: string }[] }).fields.map((field) => field.name);
}

describe('bundled schemas', () => {
  it('has a schema for every default subject and the spec field names', () => {
    const readers = bundledReaderTypes();
    for (const kind of EVENT_KINDS) {
      expect(fieldNames(readers[kind].schema()), kind).toEqual(SPEC_FIELDS[kind]);
    }
  });

  it('declares occurred_at as timestamp-millis and gives every enum the UNKNOWN default', () => {
    for (const schema of loadBundledSchemas()) {
      // The raw file: avsc drops logical types it has no implementation for.
      const raw = JSON.parse(readFileSync(join(DEFAULT_SCHEMAS_DIR, schema.file), 'utf8'));
      const fields = (raw as { fields: { name: string; type: unknown }[] }).fields;
      expect(fields.find((f) => f.name === 'occurred_at')?.type).toEqual({
        type: 'long',
        logicalType: 'timestamp-millis',
      });
      for (const field of fields) {
        const type = field.type as { type?: string; default?: string; symbols?: string[] };
        if (type.type === 'enum') {
          expect(type.default, `${schema.file} ${field.name}`).toBe('UNKNOWN');
          expect(type.symbols).toContain('UNKNOWN');
        }
      }
    }
  });

  it('lists each subject under its default topic name with unique ids', () => {
    const schemas = loadBundledSchemas();
    expect(new Set(schemas.map((s) => s.subject))).toEqual(new Set(Object.values(DEFAULT_SUBJECTS)));
    expect(new Set(schemas.map((s) => s.id)).size).toBe(schemas.length);
  });

  it('answers writer schemas by id and the latest version of a subject', async () => {
    const registry = bundledSchemaRegistry();
    const latest = await registry.latest('push-sent-value');
    expect(await registry.writerSchema(latest.id)).toBe(latest.type);
    await expect(registry.latest('nope-value')).rejects.toThrow(/subject nope-value is not in/);
  });

  it('rejects a manifest with duplicate ids, naming the file and entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'schemas-'));
    writeFileSync(join(dir, 'A.avsc'), '{"type":"record","name":"A","fields":[]}');
    writeFileSync(
      join(dir, 'registry.json'),
      JSON.stringify([
        { subject: 'a-value', version: 1, id: 1, file: 'A.avsc' },
        { subject: 'a-value', version: 2, id: 1, file: 'A.avsc' },
      ]),
    );
    expect(() => loadBundledSchemas(dir)).toThrow(/registry\.json\[1\]: duplicate id 1/);
  });
});
