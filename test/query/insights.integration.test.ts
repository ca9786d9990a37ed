// SPEC 5.1 with data made by the real pipeline: events -> Kafka -> ingest ->
// ClickHouse, delivered shuffled, with duplicates, and with a late slice
// produced only after the rest was ingested. Every field the insights add
// (exposure, win-back, the trend's previous / baseline / spike, the campaigns'
// baseline_rate / lift / significant) is compared with the brute-force
// reference over the whole set, in three time zones (New York with its DST
// end inside the range) and the presets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shuffle, withDuplicates } from '../support/generate.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import * as insights from '../support/reference/insights.ts';
import * as reference from '../support/reference.ts';
import { settleRollup } from '../support/rollup.ts';
import {
  apiKeysJson,
  countOf,
  KEYS,
  mutationsDone,
  OpenApiValidator,
  type RunningServer,
  startServer,
} from './harness.ts';
import { APP, BURST_DAY, insightEvents, NOW } from './insights-data.ts';

// biome-ignore lint/suspicious/noExplicitAny: bodies are validated against the OpenAPI document
type Body = Record<string, any>;

const RANGES = [
  { period: 'custom', from: '2025-10-14', to: '2025-11-11', tz: 'UTC' },
  { period: 'custom', from: '2025-10-26', to: '2025-11-09', tz: 'America/New_York' },
  { period: 'last_month', tz: 'Asia/Kolkata' },
  { period: 'last_week', tz: 'UTC' },
  { period: 'last_year', tz: 'America/New_York' },
] as const;

type Range = (typeof RANGES)[number];

