// The behavioural knobs of the model and the pure functions that turn them into
// probabilities. Everything here is deterministic; randomness is applied by the
// caller (day.ts) so each rule can be tested on its own.

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

export interface Behaviour {
  /** Daily PUSH opt-out probability of an average user who received no push in the previous 7 days. */
  baseDailyOptOut: number;
  /**
   * Message fatigue: the risk multiplier is 1 + fatigueMax x p^e / (p^e + fatigueScale^e) for
   * p = pushes in the previous 7 days and e = fatigueExponent: it climbs from 1 with the first
   * pushes, is 1 + fatigueMax / 2 at fatigueScale pushes, and levels off below 1 + fatigueMax
   * (a user who already gets a lot is not made endlessly likelier to leave by one more).
   */
  fatigueScale: number;
  fatigueExponent: number;
  fatigueMax: number;
  /** Scales every campaign's per-push opt-out probability (0 disables campaign-driven opt-outs). */
  campaignEffect: number;
  /** Daily opt-out probabilities of the other channels (users who have the identifier). */
  emailDailyOptOut: number;
  smsDailyOptOut: number;
  inAppDailyOptOut: number;
  /** Transactional (campaign_id null) pushes per user per day. */
  transactionalPushesPerDay: number;
  /** Chance that an opt-out is later re-stated (a second OPTED_OUT without an opt-in between). */
  restatementShare: number;
  /** Chance that a user opted out before the history (unknown to the pipeline) opts in on a given day. */
  dormantOptInDaily: number;
}

export const DEFAULT_BEHAVIOUR: Behaviour = {
  baseDailyOptOut: 0.0008,
  // Risk x2.4 at 4 pushes in 7 days, x4.5 at 8, x5.8 at 12, x7 at 20: the exposure curve climbs, then levels.
  fatigueScale: 8,
  fatigueExponent: 2,
  fatigueMax: 7,
  campaignEffect: 1,
  emailDailyOptOut: 0.0012,
  smsDailyOptOut: 0.0006,
  inAppDailyOptOut: 0.0003,
  transactionalPushesPerDay: 0.25,
  restatementShare: 0.08,
  dormantOptInDaily: 0.004,
};

/** Multiplier of the opt-out risk for the pushes received in the 7 days before: 1 at 0, increasing. */
export function fatigueMultiplier(pushes7d: number, b: Behaviour = DEFAULT_BEHAVIOUR): number {
  const pressure = Math.max(0, pushes7d) ** b.fatigueExponent;
  return 1 + (b.fatigueMax * pressure) / (pressure + b.fatigueScale ** b.fatigueExponent);
}

/** Weekly rhythm of opt-outs, Sunday = 0: Monday after the weekend's campaigns is the worst day. */
export const OPT_OUT_WEEKDAY = [0.8, 1.35, 1.1, 1, 1, 0.9, 0.75] as const;

/** Weekly rhythm of app activity, Sunday = 0. */
export const ACTIVITY_WEEKDAY = [1.15, 0.95, 0.95, 0.95, 1, 1.05, 1.2] as const;

/** Daily PUSH opt-out probability from message fatigue (campaign-driven opt-outs come on top). */
export function dailyOptOutHazard(
  pushes7d: number,
  weekday: number,
  sensitivity: number,
  b: Behaviour = DEFAULT_BEHAVIOUR,
): number {
  const p =
    b.baseDailyOptOut * fatigueMultiplier(pushes7d, b) * (OPT_OUT_WEEKDAY[weekday] ?? 1) * sensitivity;
  return Math.min(0.5, p);
}

/** Relative activity by hour of day (UTC): quiet nights, a lunch bump, an evening peak. */
export const ACTIVITY_BY_HOUR = [
  0.5, 0.3, 0.2, 0.15, 0.15, 0.25, 0.6, 1.1, 1.5, 1.5, 1.4, 1.5, 1.9, 1.8, 1.5, 1.4, 1.5, 1.8, 2.3, 2.6, 2.6,
  2.2, 1.5, 0.9,
] as const;

/** Relative opt-outs by hour of day: people tidy their settings in the evening. */
export const OPT_OUT_BY_HOUR = [
  0.4, 0.25, 0.15, 0.1, 0.1, 0.2, 0.5, 1, 1.3, 1.2, 1.1, 1.2, 1.5, 1.4, 1.2, 1.2, 1.3, 1.6, 2, 2.5, 2.8, 2.6,
  1.8, 0.9,
] as const;

/** Cumulative distribution of an hourly weight table, for sampling. */
export function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i]!;
    out[i] = sum;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Index of the first cumulative weight above u (u in [0, 1)). */
export function sampleIndex(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (u < cdf[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** App event names with their relative frequencies. */
export const APP_EVENTS: readonly (readonly [string, number])[] = [
  ['screen_view', 34],
  ['app_open', 28],
  ['article_read', 8],
  ['search', 8],
  ['level_complete', 5],
  ['add_to_cart', 6],
  ['login', 3],
  ['purchase', 2],
  ['share', 2],
  ['rate_app', 0.5],
];
