// SPEC 3 definitions, computed literally from the set of events.
import {
  type AppEvent,
  appEventsOf,
  type CampaignInteraction,
  type Channel,
  type Common,
  type ConsentChange,
  compareByTimeThenId,
  compareStrings,
  consentChangesOf,
  DAY_MS,
  type Events,
  inHalfOpen,
  interactionsOf,
  MAX_WINDOW_DAYS,
  type PushSent,
  pushesOf,
  toEventSet,
} from './events.ts';

export interface Transition {
  app_id: string;
  channel: Channel;
  user_id: string;
  /** event_id of the ConsentChange that made the transition. */
  transition_id: string;
  kind: 'OPT_OUT' | 'OPT_IN';
  occurred_at_ms: number;
  source: string | null;
}

/**
 * The consent history of one (app, user, channel) in event-time order.
 * TIE-BREAK: records with the same occurred_at are ordered by event_id ascending
 * (UTF-8 byte order); services/ingest uses the same rule.
 */
export function consentHistory(events: Events, appId: string, userId: string, channel: Channel) {
  return consentChangesOf(events)
    .filter((c) => c.app_id === appId && c.user_id === userId && c.channel === channel)
    .sort(compareByTimeThenId);
}

/**
 * Every opt-out and opt-in (SPEC 3): walking a (app, user, channel) history in order,
 * an OPTED_OUT whose previous status is not OPTED_OUT is an opt-out, an OPTED_IN whose
 * previous status is not OPTED_IN is an opt-in; before the first record the status is
 * unknown (neither). Sorted by (app, channel, occurred_at, transition_id).
 */
export function transitions(input: Events): Transition[] {
  const events = toEventSet(input);
  const keys = new Set<string>();
  const histories: { app: string; user: string; channel: Channel }[] = [];
  for (const c of consentChangesOf(events)) {
    const key = JSON.stringify([c.app_id, c.user_id, c.channel]);
    if (keys.has(key)) continue;
    keys.add(key);
    histories.push({ app: c.app_id, user: c.user_id, channel: c.channel });
  }
  const out: Transition[] = [];
  for (const h of histories) {
    let previous: ConsentChange['status'] | 'UNKNOWN' = 'UNKNOWN';
    for (const c of consentHistory(events, h.app, h.user, h.channel)) {
      if (c.status !== previous) {
        out.push({
          app_id: c.app_id,
          channel: c.channel,
          user_id: c.user_id,
          transition_id: c.event_id,
          kind: c.status === 'OPTED_OUT' ? 'OPT_OUT' : 'OPT_IN',
          occurred_at_ms: c.occurred_at,
          source: c.source,
        });
      }
      previous = c.status;
    }
  }
  return out.sort(
    (a, b) =>
      compareStrings(a.app_id, b.app_id) ||
      compareStrings(a.channel, b.channel) ||
      a.occurred_at_ms - b.occurred_at_ms ||
      compareStrings(a.transition_id, b.transition_id),
  );
}

/** Opt-outs of one app and channel with t in [startMs, endMs). */
export function optOutsInRange(
  events: Events,
  appId: string,
  channel: Channel,
  startMs: number,
  endMs: number,
): Transition[] {
  return transitions(events).filter(
    (t) =>
      t.kind === 'OPT_OUT' &&
      t.app_id === appId &&
      t.channel === channel &&
      inHalfOpen(t.occurred_at_ms, startMs, endMs),
  );
}

/** Records of one user of one app with occurred_at in [fromMs, toMs). */
function ofUserIn<T extends Common>(
  list: T[],
  appId: string,
  userId: string,
  fromMs: number,
  toMs: number,
): T[] {
  return list.filter(
    (e) => e.app_id === appId && e.user_id === userId && inHalfOpen(e.occurred_at, fromMs, toMs),
  );
}

/** Push pressure (SPEC 3): PushSent of the user (same app, any campaign or none) in [t - W days, t). */
export function pushesBefore(events: Events, t: Transition, windowDays: number): number {
  const tMs = t.occurred_at_ms;
  return ofUserIn(pushesOf(events), t.app_id, t.user_id, tMs - windowDays * DAY_MS, tMs).length;
}

