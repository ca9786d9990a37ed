// Seeded, realistic event sets for checking the pipeline and the query API against
// the reference (test/support/reference.ts). Deterministic: the same options give the
// same events. Imports node built-ins and the reference's own types only.
import type {
  AppEvent,
  CampaignInteraction,
  Channel,
  ConsentChange,
  InputEvent,
  Interaction,
  PushSent,
} from './reference.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  seed: number;
  /** Epoch ms; every event has occurred_at in [now - days, now - 1 hour]. */
  now: number;
  apps?: number;
  /** Users per app; the same user ids are reused in every app (apps must stay apart). */
  users?: number;
  days?: number;
  campaigns?: number;
  channels?: Channel[];
  /** Prefix of app ids (default 'app'): app ids are `<prefix>-1`, `<prefix>-2`, ... */
  appPrefix?: string;
  /** Prefix of every event_id (default `s<seed>`), so sets of different seeds never share ids. */
  idPrefix?: string;
  /** Multiplies every user's pushes and app events per day (default 1): long histories use less. */
  density?: number;
  /** Consent histories per (user, channel), spread over the days (default 1). */
  consentHistories?: number;
}

const EVENT_NAMES = ['app_open', 'view_item', 'search', 'add_to_cart', 'purchase', 'logout'];
const EVENT_WEIGHTS = [8, 5, 3, 2, 1, 1];
const SOURCES = ['os_settings', 'preference_center', 'unsubscribe_link', 'api', null];
const PLATFORMS = ['ios', 'android', 'web', null];
// Consent histories per (user, channel), in time order: unknown -> OUT, repeats, opting back in.
const CONSENT_PATTERNS: ConsentChange['status'][][] = [
  [],
  [],
  ['OPTED_IN'],
  ['OPTED_OUT'],
  ['OPTED_IN', 'OPTED_OUT'],
  ['OPTED_OUT', 'OPTED_OUT'],
  ['OPTED_IN', 'OPTED_OUT', 'OPTED_OUT'],
  ['OPTED_OUT', 'OPTED_IN'],
  ['OPTED_IN', 'OPTED_OUT', 'OPTED_IN', 'OPTED_OUT'],
  ['OPTED_OUT', 'OPTED_IN', 'OPTED_IN', 'OPTED_OUT', 'OPTED_OUT'],
];

/**
 * True when no outcome of an opt-out at t can change within 30 minutes of `now`:
 * t + X days stays more than 30 minutes away from now for every X in 1..30.
 */
export function outcomeStableAt(t: number, now: number): boolean {
  for (let x = 1; x <= 30; x++) if (Math.abs(t + x * DAY_MS - now) <= 30 * MINUTE_MS) return false;
  return true;
}

