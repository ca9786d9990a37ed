// Query API v1 answers (docs/api-contract.md), computed straight from the SPEC 3
// definitions over the set of events. Each endpoint returns the full JSON body,
// including the app_id / range / channel echo, so a test can compare whole bodies.
import {
  type Channel,
  compareStrings,
  DAY_MS,
  type Events,
  type Interaction,
  inHalfOpen,
  toEventSet,
} from './events.ts';
import {
  appEventsBefore,
  currentStatus,
  interactionsBefore,
  lastTouch,
  latestCampaignName,
  latestExternalId,
  latestIdentifiers,
  type Outcome,
  optOutsInRange,
  outcome,
  pushesBefore,
  type Transition,
  transitions,
} from './facts.ts';
import { spike, wilsonLower } from './statistics.ts';
import {
  addDays,
  datesBetween,
  daysInclusive,
  localDate,
  type RangeEcho,
  type ResolvedRange,
  rangeEcho,
  startOfLocalDay,
} from './time.ts';

export interface QueryParams {
  appId: string;
  /** Default PUSH. */
  channel?: Channel;
  range: ResolvedRange;
}

interface Echo {
  app_id: string;
  range: RangeEcho;
  channel: Channel;
}

function echo(p: QueryParams): Echo {
  return { app_id: p.appId, range: rangeEcho(p.range), channel: p.channel ?? 'PUSH' };
}

function optOuts(events: Events, p: QueryParams): Transition[] {
  return optOutsInRange(events, p.appId, p.channel ?? 'PUSH', p.range.startMs, p.range.endMs);
}

// ---------------------------------------------------------------- trend

export interface TrendCounts {
  opt_outs: number;
  opt_ins: number;
  /** Distinct users with at least one opt-out. */
  users: number;
}
export interface TrendDay extends TrendCounts {
  date: string;
  /** Median of the 28 preceding days' opt-outs (SPEC 5.1). */
  baseline: number;
  spike: boolean;
}
export interface TrendBody extends Echo {
  approximate: false;
  totals: TrendCounts;
  /** The same totals over the same number of days just before `from`. */
  previous: TrendCounts & { from: string; to: string };
  days: TrendDay[];
  sources?: (TrendCounts & { source: string | null; days: TrendDay[] })[];
}

/** The first instant of a calendar day in tz; days before 1970 hold no events, so 0. */
function dayStartMs(date: string, tz: string): number {
  return date < '1970-01-02' ? 0 : startOfLocalDay(date, tz);
}

/**
 * trend: opt-outs and opt-ins of the channel with t in the range, per calendar day in tz
 * (every day, zero-filled). With group_by=source, one entry per source (null included)
 * that has at least one opt-out or opt-in in the range — a source with only opt-ins is
 * listed with opt_outs 0; sorted opt_outs desc, then source, null last.
 */
export function trend(events: Events, p: QueryParams & { groupBy?: 'source' }, _now: number): TrendBody {
  const set = toEventSet(events);
  const channel = p.channel ?? 'PUSH';
  const { startMs, endMs, tz } = p.range;
  const inRange = transitions(set).filter(
    (t) => t.app_id === p.appId && t.channel === channel && inHalfOpen(t.occurred_at_ms, startMs, endMs),
  );
  const counts = (list: Transition[]): TrendCounts => {
    const outs = list.filter((t) => t.kind === 'OPT_OUT');
    return {
      opt_outs: outs.length,
      opt_ins: list.filter((t) => t.kind === 'OPT_IN').length,
      users: new Set(outs.map((t) => t.user_id)).size,
    };
  };
  const ofChannel = transitions(set).filter((t) => t.app_id === p.appId && t.channel === channel);
  // SPEC 5.1: a day's baseline and spike look at the 28 calendar days before it,
  // in the same series (all sources, or one), zeros included.
  const optOutsByDay = (source: string | null | undefined) => {
    const byDay = new Map<string, number>();
    for (const t of ofChannel) {
      if (t.kind !== 'OPT_OUT' || (source !== undefined && t.source !== source)) continue;
      const date = localDate(t.occurred_at_ms, tz);
      byDay.set(date, (byDay.get(date) ?? 0) + 1);
    }
    return byDay;
  };
  const days = (list: Transition[], source?: string | null): TrendDay[] => {
    const series = optOutsByDay(source);
    return datesBetween(p.range.from, p.range.to).map((date) => {
      const own = counts(list.filter((t) => localDate(t.occurred_at_ms, tz) === date));
      const preceding = datesBetween(addDays(date, -28), addDays(date, -1)).map((d) => series.get(d) ?? 0);
      return { date, ...own, ...spike(own.opt_outs, preceding) };
    });
  };
  const length = daysInclusive(p.range.from, p.range.to);
  const previousFrom = addDays(p.range.from, -length);
  const previous = {
    from: previousFrom,
    to: addDays(p.range.from, -1),
    ...counts(ofChannel.filter((t) => inHalfOpen(t.occurred_at_ms, dayStartMs(previousFrom, tz), startMs))),
  };
  const body: TrendBody = {
    ...echo(p),
    approximate: false,
    totals: counts(inRange),
    previous,
    days: days(inRange),
  };
  if (p.groupBy === 'source') {
    const sources = [...new Set(inRange.map((t) => t.source))];
    body.sources = sources
      .map((source) => {
        const list = inRange.filter((t) => t.source === source);
        return { source, ...counts(list), days: days(list, source) };
      })
      .sort(
        (a, b) =>
          b.opt_outs - a.opt_outs ||
          (a.source === null ? 1 : 0) - (b.source === null ? 1 : 0) ||
          compareStrings(a.source ?? '', b.source ?? ''),
      );
  }
  return body;
}

