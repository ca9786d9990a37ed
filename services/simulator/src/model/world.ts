// The simulated world: apps, their campaigns (of different quality) and their
// users (with personal traits and the mutable state the day simulation carries
// from one day to the next). Built once from the seed.
import { createRng, type Rng } from './rng.ts';

export type CampaignQuality = 'bad' | 'neutral' | 'good';
export type CampaignSchedule = 'daily' | 'weekly' | 'blast';

export interface Campaign {
  appId: string;
  id: string;
  name: string;
  /** Renamed from this day on (exercises "latest known campaign name"); null = never. */
  rename: { day: number; name: string } | null;
  quality: CampaignQuality;
  schedule: CampaignSchedule;
  /** weekly: the UTC weekday it is sent on; blast: the day indexes it is sent on. */
  weekday: number;
  blastDays: ReadonlySet<number>;
  /**
   * The day index of a misfired send (the app's first campaign, 3 days before
   * the history ends): it goes out twice, to nearly every user. The incident
   * the dashboard should make obvious: a spike on the trend, and a campaign
   * whose opt-out rate stands out beyond chance. null = none.
   */
  misfireDay: number | null;
  /** UTC hour of the send. */
  hour: number;
  /** Share of the app's push-receiving users it targets on a send day. */
  audience: number;
  openRate: number;
  /** Of the opens. */
  clickRate: number;
  conversionRate: number;
  /** Of the non-opens. */
  dismissRate: number;
  /** Chance, per push received, that the recipient opts out of PUSH within hours. */
  optOutPerPush: number;
  /** Chance that a user who opted out because of it goes quiet in the app afterwards. */
  quietAfterOptOut: number;
}

/** Consent state per channel: what the user did, including what the pipeline never saw. */
export const CONSENT_UNKNOWN = 0; // never stated: receives messages, counts as not opted out
export const CONSENT_IN = 1;
export const CONSENT_OUT = 2;
export const CONSENT_OUT_BEFORE_HISTORY = 3; // opted out before the history began: no record, no pushes

export const CHANNEL_INDEX = { PUSH: 0, EMAIL: 1, SMS: 2, IN_APP: 3 } as const;

export interface SimUser {
  appIndex: number;
  appId: string;
  userId: string;
  externalId: string | null;
  email: string | null;
  phone: string | null;
  platform: 'ios' | 'android' | 'web';
  /** Day index the user installs the app on; -1 = already there when the history starts. */
  installDay: number;
  /** Mean app events on an active day, and the chance of being active on a day. */
  activity: number;
  activeProb: number;
  /** Personal multiplier of opt-out risk (lognormal around 1). */
  sensitivity: number;
  /** Chance of going quiet in the app after opting out, and of opting back in later. */
  quietPropensity: number;
  optInPropensity: number;
  /** Share of campaign sends that reach this user (targeting). */
  reach: number;

  // ----- state carried from day to day
  consent: Uint8Array;
  /** Pushes received on each of the last 7 days (ring indexed by day % 7). */
  pushRing: Uint16Array;
  /** App events stop after this instant (user went quiet); Infinity = active. */
  quietFromMs: number;
  /** Scheduled opt-ins (users who come back). */
  pendingOptIns: { channel: number; atMs: number; source: string | null }[];
}

export interface App {
  index: number;
  id: string;
  campaigns: Campaign[];
  users: SimUser[];
}

export interface World {
  apps: App[];
  users: SimUser[];
  campaignsByApp: Campaign[][];
}

export interface WorldOptions {
  seed: number;
  apps: number;
  users: number;
  campaigns: number;
  days: number;
}

const APP_NAMES = ['acme-shop', 'daily-news', 'puzzle-quest', 'fit-track', 'travel-go', 'food-dash'];
const CAMPAIGN_NAMES = [
  'Weekly Digest',
  'Flash Sale',
  'Cart Reminder',
  'New Feature Tour',
  'Win-back Offer',
  'Breaking News',
  'Daily Streak',
  'Weekend Picks',
  'Price Drop Alert',
  'Loyalty Points',
  'Survey Invite',
  'Mega Blast',
];

export function appIdOf(index: number): string {
  return APP_NAMES[index] ?? `app-${index + 1}`;
}

/** Quality of the i-th campaign of an app: the first is bad, the second good, then a mix. */
function qualityOf(i: number, rng: Rng): CampaignQuality {
  if (i === 0) return 'bad';
  if (i === 1) return 'good';
  const u = rng.next();
  return u < 0.25 ? 'bad' : u < 0.55 ? 'good' : 'neutral';
}

