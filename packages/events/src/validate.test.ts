import { describe, expect, it } from 'vitest';
import {
  sampleAppEvent,
  sampleCampaignInteraction,
  sampleConsentChange,
  samplePushSent,
} from './fixtures.ts';
import type { Channel, ConsentChange } from './types.ts';
import { validateEvent } from './validate.ts';

describe('validateEvent', () => {
  it('accepts the samples of every kind', () => {
    expect(validateEvent('pushSent', samplePushSent())).toBeNull();
    expect(validateEvent('campaignInteraction', sampleCampaignInteraction())).toBeNull();
    expect(validateEvent('appEvent', sampleAppEvent())).toBeNull();
    expect(validateEvent('consentChange', sampleConsentChange())).toBeNull();
  });

  it('names the empty, missing or too long id', () => {
    expect(validateEvent('pushSent', samplePushSent({ app_id: '' }))).toBe('app_id: must not be empty');
    expect(validateEvent('pushSent', samplePushSent({ event_id: '' }))).toBe('event_id: must not be empty');
    expect(validateEvent('appEvent', sampleAppEvent({ user_id: '' }))).toBe('user_id: must not be empty');
    expect(validateEvent('appEvent', sampleAppEvent({ user_id: 'u'.repeat(257) }))).toBe(
      'user_id: longer than 256 characters',
    );
    expect(validateEvent('appEvent', sampleAppEvent({ user_id: 'u'.repeat(256) }))).toBeNull();
    const missing = { ...sampleAppEvent(), event_id: undefined } as unknown as ReturnType<
      typeof sampleAppEvent
    >;
    expect(validateEvent('appEvent', missing)).toBe('event_id: must be a string');
  });

  it("rejects ':' in app_id (it would make the key ambiguous) but allows it in user_id", () => {
    expect(validateEvent('pushSent', samplePushSent({ app_id: 'a:b' }))).toMatch(
      /^app_id: must not contain ':'/,
    );
    expect(validateEvent('pushSent', samplePushSent({ user_id: 'tel:+33' }))).toBeNull();
  });

  it('bounds occurred_at to [2000-01-01, 2100-01-01) and requires an integer', () => {
    const at = (occurred_at: number) => validateEvent('pushSent', samplePushSent({ occurred_at }));
    expect(at(Date.UTC(2000, 0, 1))).toBeNull();
    expect(at(Date.UTC(2000, 0, 1) - 1)).toMatch(/^occurred_at: .* outside/);
    expect(at(Date.UTC(2100, 0, 1) - 1)).toBeNull();
    expect(at(Date.UTC(2100, 0, 1))).toMatch(/^occurred_at: .* outside/);
    expect(at(1.5e12 + 0.5)).toBe('occurred_at: must be an integer (epoch ms)');
  });

  it('rejects an UNKNOWN consent channel or status (a newer symbol we cannot interpret)', () => {
    const unknownChannel = sampleConsentChange({ channel: 'UNKNOWN' as Channel });
    expect(validateEvent('consentChange', unknownChannel)).toMatch(/^channel: must be one of PUSH, EMAIL/);
    const unknownStatus = sampleConsentChange({ status: 'UNKNOWN' as ConsentChange['status'] });
    expect(validateEvent('consentChange', unknownStatus)).toMatch(
      /^status: must be one of OPTED_IN, OPTED_OUT/,
    );
  });

  it('accepts an UNKNOWN interaction, rejects anything else outside the enum', () => {
    expect(
      validateEvent('campaignInteraction', sampleCampaignInteraction({ interaction: 'UNKNOWN' })),
    ).toBeNull();
    const odd = sampleCampaignInteraction({ interaction: 'SWIPE' as 'OPEN' });
    expect(validateEvent('campaignInteraction', odd)).toMatch(/^interaction: /);
  });

  it('requires string identifier values', () => {
    const identifiers = { email: 'a@b.c', phone: 33 } as unknown as Record<string, string>;
    expect(validateEvent('consentChange', sampleConsentChange({ identifiers }))).toBe(
      'identifiers: value of "phone" must be a string',
    );
    expect(validateEvent('consentChange', sampleConsentChange({ identifiers: {} }))).toBeNull();
  });

  it('names required and nullable kind fields', () => {
    expect(validateEvent('pushSent', samplePushSent({ message_id: '' }))).toBe(
      'message_id: must not be empty',
    );
    expect(validateEvent('campaignInteraction', sampleCampaignInteraction({ campaign_id: '' }))).toBe(
      'campaign_id: must not be empty',
    );
    expect(validateEvent('appEvent', sampleAppEvent({ event_name: '' }))).toBe(
      'event_name: must not be empty',
    );
    const badSource = sampleConsentChange({ source: 7 as unknown as string });
    expect(validateEvent('consentChange', badSource)).toBe('source: must be a string or null');
  });
});
