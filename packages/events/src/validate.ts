// Semantic checks on a record the Avro decoder produced (or a producer built).
// Hand-written rather than zod: this runs once per ingested record. Each check
// returns null when fine, else `<field>: <problem>`, so a good record costs no
// allocation.
import {
  CHANNELS,
  CONSENT_STATUSES,
  type EventKind,
  type EventOf,
  INTERACTIONS,
  UNKNOWN_SYMBOL,
} from './types.ts';

export const MAX_ID_LENGTH = 256;
/**
 * The largest record value (Avro body and wire header) ingest processes. Real
 * records are a few hundred bytes; a bigger one (a 900 KB event_name, say) is
 * dead-lettered as `too_large` rather than carried into state and ClickHouse.
 */
export const MAX_RECORD_BYTES = 64 * 1024;
/** occurred_at must fall in [2000-01-01, 2100-01-01) UTC, epoch ms. */
export const MIN_OCCURRED_AT = Date.UTC(2000, 0, 1);
export const MAX_OCCURRED_AT = Date.UTC(2100, 0, 1);

type Fields = Record<string, unknown>;

/** Why `event` is not a valid record of `kind`, or null if it is. */
export function validateEvent<K extends EventKind>(kind: K, event: EventOf<K>): string | null {
  const fields = event as unknown as Fields;
  if (typeof fields !== 'object' || fields === null) return 'event: must be an object';
  const problem = commonProblem(fields);
  if (problem !== null) return problem;
  switch (kind) {
    case 'pushSent':
      return pushSentProblem(fields);
    case 'campaignInteraction':
      return campaignInteractionProblem(fields);
    case 'appEvent':
      return appEventProblem(fields);
    case 'consentChange':
      return consentChangeProblem(fields);
    default:
      return `kind: unknown event kind ${String(kind)}`;
  }
}

function commonProblem(e: Fields): string | null {
  const app = idProblem('app_id', e.app_id);
  if (app !== null) return app;
  if ((e.app_id as string).includes(':'))
    return "app_id: must not contain ':' (the key is <app_id>:<user_id>)";
  return (
    idProblem('event_id', e.event_id) ?? idProblem('user_id', e.user_id) ?? occurredAtProblem(e.occurred_at)
  );
}

function pushSentProblem(e: Fields): string | null {
  return (
    requiredString('message_id', e.message_id) ??
    nullableString('campaign_id', e.campaign_id) ??
    nullableString('campaign_name', e.campaign_name) ??
    nullableString('platform', e.platform)
  );
}

function campaignInteractionProblem(e: Fields): string | null {
  const problem =
    requiredString('campaign_id', e.campaign_id) ??
    nullableString('campaign_name', e.campaign_name) ??
    nullableString('message_id', e.message_id);
  if (problem !== null) return problem;
  // UNKNOWN is a valid interaction: a newer writer's symbol we cannot name, still an interaction.
  const interaction = e.interaction;
  if (interaction === UNKNOWN_SYMBOL || (INTERACTIONS as readonly unknown[]).includes(interaction))
    return null;
  return `interaction: must be one of ${INTERACTIONS.join(', ')} or ${UNKNOWN_SYMBOL} (got ${describe(interaction)})`;
}

function appEventProblem(e: Fields): string | null {
  return requiredString('event_name', e.event_name) ?? nullableString('external_id', e.external_id);
}

function consentChangeProblem(e: Fields): string | null {
  // An UNKNOWN channel or status (a newer writer's symbol) cannot be interpreted: invalid.
  if (!(CHANNELS as readonly unknown[]).includes(e.channel)) {
    return `channel: must be one of ${CHANNELS.join(', ')} (got ${describe(e.channel)})`;
  }
  if (!(CONSENT_STATUSES as readonly unknown[]).includes(e.status)) {
    return `status: must be one of ${CONSENT_STATUSES.join(', ')} (got ${describe(e.status)})`;
  }
  const problem = nullableString('source', e.source) ?? nullableString('external_id', e.external_id);
  if (problem !== null) return problem;
  const identifiers = e.identifiers;
  if (typeof identifiers !== 'object' || identifiers === null || Array.isArray(identifiers)) {
    return 'identifiers: must be a map of string to string';
  }
  for (const key in identifiers) {
    const value = (identifiers as Fields)[key];
    if (typeof value !== 'string') return `identifiers: value of ${JSON.stringify(key)} must be a string`;
  }
  return null;
}

function idProblem(field: string, value: unknown): string | null {
  if (typeof value !== 'string') return `${field}: must be a string`;
  if (value.length === 0) return `${field}: must not be empty`;
  if (value.length > MAX_ID_LENGTH) return `${field}: longer than ${MAX_ID_LENGTH} characters`;
  return null;
}

function occurredAtProblem(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isInteger(value))
    return 'occurred_at: must be an integer (epoch ms)';
  if (value < MIN_OCCURRED_AT || value >= MAX_OCCURRED_AT) {
    return `occurred_at: ${value} is outside [2000-01-01, 2100-01-01)`;
  }
  return null;
}

function requiredString(field: string, value: unknown): string | null {
  if (typeof value !== 'string') return `${field}: must be a string`;
  return value.length === 0 ? `${field}: must not be empty` : null;
}

function nullableString(field: string, value: unknown): string | null {
  return value === null || typeof value === 'string' ? null : `${field}: must be a string or null`;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}
