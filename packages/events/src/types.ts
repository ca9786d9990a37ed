// The four input records (SPEC 2), as the reader schemas in /schemas decode them.
// Field names are the Avro field names; nullable Avro unions decode to `T | null`.

export const CHANNELS = ['PUSH', 'EMAIL', 'SMS', 'IN_APP'] as const;
export type Channel = (typeof CHANNELS)[number];

export const INTERACTIONS = ['OPEN', 'CLICK', 'DISMISS', 'CONVERSION'] as const;
export type InteractionType = (typeof INTERACTIONS)[number];

export const CONSENT_STATUSES = ['OPTED_IN', 'OPTED_OUT'] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

/**
 * The enum default of every schema enum: what a symbol unknown to the reader
 * (written by a newer schema) decodes to.
 */
export const UNKNOWN_SYMBOL = 'UNKNOWN';

interface Common {
  /** Unique per event: the idempotency key. */
  event_id: string;
  /** The tenant. Never contains ':' (the record key is `<app_id>:<user_id>`). */
  app_id: string;
  user_id: string;
  /** Event time, epoch milliseconds (Avro long, logicalType timestamp-millis). */
  occurred_at: number;
}

export interface PushSent extends Common {
  message_id: string;
  /** null for transactional pushes. */
  campaign_id: string | null;
  campaign_name: string | null;
  platform: string | null;
}

export interface CampaignInteraction extends Common {
  campaign_id: string;
  campaign_name: string | null;
  message_id: string | null;
  /** 'UNKNOWN' when a newer writer used a symbol this reader does not know; still a valid record. */
  interaction: InteractionType | 'UNKNOWN';
}

export interface AppEvent extends Common {
  event_name: string;
  external_id: string | null;
}

export interface ConsentChange extends Common {
  channel: Channel;
  status: ConsentStatus;
  /** os_settings, preference_center, unsubscribe_link, api, ... */
  source: string | null;
  external_id: string | null;
  /** Other external identifiers (email, phone, ...). */
  identifiers: Record<string, string>;
}

export const EVENT_KINDS = ['pushSent', 'campaignInteraction', 'appEvent', 'consentChange'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export type InputEvent =
  | { kind: 'pushSent'; event: PushSent }
  | { kind: 'campaignInteraction'; event: CampaignInteraction }
  | { kind: 'appEvent'; event: AppEvent }
  | { kind: 'consentChange'; event: ConsentChange };

/** The record type of one kind: `EventOf<'pushSent'>` is `PushSent`. */
export type EventOf<K extends EventKind> = Extract<InputEvent, { kind: K }>['event'];

/** Default topic names (SPEC 7: TOPIC_PUSH_SENT, ...). */
export const DEFAULT_TOPICS: Readonly<Record<EventKind, string>> = {
  pushSent: 'push-sent',
  campaignInteraction: 'campaign-interaction',
  appEvent: 'app-event',
  consentChange: 'consent-change',
};

/** The Schema Registry subject of a topic's values (TopicNameStrategy). */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/** The subjects of a topic mapping: `{ pushSent: 'push-sent' }` -> `{ pushSent: 'push-sent-value' }`. */
export function subjectsForTopics(topics: Readonly<Record<EventKind, string>>): Record<EventKind, string> {
  return {
    pushSent: valueSubject(topics.pushSent),
    campaignInteraction: valueSubject(topics.campaignInteraction),
    appEvent: valueSubject(topics.appEvent),
    consentChange: valueSubject(topics.consentChange),
  };
}

/** Subjects of the default topics; also the subjects of the bundled reader schemas. */
export const DEFAULT_SUBJECTS: Readonly<Record<EventKind, string>> = subjectsForTopics(DEFAULT_TOPICS);
