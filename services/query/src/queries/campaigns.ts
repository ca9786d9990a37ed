// campaigns: the campaigns opted-out users interacted with in the lookback_days
// before opting out, with last-touch counts, reach and opt-out rate
// (docs/api-contract.md), and against the app's pooled rate: lift and
// significance (SPEC 5.1). Two round trips: first, in parallel, every
// campaign touched before an opt-out, the reach of every campaign of the app
// (the pooled baseline needs them all, those without opt-outs included) and
// the last-touch counts of every campaign (one small GROUP BY over the
// opt-outs, cheaper than waiting for the top ids); then the names of just the
// top `limit` (campaign_names holds a row per named event, too many to read
// for every campaign).
import { type SqlFragment, sql } from '@optout/clickhouse';
import { num, type Warehouse } from '../warehouse.ts';
import { DAY_MS, distinctCount, type FactScope, finalRows, inRange, liveOptOuts } from './scope.ts';
import { wilsonLowerBound } from './statistics.ts';

export interface CampaignRow {
  campaign_id: string;
  campaign_name: string | null;
  opt_outs: number;
  users: number;
  interactions: number;
  opens: number;
  clicks: number;
  dismisses: number;
  conversions: number;
  last_touch_opt_outs: number;
  reach: number;
  opt_out_rate: number | null;
  /** opt_out_rate / baseline_rate. */
  lift: number | null;
  /** The 95% Wilson lower bound of users / reach is above baseline_rate. */
  significant: boolean;
}

export interface CampaignsResult {
  /** Pooled users / reach over every campaign of the app with a reach; null without any reach. */
  baseline_rate: number | null;
  campaigns: CampaignRow[];
}

/**
 * Per campaign, over the latest version of each (opt-out, campaign, day-before)
 * touch row with days_before <= L (a lookback of L days is the sum of buckets
 * 1..L) and at least one interaction, of opt-outs that are live: a deleted
 * opt-out hides its touches. Distinct opt-outs and users are counted over
 * hashes (distinctCount); the time slices of the touches are read and
 * filtered in parallel (finalRows). The liveness filter sits on the outer query
 * so that its set is built once, not once per slice.
 */
function touchedCampaignsSql(scope: FactScope, lookbackDays: number): SqlFragment {
  const touches = finalRows({
    table: 'optout_campaign_touches',
    columns: sql`campaign_id, transition_id, user_id, interactions AS interactions_v, opens AS opens_v,
      clicks AS clicks_v, dismisses AS dismisses_v, conversions AS conversions_v`,
    appId: scope.appId,
    channel: scope.channel,
    timeColumn: 'optout_at',
    range: scope.range,
    where: [sql`days_before >= 1 AND days_before <= ${lookbackDays}`, sql`interactions > 0`],
  });
  return sql`
    SELECT
      campaign_id,
      ${distinctCount(sql`transition_id`)} AS opt_outs,
      ${distinctCount(sql`user_id`)} AS users,
      sum(interactions_v) AS interactions,
      sum(opens_v) AS opens,
      sum(clicks_v) AS clicks,
      sum(dismisses_v) AS dismisses,
      sum(conversions_v) AS conversions
    FROM (${touches})
    WHERE transition_id IN (SELECT transition_id FROM (${liveOptOuts(scope)}))
    GROUP BY campaign_id
    ORDER BY opt_outs DESC, campaign_id ASC`;
}

/** Per campaign: opt-outs whose latest interaction in [t - L days, t) was with it. */
function lastTouchSql(scope: FactScope, lookbackDays: number): SqlFragment {
  return sql`
    SELECT last_touch_campaign_id AS campaign_id, count() AS last_touch_opt_outs
    FROM (${liveOptOuts(scope, ['occurred_at_ms', 'last_touch_campaign_id', 'last_touch_at_ms'])})
    WHERE last_touch_at_ms >= occurred_at_ms - ${lookbackDays * DAY_MS}
    GROUP BY campaign_id`;
}