/** Campaigns before opt-out (SPEC 3): the user's CampaignInteractions in [t - L days, t). */
export function interactionsBefore(
  events: Events,
  t: Transition,
  lookbackDays: number,
): CampaignInteraction[] {
  const tMs = t.occurred_at_ms;
  return ofUserIn(interactionsOf(events), t.app_id, t.user_id, tMs - lookbackDays * DAY_MS, tMs);
}

/**
 * Last touch: the latest interaction in [t - L days, t); TIE-BREAK on equal occurred_at:
 * the larger event_id (the same "later" order as the latest-known values).
 */
export function lastTouch(events: Events, t: Transition, lookbackDays: number): CampaignInteraction | null {
  const list = interactionsBefore(events, t, lookbackDays).sort(compareByTimeThenId);
  return list[list.length - 1] ?? null;
}

/** Events before opt-out (SPEC 3): the user's AppEvents in [t - X days, t). */
export function appEventsBefore(events: Events, t: Transition, lookbackDays: number): AppEvent[] {
  const tMs = t.occurred_at_ms;
  return ofUserIn(appEventsOf(events), t.app_id, t.user_id, tMs - lookbackDays * DAY_MS, tMs);
}

export type Outcome = 'retained' | 'churned' | 'pending';

/**
 * Outcome (SPEC 3) with X days: retained if the user has an AppEvent in (t, t + X];
 * churned if none and t + X < now ("in the past"); pending otherwise (t + X >= now).
 */
export function outcome(events: Events, t: Transition, lookbackDays: number, now: number): Outcome {
  const tMs = t.occurred_at_ms;
  const until = tMs + lookbackDays * DAY_MS;
  const active = appEventsOf(events).some(
    (e) => e.app_id === t.app_id && e.user_id === t.user_id && e.occurred_at > tMs && e.occurred_at <= until,
  );
  if (active) return 'retained';
  return until < now ? 'churned' : 'pending';
}

/**
 * Day-before bucket of a record at `ms` before t: d such that ms is in
 * [t - d days, t - (d-1) days), i.e. ceil((t - ms) / day). For ms in [t - 30d, t) it is
 * 1..30, and the sum over d <= L is exactly the window [t - L days, t).
 */
export function daysBefore(tMs: number, ms: number): number {
  return Math.ceil((tMs - ms) / DAY_MS);
}

export interface TouchRow {
  campaign_id: string;
  days_before: number;
  opens: number;
  clicks: number;
  dismisses: number;
  conversions: number;
  interactions: number;
}

export interface EventCountRow {
  event_name: string;
  days_before: number;
  events: number;
}

/** The per-opt-out facts of infra/clickhouse/migrations (0001..0003), from their column comments. */
export interface OptOutFact extends Transition {
  kind: 'OPT_OUT';
  /** [d-1] = PushSent count in [t - d days, t), d = 1..30. */
  pushes_before: number[];
  /** Latest CampaignInteraction in [t - 30 days, t), or null. */
  last_touch: { campaign_id: string; at_ms: number } | null;
  /** Earliest AppEvent with occurred_at in (t, t + 30 days], 0 if none (outcomes need X <= 30 only). */
  next_activity_at_ms: number;
  /**
   * The user's next opt-in on the channel after t, in (occurred_at, event_id) order
   * (SPEC 5.1, won back), if at most 30 days after t (win-back needs d <= 30 only); else 0.
   */
  next_opt_in_at_ms: number;
  /** Sorted by campaign_id, then days_before. */
  touches: TouchRow[];
  /** Sorted by event_name, then days_before. */
  event_counts: EventCountRow[];
}

