// One simulated day: what every user of every app does between dayStart and
// dayStart + 24h, given the state the previous days left behind. Returns the
// day's events sorted by occurred_at (event ids are given by the caller).
//
// The story the events tell (each part exercises a definition of SPEC 3):
// - campaigns send pushes on their schedule; recipients open, click, convert or
//   dismiss; a bad campaign's recipients often dismiss it and opt out of PUSH
//   within hours (campaigns chart, last touch), a good one's almost never;
// - on top, a daily PUSH opt-out risk that grows with the pushes received in the
//   previous 7 days (push-pressure histogram), with a weekly and a daily rhythm;
// - after opting out, some users go quiet in the app (churned), the others stay
//   active (retained); some opt back in days later; some re-state their opt-out
//   (not a new opt-out); EMAIL, SMS and IN_APP have their own sources;
// - external ids and identifiers (email, phone) ride on app events and consent changes.
import type { AppEvent, CampaignInteraction, ConsentChange, InputEvent, PushSent } from '@optout/events';
import {
  ACTIVITY_BY_HOUR,
  ACTIVITY_WEEKDAY,
  APP_EVENTS,
  type Behaviour,
  cumulative,
  DAY_MS,
  dailyOptOutHazard,
  fatigueMultiplier,
  HOUR_MS,
  MINUTE_MS,
  OPT_OUT_BY_HOUR,
  sampleIndex,
} from './behaviour.ts';
import type { Rng } from './rng.ts';
import {
  type Campaign,
  CONSENT_IN,
  CONSENT_OUT,
  CONSENT_OUT_BEFORE_HISTORY,
  campaignNameOn,
  MISFIRE_AUDIENCE,
  type SimUser,
  sendsOn,
  type World,
} from './world.ts';

const CHANNELS = ['PUSH', 'EMAIL', 'SMS', 'IN_APP'] as const;
const ACTIVITY_CDF = cumulative(ACTIVITY_BY_HOUR);
const OPT_OUT_CDF = cumulative(OPT_OUT_BY_HOUR);
const EVENT_NAMES = APP_EVENTS.map(([name]) => name);
const EVENT_CDF = cumulative(APP_EVENTS.map(([, weight]) => weight));

/** A time in the day following an hourly weight table. */
function timeIn(dayStart: number, cdf: Float64Array, rng: Rng): number {
  return dayStart + sampleIndex(cdf, rng.next()) * HOUR_MS + Math.floor(rng.next() * HOUR_MS);
}

interface DayContext {
  day: number;
  dayStart: number;
  dayEnd: number;
  weekday: number;
  rng: Rng;
  b: Behaviour;
  out: InputEvent[];
}

function appEvent(u: SimUser, at: number, name: string, withExternalId: boolean): InputEvent {
  const event: AppEvent = {
    event_id: '',
    app_id: u.appId,
    user_id: u.userId,
    occurred_at: at,
    event_name: name,
    external_id: withExternalId ? u.externalId : null,
  };
  return { kind: 'appEvent', event };
}

function consentChange(
  u: SimUser,
  at: number,
  channel: number,
  status: 'OPTED_IN' | 'OPTED_OUT',
  source: string | null,
  rng: Rng,
): InputEvent {
  const identifiers: Record<string, string> = {};
  // Most consent records carry what the platform knows; some carry nothing.
  if (rng.chance(0.85)) {
    if (u.email) identifiers.email = u.email;
    if (u.phone) identifiers.phone = u.phone;
  }
  const event: ConsentChange = {
    event_id: '',
    app_id: u.appId,
    user_id: u.userId,
    occurred_at: at,
    channel: CHANNELS[channel]!,
    status,
    source,
    external_id: rng.chance(0.7) ? u.externalId : null,
    identifiers,
  };
  return { kind: 'consentChange', event };
}

function pushSource(rng: Rng): string | null {
  const u = rng.next();
  return u < 0.6 ? 'os_settings' : u < 0.85 ? 'preference_center' : u < 0.92 ? 'api' : null;
}