describe('insights (SPEC 5.1) with pipeline-made facts', () => {
  const events = insightEvents();
  // One event in nine arrives late (after everything else is ingested): consent
  // changes, pushes and app events alike, so opt-outs flip, exposure windows
  // fill up and users become known in the past.
  const late = new Set(shuffle(events, 99).slice(0, Math.floor(events.length / 9)));
  const early = events.filter((e) => !late.has(e));
  let pipeline: TestPipeline;
  let server: RunningServer;
  let openapi: OpenApiValidator;

  beforeAll(async () => {
    pipeline = await createTestPipeline({ partitions: 2, prefix: 'qinsight' });
    await pipeline.produce(shuffle(withDuplicates(early, 5, 0.1), 6));
    await pipeline.startIngest();
    await pipeline.waitForCaughtUp(180_000);
    // The exposure rollup sweeps what is there; the late slice then marks the days it changes.
    await settleRollup(pipeline.clickhouse);
    await pipeline.produce(shuffle(withDuplicates([...late], 7, 0.2), 8));
    await pipeline.waitForCaughtUp(180_000);
    server = await startServer(
      pipeline.database,
      { TOPIC_CONTROL: pipeline.controlTopic, API_KEYS: apiKeysJson(APP) },
      { now: () => new Date(NOW) },
    );
    openapi = await OpenApiValidator.load(server.base);
  }, 420_000);

  afterAll(async () => {
    await server?.close();
    await pipeline?.cleanup();
  });

  function url(endpoint: string, r: Range, extra: Record<string, string>) {
    const q = new URLSearchParams({ period: r.period, tz: r.tz, ...extra });
    if (r.period === 'custom') {
      q.set('from', r.from);
      q.set('to', r.to);
    }
    return `/v1/apps/${APP}/optouts/${endpoint}?${q}`;
  }

  async function body(endpoint: string, r: Range, extra: Record<string, string> = {}): Promise<Body> {
    const response = await server.get(url(endpoint, r, extra), KEYS.reader);
    const json = (await response.json()) as Body;
    expect(response.status, JSON.stringify(json)).toBe(200);
    openapi.expectValid(`/v1/apps/{appId}/optouts/${endpoint}`, 'get', 200, json);
    return json;
  }

  const params = (r: Range, channel: 'PUSH' | 'EMAIL') => ({
    appId: APP,
    channel,
    range: reference.resolveRange(r, NOW),
  });

  it('the data is worth checking: a spike, a significant campaign, win-backs, a late slice that matters', () => {
    const utc = params(RANGES[0], 'PUSH');
    const trend = reference.trend(events, utc, NOW);
    expect(trend.days.filter((d) => d.spike).map((d) => d.date)).toContain(
      new Date(BURST_DAY).toISOString().slice(0, 10),
    );
    const campaigns = reference.campaigns(events, utc, NOW);
    expect(campaigns.campaigns.find((c) => c.campaign_id === 'c-burst')?.significant).toBe(true);
    expect(campaigns.campaigns.some((c) => !c.significant)).toBe(true);
    const winback = insights.winback(events, utc, NOW);
    expect(winback.windows[0]!.won_back).toBeGreaterThan(0);
    expect(winback.windows[2]!.won_back).toBeGreaterThan(winback.windows[0]!.won_back);
    const exposure = insights.exposure(events, { ...utc, windowDays: 3, maxBucket: 5 }, NOW);
    expect(exposure.buckets.filter((b) => b.user_days > 0).length).toBeGreaterThan(3);
    expect(exposure.totals.opt_outs).toBeGreaterThan(10);
    // Without the late slice the answers differ: the comparison below sees its effect.
    expect(insights.exposure(early, { ...utc, windowDays: 3, maxBucket: 5 }, NOW)).not.toEqual(exposure);
    expect(insights.winback(early, utc, NOW)).not.toEqual(winback);
    expect(reference.trend(early, utc, NOW)).not.toEqual(trend);
  });

  async function exposureDays(): Promise<{ rollup: number; exact: number }> {
    const text = await (await server.get('/metrics')).text();
    const of = (source: string) =>
      Number(
        new RegExp(`query_exposure_days_total\\{[^}]*source="${source}"[^}]*\\} (\\d+)`).exec(text)?.[1],
      );
    return { rollup: of('rollup'), exact: of('exact') };
  }

  it('exposure stays exact while the rollup has not swept the late slice: its days come from the raw events', async () => {
    const before = await exposureDays();
    for (const r of [RANGES[0], RANGES[1]])
      expect(await body('exposure', r, { window_days: '3', max_bucket: '5' })).toEqual(
        insights.exposure(events, { ...params(r, 'PUSH'), windowDays: 3, maxBucket: 5 }, NOW),
      );
    const after = await exposureDays();
    expect(after.exact).toBeGreaterThan(before.exact);
    // Then the rollup sweeps again from the marks, and the days below come from its rows.
    await settleRollup(pipeline.clickhouse);
  });

  for (const r of RANGES) {
    const channels = r.period === 'custom' ? (['PUSH', 'EMAIL'] as const) : (['PUSH'] as const);
    for (const channel of channels) {
      const label = `${r.period} ${r.tz} ${channel}`;

      it(`exposure (${label}), from the rollup's rows`, async () => {
        const before = await exposureDays();
        expect(await body('exposure', r, { channel })).toEqual(
          insights.exposure(events, params(r, channel), NOW),
        );
        expect(await body('exposure', r, { channel, window_days: '3', max_bucket: '5' })).toEqual(
          insights.exposure(events, { ...params(r, channel), windowDays: 3, maxBucket: 5 }, NOW),
        );
        const after = await exposureDays();
        expect(after.exact).toBe(before.exact);
        expect(after.rollup).toBeGreaterThan(before.rollup);
      });

      it(`winback (${label})`, async () => {
        expect(await body('winback', r, { channel })).toEqual(
          insights.winback(events, params(r, channel), NOW),
        );
      });

      it(`trend with previous, baselines and spikes (${label})`, async () => {
        expect(await body('trend', r, { channel, group_by: 'source' })).toEqual(
          reference.trend(events, { ...params(r, channel), groupBy: 'source' }, NOW),
        );
      });

      it(`campaigns with baseline, lift and significance (${label})`, async () => {
        expect(await body('campaigns', r, { channel, lookback_days: '5', limit: '3' })).toEqual(
          reference.campaigns(events, { ...params(r, channel), lookbackDays: 5, limit: 3 }, NOW),
        );
        expect(await body('campaigns', r, { channel })).toEqual(
          reference.campaigns(events, params(r, channel), NOW),
        );
      });
    }
  }

  it('a longer exposure window over the DST change, and the widest bucket count', async () => {
    const ny = RANGES[1];
    expect(await body('exposure', ny, { window_days: '30', max_bucket: '50' })).toEqual(
      insights.exposure(events, { ...params(ny, 'PUSH'), windowDays: 30, maxBucket: 50 }, NOW),
    );
    expect(await body('exposure', ny, { window_days: '1', max_bucket: '1' })).toEqual(
      insights.exposure(events, { ...params(ny, 'PUSH'), windowDays: 1, maxBucket: 1 }, NOW),
    );
  });

  it('winback answers from the opt-outs own next opt-in: ingest wrote it on every opt-out', async () => {
    // With no -1 left the fast path answers, and the comparisons above checked it.
    expect(await unknownOptOuts()).toBe(0);
    expect(await wonBackOptOuts()).toBeGreaterThan(0);
  });

  // Last: it rewrites the database. Rows of a release before next_opt_in_at_ms read -1;
  // every won-back opt-out made one here, the answer must stay exact (the older
  // computation answers) instead of counting them as not won back.
  it('winback stays exact over opt-outs written before next_opt_in_at_ms (-1): it falls back', async () => {
    const wonBack = await wonBackOptOuts();
    await pipeline.clickhouse.command({
      query: 'ALTER TABLE consent_transitions UPDATE next_opt_in_at_ms = -1 WHERE next_opt_in_at_ms > 0',
    });
    await mutationsDone(pipeline.clickhouse);
    expect(await unknownOptOuts()).toBe(wonBack);
    for (const r of RANGES)
      for (const channel of ['PUSH', 'EMAIL'] as const)
        expect(await body('winback', r, { channel }), `${r.period} ${r.tz} ${channel}`).toEqual(
          insights.winback(events, params(r, channel), NOW),
        );
  });

  const count = (query: string) => countOf(pipeline.clickhouse, query);
  const liveOptOuts = "FROM consent_transitions FINAL WHERE is_deleted = 0 AND kind = 'OPT_OUT'";
  const unknownOptOuts = () => count(`SELECT countIf(next_opt_in_at_ms < 0) AS n ${liveOptOuts}`);
  const wonBackOptOuts = () => count(`SELECT countIf(next_opt_in_at_ms > 0) AS n ${liveOptOuts}`);
});