export function optOutFacts(input: Events): OptOutFact[] {
  const events = toEventSet(input);
  const facts: OptOutFact[] = [];
  const all = transitions(events);
  for (const t of all) {
    if (t.kind !== 'OPT_OUT') continue;
    const tMs = t.occurred_at_ms;

    const optIn = all
      .filter(
        (o) =>
          o.app_id === t.app_id &&
          o.user_id === t.user_id &&
          o.channel === t.channel &&
          o.kind === 'OPT_IN' &&
          (o.occurred_at_ms > tMs ||
            (o.occurred_at_ms === tMs && compareStrings(o.transition_id, t.transition_id) > 0)),
      )
      .sort(
        (a, b) => a.occurred_at_ms - b.occurred_at_ms || compareStrings(a.transition_id, b.transition_id),
      )[0];
    const next_opt_in_at_ms =
      optIn && optIn.occurred_at_ms - tMs <= MAX_WINDOW_DAYS * DAY_MS ? optIn.occurred_at_ms : 0;

    const pushes_before: number[] = [];
    for (let d = 1; d <= MAX_WINDOW_DAYS; d++) pushes_before.push(pushesBefore(events, t, d));

    const touch = lastTouch(events, t, MAX_WINDOW_DAYS);

    const later = appEventsOf(events)
      .filter(
        (e) =>
          e.app_id === t.app_id &&
          e.user_id === t.user_id &&
          e.occurred_at > tMs &&
          e.occurred_at <= tMs + MAX_WINDOW_DAYS * DAY_MS,
      )
      .map((e) => e.occurred_at);
    const next_activity_at_ms = later.length === 0 ? 0 : Math.min(...later);

    const touchMap = new Map<string, TouchRow>();
    for (const i of interactionsBefore(events, t, MAX_WINDOW_DAYS)) {
      const days_before = daysBefore(tMs, i.occurred_at);
      const key = JSON.stringify([i.campaign_id, days_before]);
      let row = touchMap.get(key);
      if (!row) {
        row = {
          campaign_id: i.campaign_id,
          days_before,
          opens: 0,
          clicks: 0,
          dismisses: 0,
          conversions: 0,
          interactions: 0,
        };
        touchMap.set(key, row);
      }
      row.interactions += 1;
      if (i.interaction === 'OPEN') row.opens += 1;
      if (i.interaction === 'CLICK') row.clicks += 1;
      if (i.interaction === 'DISMISS') row.dismisses += 1;
      if (i.interaction === 'CONVERSION') row.conversions += 1;
    }

    const countMap = new Map<string, EventCountRow>();
    for (const e of appEventsBefore(events, t, MAX_WINDOW_DAYS)) {
      const days_before = daysBefore(tMs, e.occurred_at);
      const key = JSON.stringify([e.event_name, days_before]);
      let row = countMap.get(key);
      if (!row) {
        row = { event_name: e.event_name, days_before, events: 0 };
        countMap.set(key, row);
      }
      row.events += 1;
    }

    facts.push({
      ...t,
      kind: 'OPT_OUT',
      pushes_before,
      last_touch: touch ? { campaign_id: touch.campaign_id, at_ms: touch.occurred_at } : null,
      next_activity_at_ms,
      next_opt_in_at_ms,
      touches: [...touchMap.values()].sort(
        (a, b) => compareStrings(a.campaign_id, b.campaign_id) || a.days_before - b.days_before,
      ),
      event_counts: [...countMap.values()].sort(
        (a, b) => compareStrings(a.event_name, b.event_name) || a.days_before - b.days_before,
      ),
    });
  }
  return facts;
}

/** The record that carries a value last: max (occurred_at, event_id). */
function latest<T extends Common>(list: T[]): T | undefined {
  return [...list].sort(compareByTimeThenId).at(-1);
}

/** Latest known external_id of a user (AppEvent or ConsentChange with a non-null one), or null. */
export function latestExternalId(events: Events, appId: string, userId: string): string | null {
  const carriers: (AppEvent | ConsentChange)[] = [...appEventsOf(events), ...consentChangesOf(events)].filter(
    (e) => e.app_id === appId && e.user_id === userId && e.external_id !== null,
  );
  return latest(carriers)?.external_id ?? null;
}

/** Keys sorted, as the export and user_identifiers store them. */
export function sortedIdentifiers(map: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(map).sort(compareStrings)) out[k] = map[k]!;
  return out;
}