function sourceFor(channel: number, rng: Rng): string | null {
  const u = rng.next();
  switch (channel) {
    case 0:
      return pushSource(rng);
    case 1:
      return u < 0.65 ? 'unsubscribe_link' : u < 0.9 ? 'preference_center' : null;
    case 2:
      return u < 0.6 ? 'api' : u < 0.8 ? 'preference_center' : null;
    default:
      return u < 0.7 ? 'preference_center' : 'api';
  }
}

interface OptOutPlan {
  at: number;
  channel: number;
  source: string | null;
  quietProb: number;
}

/** Opts the user out, with what follows: settings visit, re-statement, going quiet, coming back. */
function applyOptOut(ctx: DayContext, u: SimUser, plan: OptOutPlan): void {
  const { rng, out } = ctx;
  if (plan.channel === 0 && plan.source !== 'api' && u.quietFromMs > plan.at && rng.chance(0.6)) {
    out.push(
      appEvent(u, Math.max(ctx.dayStart, plan.at - 1 - rng.int(5 * MINUTE_MS)), 'settings_open', false),
    );
  }
  out.push(consentChange(u, plan.at, plan.channel, 'OPTED_OUT', plan.source, rng));
  u.consent[plan.channel] = CONSENT_OUT;
  if (rng.chance(ctx.b.restatementShare)) {
    out.push(
      consentChange(
        u,
        plan.at + 1 + Math.floor(rng.exponential(2 * HOUR_MS)),
        plan.channel,
        'OPTED_OUT',
        plan.source,
        rng,
      ),
    );
  }
  if (rng.chance(plan.quietProb) && u.quietFromMs > plan.at) {
    u.quietFromMs = plan.at + Math.floor(rng.exponential(HOUR_MS));
  }
  if (rng.chance(u.optInPropensity)) {
    const source =
      plan.channel === 0 ? (rng.chance(0.7) ? 'os_settings' : 'preference_center') : 'preference_center';
    u.pendingOptIns.push({
      channel: plan.channel,
      atMs: plan.at + DAY_MS + Math.floor(rng.exponential(6 * DAY_MS)),
      source,
    });
  }
}

