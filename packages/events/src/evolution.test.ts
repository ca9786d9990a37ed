// Schema evolution by Avro resolution rules, both ways (SPEC 2), with schemas
// defined here: the reader is always the consumer's own schema of the kind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEventCodec } from './codec.ts';
import { sampleAppEvent, sampleCampaignInteraction, sampleConsentChange } from './fixtures.ts';
import { parseAvroSchema } from './registry.ts';
import { staticSchemaRegistry } from './registry-bundled.ts';
import { DEFAULT_SCHEMAS_DIR } from './schemas.ts';
import { DEFAULT_SUBJECTS, type EventKind } from './types.ts';

interface RecordSchema {
  fields: { name: string; type: unknown; default?: unknown }[];
}

function bundled(file: string): RecordSchema {
  return JSON.parse(readFileSync(join(DEFAULT_SCHEMAS_DIR, file), 'utf8')) as RecordSchema;
}

function withField(schema: RecordSchema, field: RecordSchema['fields'][number]): RecordSchema {
  return { ...schema, fields: [...schema.fields, field] };
}

function withEnumSymbols(schema: RecordSchema, fieldName: string, symbols: string[]): RecordSchema {
  const fields = schema.fields.map((field) =>
    field.name === fieldName ? { ...field, type: { ...(field.type as object), symbols } } : field,
  );
  return { ...schema, fields };
}

const appV1 = bundled('AppEvent.avsc');
const appV2 = withField(appV1, { name: 'session_id', type: ['null', 'string'], default: null });
const appV2Locale = withField(appV1, { name: 'locale', type: 'string', default: 'und' });

/** Producer: encodes `kind` with `writer` (the subject's latest). Consumer: reads `kind` with `reader`. */
function codecs(kind: EventKind, writer: RecordSchema, reader: RecordSchema) {
  const registry = staticSchemaRegistry([
    { subject: DEFAULT_SUBJECTS[kind], version: 1, id: 100, file: 'reader', type: parseAvroSchema(reader) },
    { subject: DEFAULT_SUBJECTS[kind], version: 2, id: 101, file: 'writer', type: parseAvroSchema(writer) },
  ]);
  const producer = createEventCodec({ registry, subjects: DEFAULT_SUBJECTS });
  const consumer = createEventCodec({
    registry,
    subjects: DEFAULT_SUBJECTS,
    readers: { [kind]: parseAvroSchema(reader) },
  });
  return { producer, consumer };
}

describe('schema evolution', () => {
  it('an older reader reads a newer writer that added a field (the field is skipped)', async () => {
    const { producer, consumer } = codecs('appEvent', appV2, appV1);
    const event = sampleAppEvent();
    const value = await producer.encode('appEvent', { ...event, session_id: 's-9' } as typeof event);
    expect(value.readInt32BE(1)).toBe(101);
    const result = await consumer.decodeAsync('appEvent', value);
    expect(result).toEqual({ ok: true, event });
    if (result.ok) expect(result.event).not.toHaveProperty('session_id');
  });

  it('a newer reader reads an older writer and fills the added field with its default', async () => {
    const { producer, consumer } = codecs('appEvent', appV1, appV2Locale);
    const event = sampleAppEvent();
    const value = await producer.encode('appEvent', event);
    expect(value.readInt32BE(1)).toBe(101);
    const result = await consumer.decodeAsync('appEvent', value);
    expect(result).toEqual({ ok: true, event: { ...event, locale: 'und' } });
  });

  it('an enum symbol unknown to the reader decodes as the default UNKNOWN (a valid interaction)', async () => {
    const reader = bundled('CampaignInteraction.avsc');
    const writer = withEnumSymbols(reader, 'interaction', [
      'OPEN',
      'CLICK',
      'DISMISS',
      'CONVERSION',
      'SNOOZE',
      'UNKNOWN',
    ]);
    const { producer, consumer } = codecs('campaignInteraction', writer, reader);
    const snoozed = { ...sampleCampaignInteraction(), interaction: 'SNOOZE' as 'OPEN' };
    const result = await consumer.decodeAsync(
      'campaignInteraction',
      await producer.encode('campaignInteraction', snoozed),
    );
    expect(result).toEqual({ ok: true, event: { ...snoozed, interaction: 'UNKNOWN' } });
    const clicked = sampleCampaignInteraction({ interaction: 'CLICK' });
    const known = await consumer.decodeAsync(
      'campaignInteraction',
      await producer.encode('campaignInteraction', clicked),
    );
    expect(known).toEqual({ ok: true, event: clicked });
  });

  it('a consent channel unknown to the reader decodes as UNKNOWN and is invalid (cannot be interpreted)', async () => {
    const reader = bundled('ConsentChange.avsc');
    const writer = withEnumSymbols(reader, 'channel', [
      'PUSH',
      'EMAIL',
      'SMS',
      'IN_APP',
      'WHATSAPP',
      'UNKNOWN',
    ]);
    const { producer, consumer } = codecs('consentChange', writer, reader);
    const event = { ...sampleConsentChange(), channel: 'WHATSAPP' as 'PUSH' };
    const result = await consumer.decodeAsync('consentChange', await producer.encode('consentChange', event));
    expect(result).toMatchObject({
      ok: false,
      reason: 'invalid',
      detail: expect.stringMatching(/^channel: .*UNKNOWN/),
    });
  });

  it('a writer the reader cannot resolve (field added without a default) is undecodable', async () => {
    const { producer, consumer } = codecs(
      'appEvent',
      appV1,
      withField(appV1, { name: 'locale', type: 'string' }),
    );
    const result = await consumer.decodeAsync(
      'appEvent',
      await producer.encode('appEvent', sampleAppEvent()),
    );
    expect(result).toMatchObject({
      ok: false,
      reason: 'undecodable',
      detail: expect.stringMatching(/schema id 101/),
    });
  });
});
