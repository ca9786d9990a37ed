// Sample records of every kind, for this package's tests (not exported).
import type { AppEvent, CampaignInteraction, ConsentChange, InputEvent, PushSent } from './types.ts';

const T0 = Date.UTC(2025, 2, 14, 9, 30);

export function samplePushSent(overrides: Partial<PushSent> = {}): PushSent {
  return {
    event_id: 'evt-push-1',
    app_id: 'app-1',
    user_id: 'user-1',
    occurred_at: T0,
    message_id: 'msg-1',
    campaign_id: 'spring-sale',
    campaign_name: 'Spring sale',
    platform: 'ios',
    ...overrides,
  };
}

export function sampleCampaignInteraction(overrides: Partial<CampaignInteraction> = {}): CampaignInteraction {
  return {
    event_id: 'evt-ci-1',
    app_id: 'app-1',
    user_id: 'user-1',
    occurred_at: T0 + 60_000,
    campaign_id: 'spring-sale',
    campaign_name: null,
    message_id: 'msg-1',
    interaction: 'CLICK',
    ...overrides,
  };
}

export function sampleAppEvent(overrides: Partial<AppEvent> = {}): AppEvent {
  return {
    event_id: 'evt-app-1',
    app_id: 'app-1',
    user_id: 'user-1',
    occurred_at: T0 + 120_000,
    event_name: 'add_to_cart',
    external_id: 'crm-42',
    ...overrides,
  };
}

export function sampleConsentChange(overrides: Partial<ConsentChange> = {}): ConsentChange {
  return {
    event_id: 'evt-cc-1',
    app_id: 'app-1',
    user_id: 'user-1',
    occurred_at: T0 + 180_000,
    channel: 'PUSH',
    status: 'OPTED_OUT',
    source: 'os_settings',
    external_id: null,
    identifiers: { email: 'ünïcode@example.com', phone: '+33600000000' },
    ...overrides,
  };
}

/** One record of each kind. */
export function sampleInputs(): InputEvent[] {
  return [
    { kind: 'pushSent', event: samplePushSent() },
    { kind: 'campaignInteraction', event: sampleCampaignInteraction() },
    { kind: 'appEvent', event: sampleAppEvent() },
    { kind: 'consentChange', event: sampleConsentChange() },
  ];
}