function simulateUser(ctx: DayContext, u: SimUser, campaigns: readonly Campaign[]): void {
  const { rng, dayStart, dayEnd, day, out, b } = ctx;
  if (u.installDay > day) return;
  let activeFrom = dayStart;
  if (u.installDay === day) {
    activeFrom = timeIn(dayStart, ACTIVITY_CDF, rng);
    out.push(appEvent(u, activeFrom, 'app_install', u.externalId !== null));
    if (u.consent[0] !== CONSENT_OUT_BEFORE_HISTORY) {
      out.push(consentChange(u, activeFrom + 1000, 0, 'OPTED_IN', 'os_settings', rng));
      u.consent[0] = CONSENT_IN;
    }
    if (u.email) {
      out.push(consentChange(u, activeFrom + 2000, 1, 'OPTED_IN', 'api', rng));
      u.consent[1] = CONSENT_IN;
    }
  }

  // Users who come back: scheduled opt-ins, and users opted out before the history began.
  for (let i = u.pendingOptIns.length - 1; i >= 0; i--) {
    const pending = u.pendingOptIns[i]!;
    if (pending.atMs >= dayEnd) continue;
    u.pendingOptIns.splice(i, 1);
    if (u.consent[pending.channel] !== CONSENT_OUT) continue;
    const at = Math.max(pending.atMs, activeFrom);
    out.push(appEvent(u, at - 1, 'app_open', u.externalId !== null));
    out.push(consentChange(u, at, pending.channel, 'OPTED_IN', pending.source, rng));
    u.consent[pending.channel] = CONSENT_IN;
    if (u.quietFromMs < at) u.quietFromMs = Number.POSITIVE_INFINITY;
  }
  if (u.consent[0] === CONSENT_OUT_BEFORE_HISTORY && rng.chance(b.dormantOptInDaily)) {
    const at = timeIn(dayStart, ACTIVITY_CDF, rng);
    out.push(
      consentChange(u, Math.max(at, activeFrom), 0, 'OPTED_IN', rng.chance(0.8) ? 'os_settings' : null, rng),
    );
    u.consent[0] = CONSENT_IN;
  }

  // Pushes, their interactions, and the PUSH opt-out they may trigger.
  const pushes7d = u.pushRing.reduce((sum, n) => sum + n, 0);
  let optOut: OptOutPlan | null = null;
  const pushEvents: InputEvent[] = [];
  if (u.consent[0] !== CONSENT_OUT && u.consent[0] !== CONSENT_OUT_BEFORE_HISTORY) {
    for (const c of campaigns) {
      const misfire = day === c.misfireDay;
      if (!sendsOn(c, day, ctx.weekday)) continue;
      if (!rng.chance(misfire ? Math.max(c.audience, MISFIRE_AUDIENCE) : c.audience * u.reach)) continue;
      // A misfired send goes out twice, minutes apart: each copy can annoy.
      for (let copy = 0; copy < (misfire ? 2 : 1); copy++) {
        const sentAt = Math.max(
          activeFrom,
          dayStart + c.hour * HOUR_MS + rng.int(30 * MINUTE_MS) + copy * 20 * MINUTE_MS,
        );
        const messageId = `msg-${c.id}-${day}-${u.userId}${copy === 0 ? '' : `-${copy}`}`;
        const name = campaignNameOn(c, day);
        const push: PushSent = {
          event_id: '',
          app_id: u.appId,
          user_id: u.userId,
          occurred_at: sentAt,
          message_id: messageId,
          campaign_id: c.id,
          campaign_name: name,
          platform: u.platform,
        };
        pushEvents.push({ kind: 'pushSent', event: push });
        const interact = (at: number, interaction: CampaignInteraction['interaction']): number => {
          const event: CampaignInteraction = {
            event_id: '',
            app_id: u.appId,
            user_id: u.userId,
            occurred_at: at,
            campaign_id: c.id,
            // Interactions often come from a client that does not know the name.
            campaign_name: rng.chance(0.5) ? name : null,
            message_id: rng.chance(0.9) ? messageId : null,
            interaction,
          };
          pushEvents.push({ kind: 'campaignInteraction', event });
          return at;
        };
        let lastInteraction = 0;
        const seenAt = sentAt + 1000 + Math.floor(rng.exponential(20 * MINUTE_MS));
        if (rng.chance(c.openRate)) {
          lastInteraction = interact(seenAt, 'OPEN');
          if (rng.chance(c.clickRate)) {
            lastInteraction = interact(seenAt + 1000 + rng.int(2 * MINUTE_MS), 'CLICK');
            if (rng.chance(c.conversionRate / Math.max(c.clickRate, 0.01))) {
              lastInteraction = interact(lastInteraction + MINUTE_MS + rng.int(20 * MINUTE_MS), 'CONVERSION');
            }
          }
        } else if (rng.chance(c.dismissRate)) {
          lastInteraction = interact(seenAt, 'DISMISS');
        }
        // The last straw: a push annoys more after many others (the square root of
        // the fatigue below: a campaign's own quality still matters most).
        const strain = Math.sqrt(fatigueMultiplier(pushes7d, b));
        if (rng.chance(c.optOutPerPush * b.campaignEffect * u.sensitivity * strain)) {
          // The annoyed recipient reacts to the message (a dismiss if nothing else), then opts out soon after.
          if (lastInteraction === 0) lastInteraction = interact(seenAt, 'DISMISS');
          const at = lastInteraction + MINUTE_MS + Math.floor(rng.exponential(40 * MINUTE_MS));
          if (optOut === null || at < optOut.at) {
            optOut = { at, channel: 0, source: pushSource(rng), quietProb: c.quietAfterOptOut };
          }
        }
      }
    }
    const transactional = rng.poisson(b.transactionalPushesPerDay);
    for (let i = 0; i < transactional; i++) {
      const push: PushSent = {
        event_id: '',
        app_id: u.appId,
        user_id: u.userId,
        occurred_at: Math.max(activeFrom, timeIn(dayStart, ACTIVITY_CDF, rng)),
        message_id: `tx-${day}-${u.userId}-${i}`,
        campaign_id: null,
        campaign_name: null,
        platform: u.platform,
      };
      pushEvents.push({ kind: 'pushSent', event: push });
    }
    if (rng.chance(dailyOptOutHazard(pushes7d, ctx.weekday, u.sensitivity, b))) {
      const at = Math.max(activeFrom + 1, timeIn(dayStart, OPT_OUT_CDF, rng));
      if (optOut === null || at < optOut.at) {
        optOut = {
          at,
          channel: 0,
          source: pushSource(rng),
          quietProb: u.quietPropensity + Math.min(0.3, pushes7d / 60),
        };
      }
    }
  }
  // No pushes reach a user after the PUSH opt-out.
  let pushesToday = 0;
  for (const input of pushEvents) {
    if (optOut !== null && input.event.occurred_at >= optOut.at) continue;
    if (input.kind === 'pushSent') pushesToday++;
    out.push(input);
  }
  u.pushRing[day % 7] = pushesToday;

  // The other channels.
  const other: [number, boolean, number][] = [
    [1, u.email !== null, b.emailDailyOptOut],
    [2, u.phone !== null, b.smsDailyOptOut],
    [3, true, b.inAppDailyOptOut],
  ];
  const plans: OptOutPlan[] = optOut ? [optOut] : [];
  for (const [channel, reachable, p] of other) {
    if (!reachable || u.consent[channel] === CONSENT_OUT || !rng.chance(p * u.sensitivity)) continue;
    const at = Math.max(activeFrom + 1, timeIn(dayStart, OPT_OUT_CDF, rng));
    plans.push({ at, channel, source: sourceFor(channel, rng), quietProb: u.quietPropensity * 0.5 });
  }
  for (const plan of plans) applyOptOut(ctx, u, plan);

  // App activity, up to the moment the user goes quiet.
  if (
    u.quietFromMs > dayStart &&
    rng.chance(Math.min(1, u.activeProb * (ACTIVITY_WEEKDAY[ctx.weekday] ?? 1)))
  ) {
    const count = 1 + rng.poisson(Math.max(0, u.activity - 1));
    for (let i = 0; i < count; i++) {
      const at = timeIn(dayStart, ACTIVITY_CDF, rng);
      if (at < activeFrom || at >= u.quietFromMs) continue;
      const name = EVENT_NAMES[sampleIndex(EVENT_CDF, rng.next())]!;
      out.push(appEvent(u, at, name, u.externalId !== null && (name === 'login' || rng.chance(0.3))));
    }
  }
  // Now and then a user logs in on a new account: the latest external id changes.
  if (u.externalId !== null && rng.chance(0.0005)) u.externalId = `${u.externalId}-b`;
}

/** All events of day `day` (starting at `dayStart`), sorted by occurred_at; event ids left empty. */
export function simulateDay(
  world: World,
  day: number,
  dayStart: number,
  rng: Rng,
  b: Behaviour,
): InputEvent[] {
  const ctx: DayContext = {
    day,
    dayStart,
    dayEnd: dayStart + DAY_MS,
    weekday: new Date(dayStart).getUTCDay(),
    rng,
    b,
    out: [],
  };
  for (const user of world.users) simulateUser(ctx, user, world.campaignsByApp[user.appIndex]!);
  // Stable sort: equal instants keep their (deterministic) generation order.
  return ctx.out.sort((x, y) => x.event.occurred_at - y.event.occurred_at);
}