/** Per campaign of the app: distinct users sent a push of it in [start - L days, end). */
function reachSql(scope: FactScope, lookbackDays: number): SqlFragment {
  const widened = {
    start: new Date(scope.range.start.getTime() - lookbackDays * DAY_MS),
    end: scope.range.end,
  };
  return sql`
    SELECT campaign_id, ${distinctCount(sql`user_id`)} AS reach
    FROM campaign_reach
    WHERE app_id = ${scope.appId} AND ${inRange(sql`sent_at`, widened)}
    GROUP BY campaign_id`;
}

/** Latest known name: the one observed last, ties broken by the larger event_id. */
function namesSql(scope: FactScope, ids: string[]): SqlFragment {
  return sql`
    SELECT campaign_id, argMax(campaign_name, tuple(observed_at_ms, event_id)) AS name
    FROM campaign_names
    WHERE app_id = ${scope.appId} AND campaign_id IN ${ids}
    GROUP BY campaign_id`;
}

/**
 * The pooled rate of SPEC 5.1: over every campaign with a reach (those without
 * opt-outs add reach and no users), the sum of users over the sum of reach.
 */
export function baselineRate(
  reachById: ReadonlyMap<string, number>,
  usersById: ReadonlyMap<string, number>,
): number | null {
  let users = 0;
  let reach = 0;
  for (const [id, r] of reachById) {
    if (r <= 0) continue;
    reach += r;
    users += usersById.get(id) ?? 0;
  }
  return reach === 0 ? null : users / reach;
}

/** lift and significant of one campaign against the baseline. */
export function againstBaseline(
  users: number,
  reach: number,
  baseline: number | null,
): Pick<CampaignRow, 'lift' | 'significant'> {
  const rate = reach === 0 ? null : users / reach;
  const lower = wilsonLowerBound(users, reach);
  return {
    lift: rate === null || baseline === null || baseline === 0 ? null : rate / baseline,
    significant: lower !== null && baseline !== null && lower > baseline,
  };
}

export async function campaigns(
  warehouse: Warehouse,
  scope: FactScope,
  lookbackDays: number,
  limit: number,
  timeoutMs: number,
): Promise<CampaignsResult> {
  const [touched, reach, lastTouch] = await Promise.all([
    warehouse.rows(touchedCampaignsSql(scope, lookbackDays), { timeoutMs, label: 'campaigns_touched' }),
    warehouse.rows(reachSql(scope, lookbackDays), { timeoutMs, label: 'campaigns_reach' }),
    warehouse.rows(lastTouchSql(scope, lookbackDays), { timeoutMs, label: 'campaigns_last_touch' }),
  ]);
  const reachById = new Map(reach.map((row) => [String(row.campaign_id), num(row.reach)]));
  const usersById = new Map(touched.map((row) => [String(row.campaign_id), num(row.users)]));
  const baseline = baselineRate(reachById, usersById);
  // `touched` is sorted by opt_outs desc, campaign_id asc.
  const top = touched.slice(0, limit);
  if (top.length === 0) return { baseline_rate: baseline, campaigns: [] };
  const ids = top.map((row) => String(row.campaign_id));
  const names = await warehouse.rows(namesSql(scope, ids), { timeoutMs, label: 'campaigns_names' });
  const byId = <K extends string>(rows: Record<string, unknown>[], key: K) =>
    new Map(rows.map((row) => [String(row.campaign_id), row[key]]));
  const lastTouchById = byId(lastTouch, 'last_touch_opt_outs');
  const nameById = byId(names, 'name');
  const rows = top.map((row): CampaignRow => {
    const id = String(row.campaign_id);
    const users = num(row.users);
    const reachCount = reachById.get(id) ?? 0;
    return {
      campaign_id: id,
      campaign_name: nameById.has(id) ? String(nameById.get(id)) : null,
      opt_outs: num(row.opt_outs),
      users,
      interactions: num(row.interactions),
      opens: num(row.opens),
      clicks: num(row.clicks),
      dismisses: num(row.dismisses),
      conversions: num(row.conversions),
      last_touch_opt_outs: lastTouchById.has(id) ? num(lastTouchById.get(id)) : 0,
      reach: reachCount,
      opt_out_rate: reachCount === 0 ? null : users / reachCount,
      ...againstBaseline(users, reachCount, baseline),
    };
  });
  return { baseline_rate: baseline, campaigns: rows };
}