// ---------------------------------------------------------------- push-pressure

export interface PushPressureBody extends Echo {
  window_days: number;
  max_bucket: number;
  opt_outs: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  histogram: { pushes: string; opt_outs: number }[];
}

/** Nearest rank: sorted c[1..N], p-th percentile = c[ceil(p/100 * N)]; null when N = 0. */
export function nearestRank(values: readonly number[], percent: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  // (percent * N) / 100 in integers first, so ceil never sees a float error like 27.000000000000004.
  const rank = Math.max(1, Math.ceil((percent * sorted.length) / 100));
  return sorted[rank - 1]!;
}

export function pushPressure(
  events: Events,
  p: QueryParams & { windowDays?: number; maxBucket?: number },
  _now: number,
): PushPressureBody {
  const set = toEventSet(events);
  const windowDays = p.windowDays ?? 7;
  const maxBucket = p.maxBucket ?? 10;
  const counts = optOuts(set, p).map((t) => pushesBefore(set, t, windowDays));
  const histogram: { pushes: string; opt_outs: number }[] = [];
  for (let b = 0; b < maxBucket; b++) {
    histogram.push({ pushes: String(b), opt_outs: counts.filter((c) => c === b).length });
  }
  histogram.push({ pushes: `${maxBucket}+`, opt_outs: counts.filter((c) => c >= maxBucket).length });
  const sum = counts.reduce((a, c) => a + c, 0);
  return {
    ...echo(p),
    window_days: windowDays,
    max_bucket: maxBucket,
    opt_outs: counts.length,
    mean: counts.length === 0 ? null : sum / counts.length,
    p50: nearestRank(counts, 50),
    p90: nearestRank(counts, 90),
    histogram,
  };
}

// ---------------------------------------------------------------- campaigns

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
  /** opt_out_rate / baseline_rate (SPEC 5.1). */
  lift: number | null;
  /** The 95% Wilson lower bound of users / reach is above baseline_rate. */
  significant: boolean;
}
export interface CampaignsBody extends Echo {
  lookback_days: number;
  limit: number;
  approximate: false;
  campaigns: CampaignRow[];
  /** Pooled over every campaign with a reach in the widened range: sum of users / sum of reach. */
  baseline_rate: number | null;
}

const TYPE_FIELD: Partial<Record<Interaction, 'opens' | 'clicks' | 'dismisses' | 'conversions'>> = {
  OPEN: 'opens',
  CLICK: 'clicks',
  DISMISS: 'dismisses',
  CONVERSION: 'conversions',
};

/**
 * campaigns: per campaign with at least one interaction in [t - L, t) of an opt-out in
 * range. campaign_name is the latest known over ALL events (not limited to the range);
 * reach = distinct users (same app) sent a push of it in [start - L days, end).
 */
