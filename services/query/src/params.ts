// Query parameters of every endpoint, one zod schema each. The same schemas
// validate requests and generate the OpenAPI document (openapi.ts), so the
// documentation cannot drift from what is enforced.
//
// Decisions where the SPEC is silent (also in the OpenAPI descriptions):
// - Unknown parameters are refused (400, "unknown parameter"): a typo such as
//   `lookback=3` would otherwise silently give the default answer.
// - A parameter given twice is refused ("must be given once").
// - `from`/`to` are only allowed with period=custom; period defaults to last_week.
// - Enumerations are case-sensitive (PUSH, not push).
// - Every bad parameter is reported, each with its reason, in `details`.
import { z } from 'zod';
import { badRequest, type ParamProblem } from './errors.ts';
import { PERIODS, type ResolvedRange, resolvePeriod } from './periods.ts';

export const CHANNELS = ['PUSH', 'EMAIL', 'SMS', 'IN_APP'] as const;
export type Channel = (typeof CHANNELS)[number];

const intParam = (min: number, max: number, fallback: number, description: string) => {
  const message = `must be an integer from ${min} to ${max}`;
  return z.coerce
    .number({ error: message })
    .int({ error: message })
    .min(min, { error: message })
    .max(max, { error: message })
    .default(fallback)
    .describe(`${description} (${min}..${max}, default ${fallback})`);
};

const enumParam = <const T extends readonly [string, ...string[]]>(values: T, description: string) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` }).describe(description);

// period/from/to/tz are checked together by periods.ts (cross-field rules); the
// schema entries describe them for the OpenAPI document.
const PERIOD_PARAMS = new Set(['period', 'from', 'to', 'tz']);

const commonParams = {
  period: z
    .enum(PERIODS)
    .default('last_week')
    .describe('Opt-out date range: a preset ending today in tz, or custom'),
  from: z.iso.date().optional().describe('First day (YYYY-MM-DD, inclusive); only with period=custom'),
  to: z.iso
    .date()
    .optional()
    .describe('Last day (YYYY-MM-DD, inclusive); only with period=custom; at most 366 days after from'),
  tz: z.string().default('UTC').describe('IANA time zone of the calendar days, e.g. Europe/Berlin'),
  channel: enumParam(CHANNELS, 'Consent channel').default('PUSH'),
};

const lookbackDays = intParam(1, 30, 7, 'Days before each opt-out to look at');
const limit = intParam(1, 100, 20, 'Maximum number of rows');

export const querySchemas = {
  trend: z
    .object({
      ...commonParams,
      group_by: enumParam(['source'], 'Also break the trend down by consent source').optional(),
    })
    .strict(),
  pushPressure: z
    .object({
      ...commonParams,
      window_days: intParam(1, 30, 7, 'Count pushes in the days before each opt-out'),
      max_bucket: intParam(1, 100, 10, 'Histogram buckets 0..max_bucket-1, then "max_bucket+"'),
    })
    .strict(),
  campaigns: z.object({ ...commonParams, lookback_days: lookbackDays, limit }).strict(),
  events: z
    .object({
      ...commonParams,
      lookback_days: lookbackDays,
      count: enumParam(['total', 'unique'], 'total: event occurrences; unique: distinct users').default(
        'total',
      ),
      limit,
    })
    .strict(),
  export: z
    .object({
      ...commonParams,
      format: enumParam(['csv', 'ndjson'], 'File format of the export').default('csv'),
    })
    .strict(),
  exposure: z
    .object({
      ...commonParams,
      window_days: intParam(1, 30, 7, 'Count the pushes of each user-day in the days before it'),
      max_bucket: intParam(1, 50, 10, 'Buckets 0..max_bucket-1, then "max_bucket+"'),
    })
    .strict(),
  winback: z.object({ ...commonParams }).strict(),
} as const;

export type QuerySchemas = typeof querySchemas;
export type QueryParams<K extends keyof QuerySchemas> = z.infer<QuerySchemas[K]> & { range: ResolvedRange };

function problemsOf(error: z.ZodError): ParamProblem[] {
  const problems: ParamProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ param: key, message: 'unknown parameter' });
      continue;
    }
    const param = String(issue.path[0] ?? '(query)');
    if (!PERIOD_PARAMS.has(param)) problems.push({ param, message: issue.message });
  }
  return problems;
}

/**
 * Validates a request's query string for endpoint `name` and resolves its
 * period; throws a 400 ApiError listing every bad parameter.
 */
export function parseQuery<K extends keyof QuerySchemas>(name: K, query: unknown, now: Date): QueryParams<K> {
  const raw: Record<string, unknown> = { ...(query as Record<string, unknown>) };
  const problems: ParamProblem[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (Array.isArray(value)) {
      problems.push({ param: key, message: 'must be given once' });
      delete raw[key];
    }
  }
  const parsed = querySchemas[name].safeParse(raw);
  if (!parsed.success) problems.push(...problemsOf(parsed.error));
  const str = (key: string) => (typeof raw[key] === 'string' ? (raw[key] as string) : undefined);
  const period = resolvePeriod(
    { period: str('period'), from: str('from'), to: str('to'), tz: str('tz') },
    now,
  );
  if (!period.ok) problems.push(...period.problems);
  if (problems.length > 0 || !parsed.success || !period.ok) throw badRequest(problems);
  return { ...(parsed.data as z.infer<QuerySchemas[K]>), range: period.range };
}

/** Path parameters: app and user ids are opaque strings; job ids are the UUIDs we issue. */
export const pathSchemas = {
  app: z.object({ appId: z.string().min(1).max(256).describe('Tenant (app) id') }),
  user: z.object({
    appId: z.string().min(1).max(256).describe('Tenant (app) id'),
    userId: z.string().min(1).max(256).describe('User id to erase'),
  }),
  job: z.object({
    appId: z.string().min(1).max(256).describe('Tenant (app) id'),
    jobId: z.uuid().describe('Erasure job id returned by DELETE .../users/{userId}'),
  }),
} as const;

export function parsePath<K extends keyof typeof pathSchemas>(
  name: K,
  params: unknown,
): z.infer<(typeof pathSchemas)[K]> {
  const parsed = pathSchemas[name].safeParse(params);
  if (parsed.success) return parsed.data as z.infer<(typeof pathSchemas)[K]>;
  throw badRequest(parsed.error.issues.map((i) => ({ param: String(i.path[0]), message: i.message })));
}
