import { describe, expect, it } from 'vitest';
import { createEventCodec } from './codec.ts';
import { sampleConsentChange, samplePushSent } from './fixtures.ts';
import { eventKey, toMessage } from './produce.ts';
import { bundledSchemaRegistry } from './registry-bundled.ts';
import { DEFAULT_SUBJECTS, DEFAULT_TOPICS, subjectsForTopics } from './types.ts';

describe('producing', () => {
  it('keys every record <app_id>:<user_id>', () => {
    expect(eventKey(samplePushSent({ app_id: 'shop', user_id: 'u-17' }))).toBe('shop:u-17');
    const key = eventKey(samplePushSent({ app_id: 'café', user_id: 'tel:+33' }));
    expect(key).toBe('café:tel:+33');
    expect(Buffer.from(key)).toEqual(
      Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9, 0x3a, ...Buffer.from('tel:+33')]),
    );
  });

  it('builds a keyed, wire-format message that decodes back', async () => {
    const codec = createEventCodec({ registry: bundledSchemaRegistry(), subjects: DEFAULT_SUBJECTS });
    const event = sampleConsentChange({ app_id: 'shop', user_id: 'u-17' });
    const message = await toMessage(codec, 'consentChange', event);
    expect(message.key).toBe('shop:u-17');
    expect(await codec.decodeAsync('consentChange', message.value)).toEqual({ ok: true, event });
  });

  it('derives subjects from topic names (<topic>-value)', () => {
    expect(DEFAULT_TOPICS.consentChange).toBe('consent-change');
    expect(DEFAULT_SUBJECTS).toEqual({
      pushSent: 'push-sent-value',
      campaignInteraction: 'campaign-interaction-value',
      appEvent: 'app-event-value',
      consentChange: 'consent-change-value',
    });
    expect(subjectsForTopics({ ...DEFAULT_TOPICS, appEvent: 'eu.app-event' }).appEvent).toBe(
      'eu.app-event-value',
    );
  });
});