export function generateEvents(options: GenerateOptions): InputEvent[] {
  const {
    seed,
    now,
    apps = 2,
    users = 30,
    days = 14,
    campaigns = 5,
    channels = ['PUSH', 'EMAIL'],
    appPrefix = 'app',
    idPrefix = `s${seed}`,
    density = 1,
    consentHistories = 1,
  } = options;
  const rnd = mulberry32(seed);
  const lo = now - days * DAY_MS;
  const hi = now - HOUR_MS;
  const within = (ms: number) => ms >= lo && ms <= hi;
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <X>(list: readonly X[]): X => list[int(list.length)]!;
  const chance = (p: number) => rnd() < p;
  const weighted = <X>(list: readonly X[], weights: readonly number[]): X => {
    let r = rnd() * weights.reduce((a, w) => a + w, 0);
    for (let i = 0; i < list.length; i++) {
      r -= weights[i]!;
      if (r < 0) return list[i]!;
    }
    return list[list.length - 1]!;
  };
  const timeIn = (from: number, to: number) => from + int(Math.max(1, to - from));

  let counter = 0;
  // A random part before the counter, so that event_id order differs from time order
  // and same-millisecond ties are broken in no particular generation order.
  const id = () => `${idPrefix}-${int(0xffffff).toString(16).padStart(6, '0')}-${++counter}`;

  const out: InputEvent[] = [];
  const emitPush = (e: Omit<PushSent, 'event_id'>) =>
    out.push({ kind: 'pushSent', event: { event_id: id(), ...e } });
  const emitTouch = (e: Omit<CampaignInteraction, 'event_id'>) =>
    out.push({ kind: 'campaignInteraction', event: { event_id: id(), ...e } });
  const emitApp = (e: Omit<AppEvent, 'event_id'>) =>
    out.push({ kind: 'appEvent', event: { event_id: id(), ...e } });
  const emitConsent = (e: Omit<ConsentChange, 'event_id'>) =>
    out.push({ kind: 'consentChange', event: { event_id: id(), ...e } });

  for (let a = 1; a <= apps; a++) {
    const app_id = `${appPrefix}-${a}`;
    // Campaign names change once over time; the last campaign never has a name.
    const campaignIds = Array.from({ length: campaigns }, (_, k) => `c-${k + 1}`);
    const renamedAt = campaignIds.map(() => timeIn(lo, hi));
    const campaignName = (k: number, at: number): string | null => {
      if (k === campaigns - 1 || chance(0.2)) return null;
      return at < renamedAt[k]! ? `Campaign ${k + 1}` : `Campaign ${k + 1} (v2)`;
    };

    for (let u = 1; u <= users; u++) {
      const user_id = `u-${u}`;
      const base = { app_id, user_id };

      // Identity over time: external id and identifiers that change once.
      const hasExternal = chance(0.6);
      const externalChangeAt = timeIn(lo, hi);
      const externalId = (at: number) =>
        hasExternal ? `ext-${a}-${u}-${at < externalChangeAt ? 'v1' : 'v2'}` : null;
      const identifiers = (at: number): Record<string, string> => {
        if (chance(0.3)) return {};
        const map: Record<string, string> = {};
        if (chance(0.6)) map.phone = `+1555${String(u).padStart(4, '0')}`;
        map.email = at < externalChangeAt ? `${user_id}@example.com` : `${user_id}@new.example.com`;
        return map; // keys deliberately not sorted
      };

      // Consent histories per channel; OPTED_OUT times kept where outcomes cannot flip.
      const optOutTimes: number[] = [];
      // With several histories, each lives in its own slice of the days.
      const slices = Array.from({ length: consentHistories }, (_, k) => [
        lo + ((hi - lo) * k) / consentHistories,
        lo + ((hi - lo) * (k + 1)) / consentHistories,
      ]);
      for (const channel of channels.flatMap((c) => slices.map((slice) => [c, slice] as const))) {
        const [name, [from, to]] = channel;
        const pattern = pick(CONSENT_PATTERNS);
        const times = pattern
          .map((status) => {
            let t = timeIn(Math.floor(from!) + 2 * HOUR_MS, Math.floor(to!) - HOUR_MS);
            while (status === 'OPTED_OUT' && !outcomeStableAt(t, now)) t -= 45 * MINUTE_MS;
            return t;
          })
          .sort((x, y) => x - y);
        for (let i = 1; i < times.length; i++) {
          // Sometimes two changes share a millisecond: event_id decides their order.
          if (chance(0.15) && (pattern[i] === 'OPTED_IN' || outcomeStableAt(times[i - 1]!, now))) {
            times[i] = times[i - 1]!;
          }
        }
        pattern.forEach((status, i) => {
          const at = times[i]!;
          if (!within(at)) return;
          if (status === 'OPTED_OUT') optOutTimes.push(at);
          emitConsent({
            ...base,
            occurred_at: at,
            channel: name,
            status,
            source: pick(SOURCES),
            external_id: chance(0.5) ? externalId(at) : null,
            identifiers: identifiers(at),
          });
        });
      }

      // Pushes: a per-user pressure from none to heavy; some transactional (no campaign).
      const pushesPerDay = pick([0, 0.3, 1, 2, 4]) * density;
      const pushCount = Math.round(pushesPerDay * days * (0.5 + rnd()));
      const campaignsPushed: { campaign: number | null; at: number; message_id: string }[] = [];
      for (let i = 0; i < pushCount; i++) {
        const at = timeIn(lo, hi);
        const campaign = chance(0.2) ? null : int(campaigns);
        const message_id = `${idPrefix}-m${counter + 1}`;
        campaignsPushed.push({ campaign, at, message_id });
        emitPush({
          ...base,
          occurred_at: at,
          message_id,
          campaign_id: campaign === null ? null : campaignIds[campaign]!,
          campaign_name: campaign === null ? null : campaignName(campaign, at),
          platform: pick(PLATFORMS),
        });
      }

      // Interactions: reactions to campaign pushes (sometimes in the same ms), plus a few
      // without a message (in-app), of every type.
      for (const p of campaignsPushed) {
        if (p.campaign === null || !chance(0.5)) continue;
        const first: Interaction = weighted(['OPEN', 'DISMISS', 'UNKNOWN'], [6, 4, 1]);
        const steps: Interaction[] = [first];
        if (first === 'OPEN' && chance(0.4)) steps.push('CLICK');
        if (steps.includes('CLICK') && chance(0.4)) steps.push('CONVERSION');
        let at = p.at + (chance(0.2) ? 0 : int(2 * HOUR_MS));
        for (const interaction of steps) {
          if (!within(at)) break;
          emitTouch({
            ...base,
            occurred_at: at,
            campaign_id: campaignIds[p.campaign]!,
            campaign_name: campaignName(p.campaign, at),
            message_id: p.message_id,
            interaction,
          });
          at += int(10 * MINUTE_MS);
        }
      }
      for (let i = int(3); i > 0; i--) {
        const campaign = int(campaigns);
        const at = timeIn(lo, hi);
        emitTouch({
          ...base,
          occurred_at: at,
          campaign_id: campaignIds[campaign]!,
          campaign_name: campaignName(campaign, at),
          message_id: null,
          interaction: pick(['OPEN', 'CLICK', 'DISMISS', 'CONVERSION', 'UNKNOWN'] as const),
        });
      }

      // App activity: some users go quiet after their first opt-out (churn), others stay.
      const quitsAt =
        optOutTimes.length > 0 && chance(0.45) ? Math.min(...optOutTimes) : Number.POSITIVE_INFINITY;
      const appPerDay = pick([0.2, 1, 3, 6]) * density;
      const appCount = Math.round(appPerDay * days * (0.5 + rnd()));
      for (let i = 0; i < appCount; i++) {
        const at = timeIn(lo, hi);
        if (at > quitsAt) continue;
        emitApp({
          ...base,
          occurred_at: at,
          event_name: weighted(EVENT_NAMES, EVENT_WEIGHTS),
          external_id: chance(0.3) ? externalId(at) : null,
        });
      }

      // Window boundaries around OPTED_OUT records: exactly t - 7d and t - 1d (inside),
      // t - 7d - 1ms (outside a 7-day window), t itself (outside), and exactly t + 1d / t + 7d
      // (inside the outcome window); no app event after the time a user went quiet.
      for (const t of optOutTimes) {
        if (!chance(0.5)) continue;
        const campaign = int(campaigns);
        const at = (ms: number, emit: (ms: number) => void) => within(ms) && emit(ms);
        const pushAt = (ms: number) =>
          emitPush({
            ...base,
            occurred_at: ms,
            message_id: `${idPrefix}-m${counter + 1}`,
            campaign_id: campaignIds[campaign]!,
            campaign_name: campaignName(campaign, ms),
            platform: pick(PLATFORMS),
          });
        const touchAt = (ms: number) =>
          emitTouch({
            ...base,
            occurred_at: ms,
            campaign_id: campaignIds[campaign]!,
            campaign_name: campaignName(campaign, ms),
            message_id: null,
            interaction: pick(['OPEN', 'CLICK', 'DISMISS'] as const),
          });
        const appAt = (ms: number) =>
          ms <= quitsAt &&
          emitApp({ ...base, occurred_at: ms, event_name: pick(EVENT_NAMES), external_id: null });
        at(t - 7 * DAY_MS, pushAt);
        at(t - 7 * DAY_MS - 1, pushAt);
        at(t - DAY_MS, pushAt);
        at(t, pushAt);
        at(t - 7 * DAY_MS, touchAt);
        at(t - DAY_MS, touchAt);
        at(t, touchAt);
        at(t - 7 * DAY_MS, appAt);
        at(t - DAY_MS, appAt);
        at(t, appAt); // at t: neither before nor after
        at(t + DAY_MS, appAt);
        at(t + 7 * DAY_MS, appAt);
      }
    }
  }
  return out.sort((x, y) => x.event.occurred_at - y.event.occurred_at);
}

/** A seeded Fisher-Yates shuffle (a new array): a late, out-of-order arrival of the same set. */
export function shuffle<X>(events: readonly X[], seed: number): X[] {
  const rnd = mulberry32(seed);
  const out = [...events];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * A new array with about `ratio * events.length` extra copies of randomly chosen events
 * (same event_id, identical content, deep-copied) inserted at random positions.
 */
export function withDuplicates(events: readonly InputEvent[], seed: number, ratio: number): InputEvent[] {
  const rnd = mulberry32(seed);
  const out = [...events];
  const copies = Math.round(events.length * ratio);
  for (let i = 0; i < copies && events.length > 0; i++) {
    const original = events[Math.floor(rnd() * events.length)]!;
    out.splice(Math.floor(rnd() * (out.length + 1)), 0, structuredClone(original));
  }
  return out;
}
