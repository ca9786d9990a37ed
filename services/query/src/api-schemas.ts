// Response shapes of docs/api-contract.md as zod schemas. They are not used to
// validate our own output at run time; they generate the OpenAPI document, and
// the integration tests validate real responses against that document.
import { z } from 'zod';
import { CHANNELS } from './params.ts';
import { PERIODS } from './periods.ts';

const count = z.number().int().min(0);

export const rangeSchema = z.object({
  period: z.enum(PERIODS),
  from: z.iso.date(),
  to: z.iso.date(),
  tz: z.string(),
  start: z.iso.datetime().describe('from 00:00 in tz (inclusive)'),
  end: z.iso.datetime().describe('(to + 1 day) 00:00 in tz (exclusive)'),
});

const envelope = {
  app_id: z.string(),
  range: rangeSchema,
  channel: z.enum(CHANNELS),
};

const trendCounts = {
  opt_outs: count,
  opt_ins: count,
  users: count.describe('distinct users with >= 1 opt-out'),
};
const trendDay = z.object({
  date: z.iso.date(),
  ...trendCounts,
  baseline: z.number().min(0).describe("median of the 28 preceding days' opt_outs (zeros included)"),
  spike: z
    .boolean()
    .describe('opt_outs >= 5 and opt_outs >= baseline + 4 * max(1, 1.4826 * MAD of those 28 days)'),
});

export const trendResponse = z.object({
  ...envelope,
  approximate: z.literal(false),
  totals: z.object(trendCounts),
  previous: z
    .object({ from: z.iso.date(), to: z.iso.date(), ...trendCounts })
    .describe('the same totals over the same number of days just before from'),
  days: z.array(trendDay).describe('every day of the range, zero-filled, ascending'),
  sources: z
    .array(z.object({ source: z.string().nullable(), ...trendCounts, days: z.array(trendDay) }))
    .optional()
    .describe('only with group_by=source; sorted by opt_outs desc, then source (null last)'),
});

export const pushPressureResponse = z.object({
  ...envelope,
  window_days: z.number().int(),
  max_bucket: z.number().int(),
  opt_outs: count,
  mean: z.number().nullable(),
  p50: count.nullable().describe('nearest rank; null without opt-outs'),
  p90: count.nullable(),
  histogram: z.array(z.object({ pushes: z.string(), opt_outs: count })),
});

export const campaignsResponse = z.object({
  ...envelope,
  lookback_days: z.number().int(),
  limit: z.number().int(),
  approximate: z.literal(false),
  campaigns: z.array(
    z.object({
      campaign_id: z.string(),
      campaign_name: z.string().nullable(),
      opt_outs: count,
      users: count,
      interactions: count,
      opens: count,
      clicks: count,
      dismisses: count,
      conversions: count,
      last_touch_opt_outs: count,
      reach: count,
      opt_out_rate: z.number().nullable().describe('users / reach; null when reach = 0'),
      lift: z
        .number()
        .nullable()
        .describe('opt_out_rate / baseline_rate; null when either is null or the baseline is 0'),
      significant: z
        .boolean()
        .describe('the 95% Wilson lower bound of users / reach (z = 1.959964) is above baseline_rate'),
    }),
  ),
  baseline_rate: z
    .number()
    .nullable()
    .describe(
      'pooled over every campaign of the app with a reach in [start - lookback_days, end), those without opt-outs included: sum of users / sum of reach',
    ),
});

const rate = z.number().nullable().describe('opt_outs / user_days; null when user_days = 0');

export const exposureResponse = z.object({
  ...envelope,
  window_days: z.number().int(),
  max_bucket: z.number().int(),
  approximate: z.literal(false),
  totals: z.object({ user_days: count, opt_outs: count, rate }),
  buckets: z
    .array(z.object({ pushes: z.string(), user_days: count, opt_outs: count, rate }))
    .describe(
      '"0".."max_bucket-1", then "max_bucket+": user-days at risk by pushes in the window_days before',
    ),
});

const winbackWindows = z
  .array(z.object({ days: z.number().int(), won_back: count, pending: count, lost: count }))
  .describe('for 1, 7 and 30 days; won_back + pending + lost = opt_outs');

export const winbackResponse = z.object({
  ...envelope,
  approximate: z.literal(false),
  opt_outs: count,
  windows: winbackWindows,
  sources: z
    .array(z.object({ source: z.string().nullable(), opt_outs: count, windows: winbackWindows }))
    .describe('per source of the opt-out; sorted by opt_outs desc, then source (null last)'),
});

const outcome = z.object({ opt_outs: count, users: count });

export const eventsResponse = z.object({
  ...envelope,
  lookback_days: z.number().int(),
  count: z.enum(['total', 'unique']),
  limit: z.number().int(),
  approximate: z.literal(false),
  outcomes: z.object({ retained: outcome, churned: outcome, pending: outcome }),
  events: z.array(z.object({ event_name: z.string(), retain: count, churn: count })),
});

export const exportRowSchema = z.object({
  user_id: z.string(),
  external_id: z.string().nullable(),
  opted_out_at: z.iso.datetime(),
  opt_outs_in_range: count,
  source: z.string().nullable(),
  currently_opted_out: z.boolean(),
  identifiers: z.record(z.string(), z.string()),
});

export const erasureAccepted = z.object({ job_id: z.uuid(), status: z.literal('queued') });

export const erasureStatus = z.object({
  job_id: z.uuid(),
  app_id: z.string(),
  status: z.enum(['queued', 'pending', 'done', 'failed']),
  user_id: z.string().nullable(),
  requested_at: z.iso.datetime().nullable(),
  updated_at: z.iso.datetime().nullable(),
  detail: z.string().nullable(),
});

export const errorResponse = z.object({
  error: z.object({
    code: z.enum([
      'bad_request',
      'unauthorized',
      'forbidden',
      'not_found',
      'rate_limited',
      'unavailable',
      'timeout',
      'internal',
    ]),
    message: z.string(),
    details: z.array(z.object({ param: z.string(), message: z.string() })),
  }),
});
