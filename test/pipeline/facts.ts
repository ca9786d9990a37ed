// Reads the facts the pipeline wrote (latest version of each row, live
// transitions only) in the shape of the reference's answers, for comparison.
import type { ClickHouseClient } from '@optout/clickhouse';
import type { LatestKnown, OptOutFact, TouchRow, Transition } from '../support/reference.ts';

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

const LIVE_TRANSITIONS = `
  SELECT app_id, channel, user_id, transition_id,
         argMax(kind, version) AS kind, argMax(occurred_at_ms, version) AS occurred_at_ms,
         argMax(source, version) AS source, argMax(pushes_before, version) AS pushes_before,
         argMax(last_touch_campaign_id, version) AS last_touch_campaign_id,
         argMax(last_touch_at_ms, version) AS last_touch_at_ms,
         argMax(next_activity_at_ms, version) AS next_activity_at_ms,
         argMax(next_opt_in_at_ms, version) AS next_opt_in_at_ms,
         argMax(event_names, version) AS names, argMax(event_days_before, version) AS days,
         argMax(event_counts, version) AS counts, argMax(event_counts_in_row, version) AS in_row,
         argMax(is_deleted, version) AS is_deleted
  FROM consent_transitions
  GROUP BY app_id, channel, user_id, transition_id
  HAVING is_deleted = 0`;

interface Row {
  app_id: string;
  channel: Transition['channel'];
  user_id: string;
  transition_id: string;
  kind: Transition['kind'];
  occurred_at_ms: string;
  source: string | null;
  pushes_before: number[];
  last_touch_campaign_id: string;
  last_touch_at_ms: string;
  next_activity_at_ms: string;
  next_opt_in_at_ms: string;
  names: string[];
  days: number[];
  counts: number[];
  in_row: number;
}

const byKey = (
  a: { app_id: string; channel: string; occurred_at_ms: number; transition_id: string },
  b: typeof a,
) =>
  a.app_id.localeCompare(b.app_id) ||
  a.channel.localeCompare(b.channel) ||
  a.occurred_at_ms - b.occurred_at_ms ||
  (a.transition_id < b.transition_id ? -1 : a.transition_id > b.transition_id ? 1 : 0);

export async function readTransitions(client: ClickHouseClient): Promise<Transition[]> {
  const live = await rows<Row>(client, LIVE_TRANSITIONS);
  return live
    .map((r) => ({
      app_id: r.app_id,
      channel: r.channel,
      user_id: r.user_id,
      transition_id: r.transition_id,
      kind: r.kind,
      occurred_at_ms: Number(r.occurred_at_ms),
      source: r.source,
    }))
    .sort(byKey);
}

export async function readOptOutFacts(client: ClickHouseClient): Promise<OptOutFact[]> {
  const live = (await rows<Row>(client, LIVE_TRANSITIONS)).filter((r) => r.kind === 'OPT_OUT');
  const touches = await rows<TouchRow & { transition_id: string }>(
    client,
    `SELECT transition_id, campaign_id, days_before,
            argMax(opens, version) AS opens, argMax(clicks, version) AS clicks,
            argMax(dismisses, version) AS dismisses, argMax(conversions, version) AS conversions,
            argMax(interactions, version) AS interactions
     FROM optout_campaign_touches GROUP BY transition_id, campaign_id, days_before`,
  );
  // The event counts: in the transition row (migration 0013), or for a row written
  // before it (event_counts_in_row = 0), in optout_event_counts.
  const apart = await rows<{
    transition_id: string;
    event_name: string;
    days_before: number;
    events: number;
  }>(
    client,
    `SELECT transition_id, event_name, days_before, argMax(events, version) AS events
     FROM optout_event_counts GROUP BY transition_id, event_name, days_before`,
  );
  const countsOf = (r: Row) =>
    r.in_row === 1
      ? r.names.map((event_name, i) => ({ event_name, days_before: r.days[i]!, events: r.counts[i]! }))
      : apart.filter((x) => x.transition_id === r.transition_id);
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return live
    .map((r): OptOutFact => {
      const t = Number(r.occurred_at_ms);
      return {
        app_id: r.app_id,
        channel: r.channel,
        user_id: r.user_id,
        transition_id: r.transition_id,
        kind: 'OPT_OUT',
        occurred_at_ms: t,
        source: r.source,
        pushes_before: r.pushes_before.map(Number),
        last_touch: r.last_touch_campaign_id
          ? { campaign_id: r.last_touch_campaign_id, at_ms: Number(r.last_touch_at_ms) }
          : null,
        next_activity_at_ms: Number(r.next_activity_at_ms),
        next_opt_in_at_ms: Number(r.next_opt_in_at_ms),
        touches: touches
          .filter((x) => x.transition_id === r.transition_id)
          .map(({ campaign_id, days_before, opens, clicks, dismisses, conversions, interactions }) => ({
            campaign_id,
            days_before,
            opens,
            clicks,
            dismisses,
            conversions,
            interactions,
          }))
          .sort((a, b) => cmp(a.campaign_id, b.campaign_id) || a.days_before - b.days_before),
        event_counts: countsOf(r)
          .map(({ event_name, days_before, events }) => ({ event_name, days_before, events }))
          .sort((a, b) => cmp(a.event_name, b.event_name) || a.days_before - b.days_before),
      };
    })
    .sort(byKey);
}

/** The latest-known values as the query service reads them: the largest (observed_at_ms, event_id). */
export async function readLatestKnown(client: ClickHouseClient): Promise<LatestKnown> {
  // Aliases differ from column names: 18.16 would substitute them inside the aggregates.
  const latest = async (table: string, keys: string[], value: string) =>
    (
      await rows<Record<string, string>>(
        client,
        `SELECT ${keys.join(', ')}, argMax(${value}, tuple(observed_at_ms, event_id)) AS latest_value,
                max(observed_at_ms) AS latest_ms, argMax(event_id, tuple(observed_at_ms, event_id)) AS latest_id
         FROM ${table} GROUP BY ${keys.join(', ')} ORDER BY ${keys.join(', ')}`,
      )
    ).map((r) => ({
      ...Object.fromEntries(keys.map((k) => [k, r[k]!])),
      [value]: r.latest_value!,
      observed_at_ms: Number(r.latest_ms),
      event_id: r.latest_id!,
    }));
  const external_ids = await latest('user_external_ids', ['app_id', 'user_id'], 'external_id');
  const identifiers = await latest('user_identifiers', ['app_id', 'user_id'], 'identifiers');
  const campaign_names = await latest('campaign_names', ['app_id', 'campaign_id'], 'campaign_name');
  return {
    external_ids: external_ids as LatestKnown['external_ids'],
    identifiers: identifiers.map((r) => ({
      ...r,
      identifiers: JSON.parse(r.identifiers as string),
    })) as LatestKnown['identifiers'],
    campaign_names: campaign_names as LatestKnown['campaign_names'],
  };
}