/** Latest known identifiers of a user (ConsentChange with a non-empty map), keys sorted; {} if none. */
export function latestIdentifiers(events: Events, appId: string, userId: string): Record<string, string> {
  const carriers = consentChangesOf(events).filter(
    (c) => c.app_id === appId && c.user_id === userId && Object.keys(c.identifiers).length > 0,
  );
  const found = latest(carriers);
  return found ? sortedIdentifiers(found.identifiers) : {};
}

/** Latest known name of a campaign (PushSent or CampaignInteraction with a non-null one), or null. */
export function latestCampaignName(events: Events, appId: string, campaignId: string): string | null {
  const carriers: (PushSent | CampaignInteraction)[] = [
    ...pushesOf(events),
    ...interactionsOf(events),
  ].filter((e) => e.app_id === appId && e.campaign_id === campaignId && e.campaign_name !== null);
  return latest(carriers)?.campaign_name ?? null;
}

export interface LatestKnown {
  external_ids: {
    app_id: string;
    user_id: string;
    external_id: string;
    observed_at_ms: number;
    event_id: string;
  }[];
  identifiers: {
    app_id: string;
    user_id: string;
    identifiers: Record<string, string>;
    observed_at_ms: number;
    event_id: string;
  }[];
  campaign_names: {
    app_id: string;
    campaign_id: string;
    campaign_name: string;
    observed_at_ms: number;
    event_id: string;
  }[];
}

/**
 * All latest-known values (SPEC 3), with the record that carried each. TIE-BREAK on equal
 * occurred_at: the larger event_id wins (migration 0005). Each list sorted by its key.
 */
export function latestKnown(input: Events): LatestKnown {
  const events = toEventSet(input);
  const byKey = <T extends Common>(list: T[], key: (e: T) => string[]): Map<string, T> => {
    const m = new Map<string, T>();
    for (const e of list) {
      const k = JSON.stringify(key(e));
      const cur = m.get(k);
      if (!cur || compareByTimeThenId(e, cur) > 0) m.set(k, e);
    }
    return m;
  };
  const ext = byKey(
    [...appEventsOf(events), ...consentChangesOf(events)].filter((e) => e.external_id !== null),
    (e) => [e.app_id, e.user_id],
  );
  const ids = byKey(
    consentChangesOf(events).filter((c) => Object.keys(c.identifiers).length > 0),
    (e) => [e.app_id, e.user_id],
  );
  const names = byKey(
    [...pushesOf(events), ...interactionsOf(events)].filter(
      (e): e is typeof e & { campaign_id: string; campaign_name: string } =>
        e.campaign_id !== null && e.campaign_name !== null,
    ),
    (e) => [e.app_id, e.campaign_id],
  );
  const byUser = (a: { app_id: string; user_id: string }, b: { app_id: string; user_id: string }) =>
    compareStrings(a.app_id, b.app_id) || compareStrings(a.user_id, b.user_id);
  return {
    external_ids: [...ext.values()]
      .map((e) => ({
        app_id: e.app_id,
        user_id: e.user_id,
        external_id: e.external_id!,
        observed_at_ms: e.occurred_at,
        event_id: e.event_id,
      }))
      .sort(byUser),
    identifiers: [...ids.values()]
      .map((e) => ({
        app_id: e.app_id,
        user_id: e.user_id,
        identifiers: sortedIdentifiers(e.identifiers),
        observed_at_ms: e.occurred_at,
        event_id: e.event_id,
      }))
      .sort(byUser),
    campaign_names: [...names.values()]
      .map((e) => ({
        app_id: e.app_id,
        campaign_id: e.campaign_id,
        campaign_name: e.campaign_name,
        observed_at_ms: e.occurred_at,
        event_id: e.event_id,
      }))
      .sort((a, b) => compareStrings(a.app_id, b.app_id) || compareStrings(a.campaign_id, b.campaign_id)),
  };
}

/** The user's latest ConsentChange status on the channel over all events received, or null if none. */
export function currentStatus(
  events: Events,
  appId: string,
  userId: string,
  channel: Channel,
): ConsentChange['status'] | null {
  return consentHistory(events, appId, userId, channel).at(-1)?.status ?? null;
}