function makeCampaign(appId: string, i: number, days: number, rng: Rng): Campaign {
  const quality = qualityOf(i, rng);
  const base = CAMPAIGN_NAMES[i % CAMPAIGN_NAMES.length]!;
  const name = i < CAMPAIGN_NAMES.length ? base : `${base} ${Math.floor(i / CAMPAIGN_NAMES.length) + 1}`;
  const schedule: CampaignSchedule =
    quality === 'bad'
      ? rng.chance(0.6)
        ? 'blast'
        : 'daily'
      : rng.pick(['daily', 'weekly', 'weekly', 'blast']);
  const blastDays = new Set<number>();
  if (schedule === 'blast') {
    const count = Math.max(2, Math.round(Math.max(1, days) / 6));
    for (let k = 0; k < count; k++) blastDays.add(rng.int(Math.max(1, days + 30)));
  }
  const byQuality = {
    bad: { open: 0.04, click: 0.15, conv: 0.01, dismiss: 0.55, optOut: 0.02, quiet: 0.6, audience: 0.7 },
    neutral: {
      open: 0.12,
      click: 0.3,
      conv: 0.05,
      dismiss: 0.25,
      optOut: 0.0015,
      quiet: 0.35,
      audience: 0.4,
    },
    good: { open: 0.25, click: 0.45, conv: 0.12, dismiss: 0.1, optOut: 0.0002, quiet: 0.2, audience: 0.35 },
  }[quality];
  const renamed = rng.chance(0.25) && days > 2;
  return {
    appId,
    id: `cmp-${appId}-${String(i + 1).padStart(3, '0')}`,
    name,
    rename: renamed ? { day: 1 + rng.int(days - 1), name: `${name} (v2)` } : null,
    quality,
    schedule,
    weekday: rng.int(7),
    blastDays,
    // No random draw: the rest of the world stays what the seed made it.
    misfireDay: i === 0 && days >= 4 ? days - 3 : null,
    hour: 8 + rng.int(13),
    audience: byQuality.audience * (schedule === 'daily' ? 0.6 : 1),
    openRate: byQuality.open,
    clickRate: byQuality.click,
    conversionRate: byQuality.conv,
    dismissRate: byQuality.dismiss,
    optOutPerPush: byQuality.optOut,
    quietAfterOptOut: byQuality.quiet,
  };
}

/** Share of the app's push-receiving users a misfired send reaches. */
export const MISFIRE_AUDIENCE = 0.95;

/** Does the campaign send on this day index (weekday = UTC weekday of that day)? */
export function sendsOn(c: Campaign, day: number, weekday: number): boolean {
  if (c.schedule === 'daily' || day === c.misfireDay) return true;
  if (c.schedule === 'weekly') return weekday === c.weekday;
  return c.blastDays.has(day);
}

export function campaignNameOn(c: Campaign, day: number): string {
  return c.rename && day >= c.rename.day ? c.rename.name : c.name;
}

function makeUser(appIndex: number, appId: string, n: number, days: number, rng: Rng): SimUser {
  const consent = new Uint8Array(4);
  if (rng.chance(0.12)) consent[CHANNEL_INDEX.PUSH] = CONSENT_OUT_BEFORE_HISTORY;
  const preexisting = rng.chance(0.75) || days < 1;
  const hasEmail = rng.chance(0.6);
  const hasPhone = rng.chance(0.35);
  const u = rng.next();
  return {
    appIndex,
    appId,
    userId: `user-${String(n).padStart(6, '0')}`,
    externalId: rng.chance(0.8) ? `crm-${appIndex + 1}${String(100000 + n)}` : null,
    email: hasEmail ? `user${n}.${appIndex + 1}@example.com` : null,
    phone: hasPhone ? `+1555${String(1000000 + ((n * 7919 + appIndex) % 9000000)).padStart(7, '0')}` : null,
    platform: u < 0.45 ? 'ios' : u < 0.95 ? 'android' : 'web',
    installDay: preexisting ? -1 : rng.int(days),
    activity: Math.exp(1.4 + 0.6 * rng.normal()),
    activeProb: 0.25 + 0.7 * rng.next(),
    sensitivity: Math.exp(0.5 * rng.normal()),
    quietPropensity: 0.15 + 0.4 * rng.next(),
    optInPropensity: rng.chance(0.3) ? 0.5 : 0.05,
    reach: 0.5 + 0.5 * rng.next(),
    consent,
    pushRing: new Uint16Array(7),
    quietFromMs: Number.POSITIVE_INFINITY,
    pendingOptIns: [],
  };
}

/** Builds the world. Users are spread over apps with decreasing weights (the first app is the biggest). */
export function buildWorld(options: WorldOptions): World {
  const rng = createRng(options.seed).fork('world');
  const weights = Array.from({ length: options.apps }, (_, i) => 1 / Math.sqrt(i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const apps: App[] = [];
  const users: SimUser[] = [];
  let assigned = 0;
  for (let a = 0; a < options.apps; a++) {
    const appId = appIdOf(a);
    const count =
      a === options.apps - 1 ? options.users - assigned : Math.round((options.users * weights[a]!) / total);
    assigned += count;
    const campaignRng = rng.fork(`campaigns-${a}`);
    const campaigns = Array.from({ length: options.campaigns }, (_, i) =>
      makeCampaign(appId, i, options.days, campaignRng),
    );
    const userRng = rng.fork(`users-${a}`);
    const appUsers = Array.from({ length: count }, (_, n) =>
      makeUser(a, appId, n + 1, options.days, userRng),
    );
    apps.push({ index: a, id: appId, campaigns, users: appUsers });
    for (const user of appUsers) users.push(user);
  }
  return { apps, users, campaignsByApp: apps.map((app) => app.campaigns) };
}
