// The rows a round writes, by table, serialised once as TSV in the column
// order of the catalogue (@optout/clickhouse TABLES). DateTime columns get
// epoch seconds; exact times travel beside them as epoch milliseconds.
//
// Two groups, written in this order within a round (pipeline/round.ts):
//   event rows: the raw events and what single events imply (reach,
//               latest-known values, the consent index);
//   fact rows:  the transitions recomputed from the event rows once durable,
//               each carrying its app event counts (migration 0013), and the
//               campaign touches of the opt-outs.
import { TABLES, TsvRows } from '@optout/clickhouse';
import type { AppEvent, CampaignInteraction, ConsentChange, PushSent } from '@optout/events';
import { eventIdHash } from '../recompute/read.ts';
import type { TransitionRow } from '../recompute/user-rows.ts';
import type { AdmittedEvent, UserWork } from '../state/affected.ts';
import { LatestRows } from './latest-known.ts';

const seconds = (ms: number) => Math.floor(ms / 1000);

/** A campaign as one map key, like a user key: app ids never contain ':' (validate.ts). */
const campaignKey = (appId: string, campaignId: string) => `${appId}:${campaignId}`;

/** Identifiers as a JSON object with sorted keys, so equal maps give equal text. */
export function identifiersJson(identifiers: Record<string, string>): string {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(identifiers).sort()) sorted[key] = identifiers[key]!;
  return JSON.stringify(sorted);
}

export class EventRows {
  readonly raw_push = new TsvRows(TABLES.raw_push);
  readonly raw_interaction = new TsvRows(TABLES.raw_interaction);
  readonly raw_app_event = new TsvRows(TABLES.raw_app_event);
  readonly raw_consent = new TsvRows(TABLES.raw_consent);
  readonly campaign_reach = new TsvRows(TABLES.campaign_reach);
  /** Latest-known values: only each key's latest row of the round is written (latest-known.ts). */
  private readonly campaign_names = new LatestRows(new TsvRows(TABLES.campaign_names));
  private readonly user_external_ids = new LatestRows(new TsvRows(TABLES.user_external_ids));
  private readonly user_identifiers = new LatestRows(new TsvRows(TABLES.user_identifiers));
  readonly consent_index = new TsvRows(TABLES.consent_index);
  readonly user_first_seen_in = new TsvRows(TABLES.user_first_seen_in);
  /** The earliest event of each user this round (user_first_seen keeps the minimum). */
  private readonly firstSeen = new Map<string, { app_id: string; user_id: string; seen_at_ms: number }>();

  /** `partitions`: the topics' partition count, which routes the consent index rows. */
  constructor(private readonly partitions: number) {}

  tables(): TsvRows<(typeof TABLES)[keyof typeof TABLES]>[] {
    return [
      this.raw_push,
      this.raw_interaction,
      this.raw_app_event,
      this.raw_consent,
      this.campaign_reach,
      this.campaign_names.flush(),
      this.user_external_ids.flush(),
      this.user_identifiers.flush(),
      this.consent_index,
      this.firstSeenRows(),
    ];
  }

  private firstSeenRows(): TsvRows<typeof TABLES.user_first_seen_in> {
    for (const row of this.firstSeen.values()) this.user_first_seen_in.add(row);
    this.firstSeen.clear();
    return this.user_first_seen_in;
  }

  add(e: AdmittedEvent): void {
    const { input } = e;
    const ev = input.event;
    // Object literals written out in full (no spreads): this runs once per event.
    const app_id = ev.app_id;
    const user_id = ev.user_id;
    const event_id = ev.event_id;
    const occurred_at_ms = ev.occurred_at;
    const occurred_at = seconds(occurred_at_ms);
    const first = this.firstSeen.get(e.userKey);
    if (!first) this.firstSeen.set(e.userKey, { app_id, user_id, seen_at_ms: occurred_at_ms });
    else if (occurred_at_ms < first.seen_at_ms) first.seen_at_ms = occurred_at_ms;
    switch (input.kind) {
      case 'pushSent': {
        const p: PushSent = input.event;
        this.raw_push.add({
          app_id,
          user_id,
          event_id,
          occurred_at,
          occurred_at_ms,
          message_id: p.message_id,
          campaign_id: p.campaign_id,
          campaign_name: p.campaign_name,
          platform: p.platform,
        });
        if (p.campaign_id !== null) {
          this.campaign_reach.add({ app_id, campaign_id: p.campaign_id, sent_at: occurred_at, user_id });
          if (p.campaign_name !== null)
            this.campaign_names.offer(campaignKey(app_id, p.campaign_id), {
              app_id,
              campaign_id: p.campaign_id,
              campaign_name: p.campaign_name,
              observed_at_ms: occurred_at_ms,
              event_id,
            });
        }
        return;
      }
      case 'campaignInteraction': {
        const c: CampaignInteraction = input.event;
        this.raw_interaction.add({
          app_id,
          user_id,
          event_id,
          occurred_at,
          occurred_at_ms,
          campaign_id: c.campaign_id,
          campaign_name: c.campaign_name,
          message_id: c.message_id,
          interaction: c.interaction,
        });
        if (c.campaign_name !== null)
          this.campaign_names.offer(campaignKey(app_id, c.campaign_id), {
            app_id,
            campaign_id: c.campaign_id,
            campaign_name: c.campaign_name,
            observed_at_ms: occurred_at_ms,
            event_id,
          });
        return;
      }
      case 'appEvent': {
        const a: AppEvent = input.event;
        this.raw_app_event.add({
          app_id,
          user_id,
          event_id,
          occurred_at,
          occurred_at_ms,
          event_name: a.event_name,
          external_id: a.external_id,
        });
        if (a.external_id !== null)
          this.user_external_ids.offer(e.userKey, {
            app_id,
            user_id,
            external_id: a.external_id,
            observed_at_ms: occurred_at_ms,
            event_id,
          });
        return;
      }
      case 'consentChange': {
        const c: ConsentChange = input.event;
        const identifiers = identifiersJson(c.identifiers);
        this.raw_consent.add({
          app_id,
          user_id,
          event_id,
          occurred_at,
          occurred_at_ms,
          key_hash: e.keyHash,
          channel: c.channel,
          status: c.status,
          source: c.source,
          external_id: c.external_id,
          identifiers,
        });
        this.consent_index.add({
          kafka_partitions: this.partitions,
          kafka_partition: e.keyHash % this.partitions,
          key_hash: e.keyHash,
          app_id,
          user_id,
          channel: c.channel,
          occurred_at_ms,
          status: c.status,
        });
        if (c.external_id !== null)
          this.user_external_ids.offer(e.userKey, {
            app_id,
            user_id,
            external_id: c.external_id,
            observed_at_ms: occurred_at_ms,
            event_id,
          });
        if (identifiers !== '{}')
          this.user_identifiers.offer(e.userKey, {
            app_id,
            user_id,
            identifiers,
            observed_at_ms: occurred_at_ms,
            event_id,
          });
        return;
      }
    }
  }
}

