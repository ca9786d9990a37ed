import { describe, expect, it } from 'vitest';
import { createEventCodec, SchemaNotPreparedError } from './codec.ts';
import {
  sampleAppEvent,
  sampleCampaignInteraction,
  sampleConsentChange,
  sampleInputs,
  samplePushSent,
} from './fixtures.ts';
import { bundledSchemaRegistry } from './registry-bundled.ts';
import { loadBundledSchemas } from './schemas.ts';
import { DEFAULT_SUBJECTS, type InputEvent } from './types.ts';

function bundledCodec() {
  return createEventCodec({ registry: bundledSchemaRegistry(), subjects: DEFAULT_SUBJECTS });
}

async function encodeInput(codec: ReturnType<typeof bundledCodec>, input: InputEvent): Promise<Buffer> {
  return codec.encode(input.kind, input.event as never);
}

describe('event codec, bundled schemas', () => {
  it('round-trips every kind through the wire format', async () => {
    const codec = bundledCodec();
    for (const input of sampleInputs()) {
      const value = await encodeInput(codec, input);
      expect(value[0]).toBe(0);
      await codec.prepare([value]);
      const result = codec.decode(input.kind, value);
      expect(result).toEqual({ ok: true, event: input.event });
    }
  });

  it('keeps occurred_at as epoch-ms numbers and nulls as null', async () => {
    const codec = bundledCodec();
    const push = samplePushSent({ campaign_id: null, campaign_name: null, platform: null });
    const result = await codec.decodeAsync('pushSent', await codec.encode('pushSent', push));
    if (!result.ok) throw new Error(result.detail);
    expect(result.event.occurred_at).toBe(push.occurred_at);
    expect(typeof result.event.occurred_at).toBe('number');
    expect(result.event.campaign_id).toBeNull();
  });

  it('writes the id of the highest registered version in the header', async () => {
    const codec = bundledCodec();
    const latest = loadBundledSchemas()
      .filter((schema) => schema.subject === DEFAULT_SUBJECTS.consentChange)
      .sort((a, b) => b.version - a.version)[0]!;
    const value = await codec.encode('consentChange', sampleConsentChange());
    expect(value.readInt32BE(1)).toBe(latest.id);
  });

  it('reports empty, bad magic and short values without touching the registry', () => {
    const codec = bundledCodec();
    expect(codec.decode('appEvent', null)).toMatchObject({ ok: false, reason: 'empty' });
    expect(codec.decode('appEvent', Buffer.alloc(0))).toMatchObject({ ok: false, reason: 'empty' });
    expect(codec.decode('appEvent', Buffer.from('hello'))).toMatchObject({ ok: false, reason: 'bad_magic' });
    expect(codec.decode('appEvent', Buffer.from([0, 0, 1]))).toMatchObject({
      ok: false,
      reason: 'bad_magic',
    });
  });

  it('reports a schema id the registry does not know as unknown_schema', async () => {
    const codec = bundledCodec();
    const value = Buffer.concat([Buffer.from([0, 0, 0, 0x03, 0xe7]), Buffer.from([2, 0x61])]);
    const result = await codec.decodeAsync('appEvent', value);
    expect(result).toMatchObject({ ok: false, reason: 'unknown_schema' });
    if (!result.ok) expect(result.detail).toMatch(/schema id 999 is not in .*registry\.json/);
  });

  it('throws when decode meets an id that was never prepared (a caller bug, not a bad record)', async () => {
    const codec = bundledCodec();
    const value = await codec.encode('appEvent', sampleAppEvent());
    const fresh = bundledCodec();
    expect(() => fresh.decode('appEvent', value)).toThrow(SchemaNotPreparedError);
  });

  it('reports truncated bodies, trailing bytes and garbage as undecodable', async () => {
    const codec = bundledCodec();
    const value = await codec.encode('appEvent', sampleAppEvent());
    await codec.prepare([value]);
    const truncated = codec.decode('appEvent', value.subarray(0, value.length - 3));
    expect(truncated).toEqual({
      ok: false,
      reason: 'undecodable',
      detail: 'schema id 3: truncated Avro body',
    });
    const trailing = codec.decode('appEvent', Buffer.concat([value, Buffer.from([1, 2])]));
    expect(trailing).toMatchObject({
      ok: false,
      reason: 'undecodable',
      detail: expect.stringMatching(/2 trailing/),
    });
    const garbage = Buffer.concat([value.subarray(0, 5), Buffer.alloc(40, 0xff)]);
    expect(codec.decode('appEvent', garbage)).toMatchObject({ ok: false, reason: 'undecodable' });
  });

  it('reports a writer schema of another record type as undecodable', async () => {
    const codec = bundledCodec();
    const push = await codec.encode('pushSent', samplePushSent());
    await codec.prepare([push]);
    const result = codec.decode('consentChange', push);
    expect(result).toMatchObject({ ok: false, reason: 'undecodable' });
    if (!result.ok)
      expect(result.detail).toMatch(/PushSent\) cannot be read as dev\.optout\.events\.ConsentChange/);
  });

  it('decodes then validates: a decodable but invalid record names the field', async () => {
    const codec = bundledCodec();
    const cases = [
      [await codec.encode('pushSent', samplePushSent({ app_id: '' })), 'app_id: must not be empty'],
      [await codec.encode('appEvent', sampleAppEvent({ app_id: 'a:b' })), "app_id: must not contain ':'"],
      [
        await codec.encode('campaignInteraction', sampleCampaignInteraction({ occurred_at: 0 })),
        'occurred_at:',
      ],
    ] as const;
    const kinds = ['pushSent', 'appEvent', 'campaignInteraction'] as const;
    for (const [i, [value, expected]] of cases.entries()) {
      const result = await codec.decodeAsync(kinds[i]!, value);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.reason).toBe('invalid');
        expect(result.detail.startsWith(expected)).toBe(true);
      }
    }
  });

  it('refuses to encode what the schema cannot hold and needs prepareEncode for encodeSync', async () => {
    const codec = bundledCodec();
    expect(() => codec.encodeSync('appEvent', sampleAppEvent())).toThrow(/prepareEncode/);
    await codec.prepareEncode();
    const bad = sampleConsentChange({ channel: 'CARRIER_PIGEON' as 'PUSH' });
    expect(() => codec.encodeSync('consentChange', bad)).toThrow();
  });

  it('encodes records larger than the scratch buffer', async () => {
    const codec = bundledCodec();
    const identifiers = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`id${i}`, `value-${i}`]));
    const event = sampleConsentChange({ identifiers });
    const result = await codec.decodeAsync('consentChange', await codec.encode('consentChange', event));
    expect(result).toEqual({ ok: true, event });
  });
});