export function campaigns(
  events: Events,
  p: QueryParams & { lookbackDays?: number; limit?: number },
  _now: number,
): CampaignsBody {
  const set = toEventSet(events);
  const lookbackDays = p.lookbackDays ?? 7;
  const limit = p.limit ?? 20;
  const perCampaign = new Map<string, { row: CampaignRow; optOutIds: Set<string>; users: Set<string> }>();
  const entry = (campaignId: string) => {
    let e = perCampaign.get(campaignId);
    if (!e) {
      e = {
        row: {
          campaign_id: campaignId,
          campaign_name: null,
          opt_outs: 0,
          users: 0,
          interactions: 0,
          opens: 0,
          clicks: 0,
          dismisses: 0,
          conversions: 0,
          last_touch_opt_outs: 0,
          reach: 0,
          opt_out_rate: null,
          lift: null,
          significant: false,
        },
        optOutIds: new Set(),
        users: new Set(),
      };
      perCampaign.set(campaignId, e);
    }
    return e;
  };
  for (const t of optOuts(set, p)) {
    for (const i of interactionsBefore(set, t, lookbackDays)) {
      const e = entry(i.campaign_id);
      e.optOutIds.add(t.transition_id);
      e.users.add(t.user_id);
      e.row.interactions += 1;
      const field = TYPE_FIELD[i.interaction];
      if (field) e.row[field] += 1;
    }
    const touch = lastTouch(set, t, lookbackDays);
    if (touch) entry(touch.campaign_id).row.last_touch_opt_outs += 1;
  }
  const reachFrom = p.range.startMs - lookbackDays * DAY_MS;
  const rows = [...perCampaign.values()].map(({ row, optOutIds, users }) => {
    const reach = new Set(
      set.pushes
        .filter(
          (s) =>
            s.app_id === p.appId &&
            s.campaign_id === row.campaign_id &&
            inHalfOpen(s.occurred_at, reachFrom, p.range.endMs),
        )
        .map((s) => s.user_id),
    ).size;
    return {
      ...row,
      campaign_name: latestCampaignName(set, p.appId, row.campaign_id),
      opt_outs: optOutIds.size,
      users: users.size,
      reach,
      opt_out_rate: reach === 0 ? null : users.size / reach,
    };
  });
  rows.sort((a, b) => b.opt_outs - a.opt_outs || compareStrings(a.campaign_id, b.campaign_id));
  // SPEC 5.1: the pooled rate over every campaign of the app with a reach in the
  // widened range, whether or not anyone opted out after it (users 0 then).
  const reachedBy = new Map<string, Set<string>>();
  for (const s of set.pushes) {
    if (s.app_id !== p.appId || s.campaign_id === null) continue;
    if (!inHalfOpen(s.occurred_at, reachFrom, p.range.endMs)) continue;
    reachedBy.set(s.campaign_id, (reachedBy.get(s.campaign_id) ?? new Set()).add(s.user_id));
  }
  let pooledUsers = 0;
  let pooledReach = 0;
  for (const [campaignId, users] of reachedBy) {
    pooledReach += users.size;
    pooledUsers += rows.find((r) => r.campaign_id === campaignId)?.users ?? 0;
  }
  const baseline = pooledReach === 0 ? null : pooledUsers / pooledReach;
  const judged = rows.map((row) => {
    const lower = wilsonLower(row.users, row.reach);
    return {
      ...row,
      lift:
        row.opt_out_rate === null || baseline === null || baseline === 0 ? null : row.opt_out_rate / baseline,
      significant: lower !== null && baseline !== null && lower > baseline,
    };
  });
  return {
    ...echo(p),
    lookback_days: lookbackDays,
    limit,
    approximate: false,
    campaigns: judged.slice(0, limit),
    baseline_rate: baseline,
  };
}

// ---------------------------------------------------------------- events

export interface OutcomeCounts {
  opt_outs: number;
  users: number;
}
export interface EventsBody extends Echo {
  lookback_days: number;
  count: 'total' | 'unique';
  limit: number;
  approximate: false;
  outcomes: Record<Outcome, OutcomeCounts>;
  events: { event_name: string; retain: number; churn: number }[];
}

