// The event set of the insights tests (SPEC 5.1): generated histories, plus a
// hand-made burst that the definitions must notice (a spike, a significant
// campaign, win-backs) and users on the exact edges of the definitions.
import { generateEvents } from '../support/generate.ts';
import type { InputEvent } from '../support/reference/events.ts';

export const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** A fixed clock (data, presets and the server agree): 12 Nov 2025, 15:00 UTC. */
export const NOW = Date.UTC(2025, 10, 12, 15, 0, 0);
/** Inside every custom range of the tests (UTC, Kolkata, New York across its DST end on 2 Nov). */
export const BURST_DAY = Date.UTC(2025, 10, 5);
export const APP = 'app-1';

/**
 * Fourteen known users of `appId` sent the "c-burst" campaign on the UTC day
 * starting at `day`, all opting out of PUSH within hours (a spike; a campaign
 * far above the pooled rate), a third back within a day, a third within 7.
 */
export function burst(appId: string, day: number): InputEvent[] {
  const out: InputEvent[] = [];
  for (let i = 1; i <= 14; i++) {
    const user_id = `burst-${String(i).padStart(2, '0')}`;
    const base = { app_id: appId, user_id };
    const id = (what: string) => `burst-${day}-${what}-${i}`;
    const sentAt = day + 9 * HOUR + i * MINUTE;
    const optOutAt = day + 12 * HOUR + i * 7 * MINUTE;
    out.push({
      kind: 'appEvent',
      event: {
        ...base,
        event_id: id('install'),
        occurred_at: day - 10 * DAY,
        event_name: 'app_open',
        external_id: null,
      },
    });
    // Pushes on the days before: the exposure buckets of these users climb.
    for (let d = 1; d <= i % 5; d++) {
      out.push({
        kind: 'pushSent',
        event: {
          ...base,
          event_id: id(`warmup${d}`),
          occurred_at: day - d * DAY + 3 * HOUR,
          message_id: id(`wm${d}`),
          campaign_id: null,
          campaign_name: null,
          platform: 'ios',
        },
      });
    }
    out.push({
      kind: 'pushSent',
      event: {
        ...base,
        event_id: id('push'),
        occurred_at: sentAt,
        message_id: id('msg'),
        campaign_id: 'c-burst',
        campaign_name: 'Burst',
        platform: 'android',
      },
    });
    out.push({
      kind: 'campaignInteraction',
      event: {
        ...base,
        event_id: id('dismiss'),
        occurred_at: sentAt + 5 * MINUTE,
        campaign_id: 'c-burst',
        campaign_name: null,
        message_id: id('msg'),
        interaction: 'DISMISS',
      },
    });
    const consent = (at: number, status: 'OPTED_IN' | 'OPTED_OUT', what: string): InputEvent => ({
      kind: 'consentChange',
      event: {
        ...base,
        event_id: id(what),
        occurred_at: at,
        channel: 'PUSH',
        status,
        source: i % 2 === 0 ? 'os_settings' : 'preference_center',
        external_id: null,
        identifiers: {},
      },
    });
    out.push(consent(optOutAt, 'OPTED_OUT', 'out'));
    if (i % 3 === 0) out.push(consent(optOutAt + 12 * HOUR, 'OPTED_IN', 'back'));
    if (i % 3 === 1) out.push(consent(optOutAt + 5 * DAY, 'OPTED_IN', 'back'));
  }
  return out;
}

/**
 * Users whose events sit exactly on the edges of the definitions: pushes at
 * local midnights (UTC and New York), an opt-out at a midnight, win-backs at
 * exactly 1 and 7 days (within) and 7 days + 1 ms (not), and opt-outs whose
 * 7-day window ends exactly at NOW (over, so lost) or 1 ms after it (pending).
 */
function edges(): InputEvent[] {
  const out: InputEvent[] = [];
  const user = (n: number) => ({ app_id: APP, user_id: `edge-${n}` });
  const known = (n: number, at: number) =>
    out.push({
      kind: 'appEvent',
      event: {
        ...user(n),
        event_id: `edge-app-${n}`,
        occurred_at: at,
        event_name: 'app_open',
        external_id: null,
      },
    });
  const push = (n: number, at: number, tag: string) =>
    out.push({
      kind: 'pushSent',
      event: {
        ...user(n),
        event_id: `edge-push-${n}-${tag}`,
        occurred_at: at,
        message_id: `edge-m-${n}-${tag}`,
        campaign_id: null,
        campaign_name: null,
        platform: null,
      },
    });
  const consent = (n: number, at: number, status: 'OPTED_IN' | 'OPTED_OUT', tag: string) =>
    out.push({
      kind: 'consentChange',
      event: {
        ...user(n),
        event_id: `edge-consent-${n}-${tag}`,
        occurred_at: at,
        channel: 'PUSH',
        status,
        source: 'api',
        external_id: null,
        identifiers: {},
      },
    });
  const nov = (day: number, hour = 0) => Date.UTC(2025, 10, day, hour);
  known(1, nov(1) - 20 * DAY);
  push(1, nov(1), 'utc-midnight');
  push(1, nov(1, 4), 'new-york-midnight'); // 00:00 EDT
  consent(1, nov(8), 'OPTED_OUT', 'out'); // at 00:00 UTC: at risk at the start of its own day
  consent(1, nov(9), 'OPTED_IN', 'back'); // exactly 1 day later: won back within 1
  known(2, nov(1));
  consent(2, NOW - 7 * DAY, 'OPTED_OUT', 'out'); // t + 7 days = now: lost, not pending
  known(3, nov(1));
  consent(3, NOW - 7 * DAY + 1, 'OPTED_OUT', 'out'); // 1 ms later: pending for 7 days
  known(4, nov(1) - 30 * DAY);
  consent(4, Date.UTC(2025, 9, 20, 10), 'OPTED_OUT', 'out');
  consent(4, Date.UTC(2025, 9, 20, 10) + 7 * DAY, 'OPTED_IN', 'back'); // within 7, exactly
  known(5, nov(1) - 30 * DAY);
  consent(5, Date.UTC(2025, 9, 21, 10), 'OPTED_OUT', 'out');
  consent(5, Date.UTC(2025, 9, 21, 10) + 7 * DAY + 1, 'OPTED_IN', 'back'); // not within 7
  // An opt-out at New York's midnight that ends the DST (2 Nov, 00:00 EDT = 04:00Z).
  known(6, nov(1) - 30 * DAY);
  push(6, nov(2, 4) - 7 * DAY, 'window-start'); // exactly s(D) - 7 days in New York: counts
  consent(6, nov(2, 4), 'OPTED_OUT', 'out');
  return out;
}

/** Every event of the tests: generated (two apps, PUSH and EMAIL), the burst and the edges. */
export function insightEvents(): InputEvent[] {
  const generated = generateEvents({
    seed: 51,
    now: NOW,
    apps: 2,
    users: 36,
    days: 45,
    campaigns: 6,
    consentHistories: 2,
  });
  return [...generated, ...burst(APP, BURST_DAY), ...edges()];
}
