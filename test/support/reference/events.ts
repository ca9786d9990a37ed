// Input event types of the reference oracle, written out here on purpose: the
// reference must not import anything from packages/ or services/ (it is the
// independent check of them). Structurally identical to the records of SPEC 2.

export type Channel = 'PUSH' | 'EMAIL' | 'SMS' | 'IN_APP';
export type ConsentStatus = 'OPTED_IN' | 'OPTED_OUT';
export type Interaction = 'OPEN' | 'CLICK' | 'DISMISS' | 'CONVERSION' | 'UNKNOWN';

export interface Common {
  event_id: string;
  app_id: string;
  user_id: string;
  /** Event time, epoch milliseconds. */
  occurred_at: number;
}

export interface PushSent extends Common {
  message_id: string;
  campaign_id: string | null;
  campaign_name: string | null;
  platform: string | null;
}

export interface CampaignInteraction extends Common {
  campaign_id: string;
  campaign_name: string | null;
  message_id: string | null;
  interaction: Interaction;
}

export interface AppEvent extends Common {
  event_name: string;
  external_id: string | null;
}

export interface ConsentChange extends Common {
  channel: Channel;
  status: ConsentStatus;
  source: string | null;
  external_id: string | null;
  identifiers: Record<string, string>;
}

export type InputEvent =
  | { kind: 'pushSent'; event: PushSent }
  | { kind: 'campaignInteraction'; event: CampaignInteraction }
  | { kind: 'appEvent'; event: AppEvent }
  | { kind: 'consentChange'; event: ConsentChange };

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** The longest window any query can ask for (window_days / lookback_days are 1..30). */
export const MAX_WINDOW_DAYS = 30;

/**
 * String order used for every tie-break and every "sorted by id/name" in the reference:
 * UTF-8 byte order (= Unicode code point order), which is how ClickHouse compares
 * String values. For ASCII ids it is the same as JavaScript's `<`.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Order of "which record is later": occurred_at, then event_id (byte order). */
export function compareByTimeThenId(a: Common, b: Common): number {
  return a.occurred_at - b.occurred_at || compareStrings(a.event_id, b.event_id);
}

/**
 * The set of events received: one event per event_id (the first occurrence wins;
 * duplicates carry identical content, so which one does not matter).
 */
export function dedup(events: readonly InputEvent[]): InputEvent[] {
  const seen = new Set<string>();
  const out: InputEvent[] = [];
  for (const e of events) {
    if (seen.has(e.event.event_id)) continue;
    seen.add(e.event.event_id);
    out.push(e);
  }
  return out;
}

/**
 * The deduplicated set split by kind. Every reference function accepts either the raw
 * list (and deduplicates it) or an EventSet built once, to keep big checks fast.
 */
export interface EventSet {
  pushes: PushSent[];
  interactions: CampaignInteraction[];
  appEvents: AppEvent[];
  consents: ConsentChange[];
}

export type Events = readonly InputEvent[] | EventSet;

export function toEventSet(events: Events): EventSet {
  if (!Array.isArray(events)) return events as EventSet;
  const set: EventSet = { pushes: [], interactions: [], appEvents: [], consents: [] };
  for (const e of dedup(events as readonly InputEvent[])) {
    if (e.kind === 'pushSent') set.pushes.push(e.event);
    else if (e.kind === 'campaignInteraction') set.interactions.push(e.event);
    else if (e.kind === 'appEvent') set.appEvents.push(e.event);
    else set.consents.push(e.event);
  }
  return set;
}

export function pushesOf(events: Events): PushSent[] {
  return toEventSet(events).pushes;
}
export function interactionsOf(events: Events): CampaignInteraction[] {
  return toEventSet(events).interactions;
}
export function appEventsOf(events: Events): AppEvent[] {
  return toEventSet(events).appEvents;
}
export function consentChangesOf(events: Events): ConsentChange[] {
  return toEventSet(events).consents;
}

/** occurred_at in [fromMs, toMs) — the half-open "before" windows of SPEC 3. */
export function inHalfOpen(ms: number, fromMs: number, toMs: number): boolean {
  return ms >= fromMs && ms < toMs;
}