/** The `events` endpoint ("last events"): outcomes with X = lookback_days, and event names before retained/churned opt-outs. */
export function lastEvents(
  events: Events,
  p: QueryParams & { lookbackDays?: number; count?: 'total' | 'unique'; limit?: number },
  now: number,
): EventsBody {
  const set = toEventSet(events);
  const lookbackDays = p.lookbackDays ?? 7;
  const count = p.count ?? 'total';
  const limit = p.limit ?? 20;
  const classified = optOuts(set, p).map((t) => ({
    t,
    outcome: outcome(set, t, lookbackDays, now),
    before: appEventsBefore(set, t, lookbackDays),
  }));
  const outcomeCounts = (o: Outcome): OutcomeCounts => {
    const list = classified.filter((c) => c.outcome === o);
    return { opt_outs: list.length, users: new Set(list.map((c) => c.t.user_id)).size };
  };
  const decided = classified.filter((c) => c.outcome !== 'pending');
  const names = [...new Set(decided.flatMap((c) => c.before.map((e) => e.event_name)))];
  const measure = (o: Outcome, name: string): number => {
    const list = decided.filter((c) => c.outcome === o);
    if (count === 'total') {
      return list.reduce((sum, c) => sum + c.before.filter((e) => e.event_name === name).length, 0);
    }
    return new Set(list.filter((c) => c.before.some((e) => e.event_name === name)).map((c) => c.t.user_id))
      .size;
  };
  const rows = names
    .map((event_name) => ({
      event_name,
      retain: measure('retained', event_name),
      churn: measure('churned', event_name),
    }))
    .sort((a, b) => b.retain + b.churn - (a.retain + a.churn) || compareStrings(a.event_name, b.event_name));
  return {
    ...echo(p),
    lookback_days: lookbackDays,
    count,
    limit,
    approximate: false,
    outcomes: {
      retained: outcomeCounts('retained'),
      churned: outcomeCounts('churned'),
      pending: outcomeCounts('pending'),
    },
    events: rows.slice(0, limit),
  };
}

// ---------------------------------------------------------------- export

export interface ExportRow {
  user_id: string;
  external_id: string | null;
  /** Latest opt-out in range, ISO 8601 UTC with ms. */
  opted_out_at: string;
  opt_outs_in_range: number;
  /** Source of that latest opt-out. */
  source: string | null;
  /** The user's latest ConsentChange on the channel, over all events received, is OPTED_OUT. */
  currently_opted_out: boolean;
  /** Latest known identifiers, keys sorted, {} if none. */
  identifiers: Record<string, string>;
}

/**
 * export rows (no echo: the API streams rows). "Latest opt-out in range" is the max
 * (t, transition_id) — two opt-outs of one user can share a millisecond only with an
 * opt-in between them at that same millisecond. Ordered by opted_out_at, then user_id.
 */
export function exportRows(events: Events, p: QueryParams, _now: number): ExportRow[] {
  const set = toEventSet(events);
  const channel = p.channel ?? 'PUSH';
  const outs = optOuts(set, p);
  const rows = [...new Set(outs.map((t) => t.user_id))].map((userId) => {
    const own = outs
      .filter((t) => t.user_id === userId)
      .sort(
        (a, b) => a.occurred_at_ms - b.occurred_at_ms || compareStrings(a.transition_id, b.transition_id),
      );
    const last = own[own.length - 1]!;
    return {
      at: last.occurred_at_ms,
      row: {
        user_id: userId,
        external_id: latestExternalId(set, p.appId, userId),
        opted_out_at: new Date(last.occurred_at_ms).toISOString(),
        opt_outs_in_range: own.length,
        source: last.source,
        currently_opted_out: currentStatus(set, p.appId, userId, channel) === 'OPTED_OUT',
        identifiers: latestIdentifiers(set, p.appId, userId),
      },
    };
  });
  rows.sort((a, b) => a.at - b.at || compareStrings(a.row.user_id, b.row.user_id));
  return rows.map((r) => r.row);
}

export const EXPORT_COLUMNS = [
  'user_id',
  'external_id',
  'opted_out_at',
  'opt_outs_in_range',
  'source',
  'currently_opted_out',
  'identifiers',
] as const;

/** One CSV cell: null -> empty; formula-looking text gets a leading '; then RFC 4180 quoting. */
export function csvCell(value: string | number | boolean | null): string {
  if (value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CSV export body (header + rows; line ending CRLF per RFC 4180 unless told otherwise). */
export function exportCsv(rows: readonly ExportRow[], eol = '\r\n'): string {
  const lines = [EXPORT_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      EXPORT_COLUMNS.map((c) =>
        csvCell(
          c === 'identifiers' ? JSON.stringify(r.identifiers) : (r[c] as string | number | boolean | null),
        ),
      ).join(','),
    );
  }
  return lines.map((l) => l + eol).join('');
}