export class FactRows {
  readonly consent_transitions = new TsvRows(TABLES.consent_transitions);
  readonly optout_campaign_touches = new TsvRows(TABLES.optout_campaign_touches);

  tables() {
    return [this.consent_transitions, this.optout_campaign_touches];
  }

  /**
   * The rows of one recomputed record. `written` (the user's UserHistory.written)
   * lets a detail row the partition has written already, with the same content,
   * be left out (see unchanged).
   */
  add(user: UserWork, row: TransitionRow, written: Map<number, number>): void {
    const { record, channel, facts, version } = row;
    const t = record.t;
    // The event counts travel in the transition row, versioned with it: one entry
    // per (event name, day-before bucket), none on opt-ins and tombstones.
    const counts = facts?.eventCounts ?? [];
    this.consent_transitions.add({
      app_id: user.appId,
      channel,
      occurred_at: seconds(t),
      transition_id: record.id,
      user_id: user.userId,
      key_hash: user.keyHash,
      // A tombstone keeps the key columns; its kind is irrelevant (is_deleted = 1).
      kind: row.kind ?? 'OPT_OUT',
      occurred_at_ms: t,
      source: row.kind === null ? null : record.source,
      pushes_before: facts?.pushesBefore ?? [],
      last_touch_campaign_id: facts?.lastTouch?.campaignId ?? '',
      last_touch_at_ms: facts?.lastTouch?.t ?? 0,
      next_activity_at_ms: facts?.nextActivityAt ?? 0,
      // 0 on opt-ins and tombstones too: -1 is left to the rows of releases before the column.
      next_opt_in_at_ms: row.nextOptInAt,
      version,
      is_deleted: row.kind === null ? 1 : 0,
      event_names: counts.map((c) => c.eventName),
      event_days_before: counts.map((c) => c.daysBefore),
      event_counts: counts.map((c) => c.events),
      event_counts_in_row: 1,
    });
    if (!facts) return;
    const common = {
      app_id: user.appId,
      channel,
      optout_at: seconds(t),
      transition_id: record.id,
      user_id: user.userId,
      version,
    };
    for (const touch of facts.touches) {
      const key = touchKey(channel, record.id, touch.campaignId, touch.daysBefore);
      const content = `${touch.opens},${touch.clicks},${touch.dismisses},${touch.conversions},${touch.interactions}`;
      if (unchanged(written, key, content)) continue;
      this.optout_campaign_touches.add({
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
  }
}

/**
 * The text of a campaign touch row's key columns, each id prefixed with its
 * length: ids may hold any character (NUL included), so a separator alone could
 * make two keys one.
 */
function touchKey(channel: string, transitionId: string, campaignId: string, daysBefore: number): string {
  return `${channel.length}:${channel}${transitionId.length}:${transitionId}${campaignId.length}:${campaignId}${daysBefore}`;
}

/**
 * True when this partition has written the detail row `key` (a campaign touch
 * of one opt-out) with this `content` since the user's history was read;
 * otherwise records it as written now. A backfill loaded topic by topic
 * recomputes an opt-out once per round that brings it a late push, and its
 * detail rows, unchanged, were most of what ingest wrote (the event counts,
 * which were the most, now travel in the transition row: migration 0013).
 *
 * Leaving such a row out keeps every answer exact. A detail row counts events
 * of fixed windows of its opt-out, so its content only grows with the evidence,
 * and every computation of it (any instance, any time) saw a snapshot of the
 * growing durable events: nested sets, ordered like their versions
 * (recompute/versions.ts). The latest version of the key is therefore ours or
 * one with at least as much evidence; any version between the one durable and
 * the one left out saw a set between two sets that give the same content, and
 * has it too. The memory is exact because it lives with the history it came
 * from: a failed round or a new assignment drops the partition's state, an
 * erasure (which deletes the rows) forgets the user, and a history read again
 * starts empty. Transition rows are always written: whether a record is an
 * opt-out does not only grow with the evidence.
 */
function unchanged(written: Map<number, number>, key: string, content: string): boolean {
  const k = eventIdHash('k', key);
  const c = eventIdHash('v', content);
  if (written.get(k) === c) return true;
  written.set(k, c);
  return false;
}
