// Rows for ClickHouse (JSONEachRow), one builder per table. DateTime columns get
// epoch seconds (unambiguous on 18.16 and current servers); exact times travel
// beside them as epoch milliseconds.
import type { AppEvent, CampaignInteraction, ConsentChange, PushSent } from '@optout/events';
import type { TransitionFacts } from '../state/facts.ts';

const seconds = (ms: number) => Math.floor(ms / 1000);

/** Identifiers as a JSON object with sorted keys, so equal maps give equal text. */
export function identifiersJson(identifiers: Record<string, string>): string {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(identifiers).sort()) sorted[key] = identifiers[key]!;
  return JSON.stringify(sorted);
}

export interface FactRows {
  consent_transitions: Record<string, unknown>[];
  optout_campaign_touches: Record<string, unknown>[];
  optout_event_counts: Record<string, unknown>[];
}

export function emptyFactRows(): FactRows {
  return { consent_transitions: [], optout_campaign_touches: [], optout_event_counts: [] };
}

export interface UserRef {
  appId: string;
  userId: string;
  keyHash: number;
}

export function addFacts(rows: FactRows, user: UserRef, facts: TransitionFacts, version: number): void {
  const { transition, channel } = facts;
  const { appId, userId } = user;
  rows.consent_transitions.push({
    app_id: appId,
    channel,
    occurred_at: seconds(transition.t),
    transition_id: transition.id,
    user_id: userId,
    key_hash: user.keyHash,
    kind: transition.kind,
    occurred_at_ms: transition.t,
    source: transition.source,
    pushes_before: facts.pushesBefore,
    last_touch_campaign_id: facts.lastTouch?.campaignId ?? '',
    last_touch_at_ms: facts.lastTouch?.t ?? 0,
    next_activity_at_ms: facts.nextActivityAt,
    version,
    is_deleted: 0,
  });
  const common = {
    app_id: appId,
    channel,
    optout_at: seconds(transition.t),
    transition_id: transition.id,
    user_id: userId,
    version,
  };
  for (const touch of facts.touches) {
    rows.optout_campaign_touches.push({
      ...common,
      campaign_id: touch.campaignId,
      days_before: touch.daysBefore,
      opens: touch.opens,
      clicks: touch.clicks,
      dismisses: touch.dismisses,
      conversions: touch.conversions,
      interactions: touch.interactions,
    });
  }
  for (const count of facts.eventCounts) {
    rows.optout_event_counts.push({
      ...common,
      event_name: count.eventName,
      days_before: count.daysBefore,
      events: count.events,
    });
  }
}

/** A tombstone: same key columns, higher version, is_deleted = 1. */
export function addRemoval(
  rows: FactRows,
  user: UserRef,
  removal: { channel: string; id: string; t: number },
  version: number,
): void {
  rows.consent_transitions.push({
    app_id: user.appId,
    channel: removal.channel,
    occurred_at: seconds(removal.t),
    transition_id: removal.id,
    user_id: user.userId,
    key_hash: user.keyHash,
    kind: 'OPT_OUT',
    occurred_at_ms: removal.t,
    source: null,
    pushes_before: [],
    last_touch_campaign_id: '',
    last_touch_at_ms: 0,
    next_activity_at_ms: 0,
    version,
    is_deleted: 1,
  });
}

const common = (
  e: { app_id: string; user_id: string; event_id: string; occurred_at: number },
  keyHash: number,
) => ({
  app_id: e.app_id,
  user_id: e.user_id,
  event_id: e.event_id,
  occurred_at: seconds(e.occurred_at),
  occurred_at_ms: e.occurred_at,
  key_hash: keyHash,
});

export const rawRow = {
  pushSent: (e: PushSent, keyHash: number) => ({
    ...common(e, keyHash),
    message_id: e.message_id,
    campaign_id: e.campaign_id,
    campaign_name: e.campaign_name,
    platform: e.platform,
  }),
  campaignInteraction: (e: CampaignInteraction, keyHash: number) => ({
    ...common(e, keyHash),
    campaign_id: e.campaign_id,
    campaign_name: e.campaign_name,
    message_id: e.message_id,
    interaction: e.interaction,
  }),
  appEvent: (e: AppEvent, keyHash: number) => ({
    ...common(e, keyHash),
    event_name: e.event_name,
    external_id: e.external_id,
  }),
  consentChange: (e: ConsentChange, keyHash: number) => ({
    ...common(e, keyHash),
    channel: e.channel,
    status: e.status,
    source: e.source,
    external_id: e.external_id,
    identifiers: identifiersJson(e.identifiers),
  }),
};

export const RAW_TABLE = {
  pushSent: 'raw_push_sent',
  campaignInteraction: 'raw_campaign_interactions',
  appEvent: 'raw_app_events',
  consentChange: 'raw_consent_changes',
} as const;

/**
 * Rows an event adds to the "latest known" tables and to campaign reach (SPEC 3):
 * only values the event carries. Readers take the latest (observed_at_ms, event_id).
 */
export function derivedRows(
  kind: keyof typeof RAW_TABLE,
  event: AppEvent | CampaignInteraction | ConsentChange | PushSent,
) {
  const rows: Array<[table: string, row: Record<string, unknown>]> = [];
  const seen = { observed_at_ms: event.occurred_at, event_id: event.event_id };
  const who = { app_id: event.app_id, user_id: event.user_id };
  if (kind === 'pushSent') {
    const e = event as PushSent;
    if (e.campaign_id !== null) {
      rows.push([
        'campaign_reach',
        { app_id: e.app_id, campaign_id: e.campaign_id, sent_at: seconds(e.occurred_at), user_id: e.user_id },
      ]);
      if (e.campaign_name !== null)
        rows.push([
          'campaign_names',
          { app_id: e.app_id, campaign_id: e.campaign_id, campaign_name: e.campaign_name, ...seen },
        ]);
    }
  } else if (kind === 'campaignInteraction') {
    const e = event as CampaignInteraction;
    if (e.campaign_name !== null)
      rows.push([
        'campaign_names',
        { app_id: e.app_id, campaign_id: e.campaign_id, campaign_name: e.campaign_name, ...seen },
      ]);
  } else {
    const e = event as AppEvent | ConsentChange;
    if (e.external_id !== null)
      rows.push(['user_external_ids', { ...who, external_id: e.external_id, ...seen }]);
    if (kind === 'consentChange') {
      const identifiers = (e as ConsentChange).identifiers;
      if (Object.keys(identifiers).length > 0)
        rows.push(['user_identifiers', { ...who, identifiers: identifiersJson(identifiers), ...seen }]);
    }
  }
  return rows;
}
